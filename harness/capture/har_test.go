package capture

import (
	"bytes"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"telltale.dev/harness/capture/hartest"
)

func TestHARRoundTripKeepsEveryKindOfFlow(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	in := []Flow{
		{Seq: 1, Kind: KindMark, Start: t0, Mark: "start:a"},
		*sampleFlow(0),
		{Seq: 3, Kind: KindTLSFailure, Start: t0, End: t0.Add(time.Millisecond), Client: "127.0.0.1:9",
			TLS: &TLSInfo{SNI: "pinned.test", Alert: "remote error: tls: bad certificate"}},
		{Seq: 4, Kind: KindWebSocket, Start: t0, End: t0.Add(time.Second),
			Request:   &Request{Method: "GET", URL: "wss://w.test/s", Proto: "HTTP/1.1", Headers: []Header{{"Upgrade", "websocket"}}},
			Response:  &Response{Status: 101, Proto: "HTTP/1.1", Headers: []Header{}},
			WebSocket: []Frame{{Time: t0, FromClient: true, Opcode: 1, Data: []byte("hi")}, {Time: t0, Opcode: 2, Data: []byte{0, 0xfe}}}},
	}
	in[1].Seq = 2
	in[1].Request.Truncated = true
	in[1].App, in[1].Route = &App{UID: 10123, Package: "com.example.flutter"}, RouteRedirect
	in[2].App, in[2].Route = &App{UID: 10124}, RouteProxy
	var buf bytes.Buffer
	if err := WriteHAR(&buf, in); err != nil {
		t.Fatal(err)
	}
	checkHAR12(t, buf.Bytes())
	out, err := ReadHAR(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("%d flows back, want %d", len(out), len(in))
	}
	for i := range in {
		a, b := in[i], out[i]
		if a.Seq != b.Seq || a.Kind != b.Kind || !a.Start.Equal(b.Start) {
			t.Errorf("flow %d: got seq %d kind %s start %v", i, b.Seq, b.Kind, b.Start)
		}
		if a.App.String() != b.App.String() || a.Route != b.Route {
			t.Errorf("flow %d: app %s route %q came back as %s route %q", i, a.App, a.Route, b.App, b.Route)
		}
	}
	if r := out[1].Request; !bytes.Equal(r.Body, in[1].Request.Body) || !r.Truncated || !slices.Equal(r.Headers, in[1].Request.Headers) {
		t.Errorf("binary request body or headers changed: %+v", r)
	}
	if out[2].TLS == nil || out[2].TLS.SNI != "pinned.test" || out[2].Request != nil {
		t.Errorf("TLS failure came back as %+v", out[2])
	}
	if ws := out[3].WebSocket; len(ws) != 2 || string(ws[0].Data) != "hi" || !bytes.Equal(ws[1].Data, []byte{0, 0xfe}) {
		t.Errorf("frames came back as %+v", ws)
	}
}

// checkHAR12 checks b field by field as DevTools' HAR importer reads it.
func checkHAR12(t *testing.T, b []byte) {
	t.Helper()
	for _, err := range hartest.Validate(b) {
		t.Error(err)
	}
}

func fixture(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "fixtures", "har", name)
}

func TestImportMitmproxyHAR(t *testing.T) {
	flows, err := ReadFile(fixture("mitmproxy.har"))
	if err != nil {
		t.Fatal(err)
	}
	if len(flows) != 2 {
		t.Fatalf("%d flows", len(flows))
	}
	if got := string(flows[0].Request.Body); got != "secretKey=QUJD&sign=ok" {
		t.Errorf("form from params = %q", got)
	}
	if !bytes.Equal(flows[1].Request.Body, []byte{0, 1, 2, 3}) || !bytes.Equal(flows[1].Response.Body, []byte{0xff, 0, 0xfe}) {
		t.Errorf("base64 bodies: %v / %v", flows[1].Request.Body, flows[1].Response.Body)
	}
	if flows[0].End.Sub(flows[0].Start) != 41500*time.Microsecond || flows[1].Seq != 2 {
		t.Errorf("timing %v seq %d", flows[0].End.Sub(flows[0].Start), flows[1].Seq)
	}
}

func TestImportHTTPToolkitHAR(t *testing.T) {
	flows, err := ReadFile(fixture("httptoolkit.har"))
	if err != nil {
		t.Fatal(err)
	}
	if len(flows) != 1 || flows[0].Kind != KindHTTP {
		t.Fatalf("flows = %+v", flows)
	}
	f := flows[0]
	if f.Request.URL != "https://www.google.com/search?q=canary%20phrase&client=ms-android-xiaomi" || f.Response.Status != 302 {
		t.Errorf("request %s status %d", f.Request.URL, f.Response.Status)
	}
	// The gzip body stays as the tool stored it: compressed bytes.
	if len(f.Response.Body) < 2 || f.Response.Body[0] != 0x1f || f.Response.Body[1] != 0x8b {
		t.Errorf("response body %x is not the gzip bytes", f.Response.Body)
	}
}

func TestImportChromeHAR(t *testing.T) {
	flows, err := ReadFile(fixture("chrome.har"))
	if err != nil {
		t.Fatal(err)
	}
	if len(flows) != 2 {
		t.Fatalf("%d flows", len(flows))
	}
	if string(flows[0].Request.Body) != `{"event":"open","app":"x"}` || flows[0].Request.Headers[0].Name != ":authority" {
		t.Errorf("chrome request = %+v", flows[0].Request)
	}
	ws := flows[1]
	if ws.Kind != KindWebSocket || len(ws.WebSocket) != 2 || !ws.WebSocket[0].FromClient || string(ws.WebSocket[1].Data) != `{"ok":true}` {
		t.Errorf("websocket = %+v", ws)
	}
}

func TestReadHARRejectsNonHAR(t *testing.T) {
	if _, err := ReadHAR(bytes.NewReader([]byte(`{"foo":1}`))); err == nil {
		t.Error("accepted a JSON object that is not HAR")
	}
	if _, err := ReadHAR(bytes.NewReader([]byte(`{"log":{"version":"1.2","entries":[{"startedDateTime":"yesterday"}]}}`))); err == nil {
		t.Error("accepted a bad startedDateTime")
	}
}
