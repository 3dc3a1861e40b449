package capture

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"telltale.dev/harness/capture/mitmdumptest"
)

// TestReadDumpWrittenByMitmdump records real traffic with Debian's mitmdump
// (HTTPS through its CA, a form POST, a WebSocket with a text and a binary
// message) and reads the dump it wrote.
func TestReadDumpWrittenByMitmdump(t *testing.T) {
	up := mitmdumptest.Upstream(t)
	p := mitmdumptest.Start(t, "--ssl-insecure")
	if got := p.Curl(t, "-H", "X-Probe: 1", "--data-binary", "data_list=SGVsbG8%3D&crc=1", up.URL+"/sa?project=mibrowser"); got != `{"code":0}` {
		t.Fatalf("upstream answered %q", got)
	}
	binary := []byte{0, 0xff, 0x10, 'k'}
	p.WebSocket(t, up, []mitmdumptest.Frame{{Data: []byte(`{"event":"open"}`)}, {Binary: true, Data: binary}})
	dump := p.Stop(t)

	f, err := OpenFile(dump)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Format() != FormatMitmproxy {
		t.Fatalf("format %q", f.Format())
	}
	flows, err := collect(f.Flows())
	if err != nil {
		t.Fatal(err)
	}
	if d := f.Describe(); d != "mitmproxy dump (flow format 17)" {
		t.Errorf("Describe() = %q: Debian's mitmproxy 8.1.1 writes flow format 17", d)
	}
	if len(flows) != 2 {
		t.Fatalf("%d flows, want the POST and the WebSocket: %+v\nmitmdump:\n%s", len(flows), flows, p.Output())
	}
	host := strings.TrimPrefix(up.URL, "https://")
	post := flows[0]
	if post.Kind != KindHTTP || post.Request.Method != "POST" || post.Request.URL != up.URL+"/sa?project=mibrowser" {
		t.Errorf("POST read as %s %s %s", post.Kind, post.Request.Method, post.Request.URL)
	}
	if string(post.Request.Body) != "data_list=SGVsbG8%3D&crc=1" || post.Request.BodySize != 26 {
		t.Errorf("request body %q (%d)", post.Request.Body, post.Request.BodySize)
	}
	if headerValue(post.Request.Headers, "X-Probe") != "1" || headerValue(post.Request.Headers, "Host") != host {
		t.Errorf("request headers %v", post.Request.Headers)
	}
	if post.Response == nil || post.Response.Status != 200 || string(post.Response.Body) != `{"code":0}` ||
		headerValue(post.Response.Headers, "Content-Type") != "application/json" {
		t.Errorf("response %+v", post.Response)
	}
	if post.TLS == nil || !post.TLS.Decrypted || !strings.HasPrefix(post.TLS.Version, "TLS 1.") || post.TLS.Cipher == "" {
		t.Errorf("TLS %+v", post.TLS)
	}
	if !strings.HasPrefix(post.Client, "127.0.0.1:") {
		t.Errorf("client %q", post.Client)
	}
	if now := time.Now(); post.Start.Before(now.Add(-10*time.Minute)) || post.Start.After(now) || post.End.Before(post.Start) {
		t.Errorf("times %v .. %v", post.Start, post.End)
	}
	ws := flows[1]
	if ws.Kind != KindWebSocket || ws.Request.URL != up.URL+"/ws" || ws.Response.Status != 101 {
		t.Fatalf("WebSocket flow %s %s %+v", ws.Kind, ws.Request.URL, ws.Response)
	}
	want := []Frame{
		{FromClient: true, Opcode: 1, Data: []byte(`{"event":"open"}`)}, {Opcode: 1, Data: []byte(`{"event":"open"}`)},
		{FromClient: true, Opcode: 2, Data: binary}, {Opcode: 2, Data: binary},
	}
	if len(ws.WebSocket) != len(want) {
		t.Fatalf("%d messages: %+v", len(ws.WebSocket), ws.WebSocket)
	}
	for i, w := range want {
		g := ws.WebSocket[i]
		if g.FromClient != w.FromClient || g.Opcode != w.Opcode || !bytes.Equal(g.Data, w.Data) || g.Time.Before(ws.Start) {
			t.Errorf("message %d = %+v, want %+v", i, g, w)
		}
	}
	if len(f.Notes()) != 0 {
		t.Errorf("notes %q", f.Notes())
	}

	// Cut anywhere inside the last flow, the dump is truncated, and the
	// error says which flow and that the file was cut.
	b, _ := os.ReadFile(dump)
	for _, cut := range []int{len(b) - 1, len(b) - 200, len(b) - len(b)/4} {
		short := filepath.Join(t.TempDir(), "short.mitm")
		os.WriteFile(short, b[:cut], 0o644)
		got, err := ReadFile(short)
		if !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "flow 2 ") || len(got) != 0 {
			t.Errorf("cut at %d of %d: %d flows, err %v", cut, len(b), len(got), err)
		}
	}
}

// The connection fields mitmproxy 9+ renamed (flow format 19 onwards) and
// the flow types telltale does not analyse, in dumps written the way those
// versions write them.
func TestReadDumpOfNewerFlowFormats(t *testing.T) {
	base := mitmdumptest.Flow{Method: "POST", Scheme: "https", Host: "203.0.113.9", Port: 443, Path: "/track/v4",
		Headers: [][2]string{{"Host", "tracking.intl.miui.com"}, {"OT_SID", "s9"}}, Body: []byte("payload"),
		Status: 200, RespBody: []byte(`{"code":0}`), Start: 1767323045.25, Client: "10.0.0.7:40112",
		TLS: true, SNI: "tracking.intl.miui.com", TLSVersion: "TLSv1.2"}
	for _, version := range []int{17, 19, 20, 21, 22} {
		f := base
		f.Version = version
		tcp := mitmdumptest.Flow{Version: version, Type: "tcp", Client: "10.0.0.7:1"}
		dns := mitmdumptest.Flow{Version: version, Type: "dns", Client: "10.0.0.7:2"}
		var dump []byte
		for _, fl := range []mitmdumptest.Flow{tcp, f, dns, tcp} {
			dump = mitmdumptest.Append(dump, fl.State())
		}
		rd, err := NewReader(bytes.NewReader(dump))
		if err != nil {
			t.Fatal(err)
		}
		flows, err := collect(rd.Flows())
		if err != nil {
			t.Fatalf("version %d: %v", version, err)
		}
		if len(flows) != 1 {
			t.Fatalf("version %d: %d flows", version, len(flows))
		}
		g := flows[0]
		if g.Seq != 2 || g.Request.URL != "https://tracking.intl.miui.com/track/v4" || string(g.Request.Body) != "payload" || g.Client != "10.0.0.7:40112" {
			t.Errorf("version %d: seq %d url %s body %q client %q", version, g.Seq, g.Request.URL, g.Request.Body, g.Client)
		}
		if g.TLS == nil || g.TLS.SNI != "tracking.intl.miui.com" || g.TLS.Version != "TLS 1.2" || g.TLS.Cipher != "TLS_AES_128_GCM_SHA256" || !g.TLS.Decrypted {
			t.Errorf("version %d: TLS %+v", version, g.TLS)
		}
		if !g.Start.Equal(time.Unix(1767323045, 250_000_000)) {
			t.Errorf("version %d: start %v", version, g.Start)
		}
		notes := strings.Join(rd.Notes(), "\n")
		if !strings.Contains(notes, "skipped 1 dns, 2 tcp flow(s)") {
			t.Errorf("version %d: notes %q", version, notes)
		}
		if newer := strings.Contains(notes, "newer than the newest"); newer != (version > 21) {
			t.Errorf("version %d: notes %q", version, notes)
		}
	}
}

func TestReadDumpRefusesWhatItCannotRead(t *testing.T) {
	ok := mitmdumptest.Flow{Version: 17, Method: "GET", Scheme: "http", Host: "a.test", Port: 80, Path: "/", Client: "127.0.0.1:1"}
	state := func(edit func(d mitmdumptest.Dict) mitmdumptest.Dict) []byte {
		return mitmdumptest.Append(nil, edit(ok.State()))
	}
	set := func(key string, v any) func(d mitmdumptest.Dict) mitmdumptest.Dict {
		return func(d mitmdumptest.Dict) mitmdumptest.Dict {
			for i := range d {
				if d[i].K == key {
					d[i].V = v
				}
			}
			return d
		}
	}
	cases := map[string]struct {
		dump []byte
		want string
	}{
		"old version":        {state(set("version", 11)), "flow format version 11 (mitmproxy 6 or older)"},
		"tuple version":      {state(set("version", []any{0, 11})), "mitmproxy 2 or older"},
		"no request":         {state(set("request", nil)), "request: missing"},
		"request not a dict": {state(set("request", 5)), "not a dict but an integer"},
		"headers not pairs":  {state(set("request", mitmdumptest.Dict{{K: "method", V: "GET"}, {K: "headers", V: []any{[]any{"a"}}}})), "[name, value] pair"},
		"not a dict":         {mitmdumptest.Append(nil, []any{"x"}), "a list where a flow dict belongs"},
		"bad length":         {[]byte("12:4:type;4:http;x}"), "flow 1"},
	}
	for name, tc := range cases {
		_, err := ReadAll(bytes.NewReader(tc.dump))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want it to say %q", name, err, tc.want)
		}
	}
}
