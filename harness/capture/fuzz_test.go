package capture

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"telltale.dev/harness/capture/mitmdumptest"
)

// maxFuzzFlows keeps one fuzz input from running long.
const maxFuzzFlows = 64

func fuzzSeeds(f *testing.F) {
	for _, name := range []string{"chrome.har", "httptoolkit.har", "mitmproxy.har"} {
		b, err := os.ReadFile(fixture(name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	fl := mitmdumptest.Flow{Version: 17, Method: "POST", Scheme: "https", Host: "a.test", Port: 443, Path: "/p?q=1",
		Headers: [][2]string{{"Host", "a.test"}}, Body: []byte("k=v"), Status: 200, RespBody: []byte("{}"),
		Start: 1.7e9, Client: "127.0.0.1:9", TLS: true, SNI: "a.test", TLSVersion: "TLSv1.3",
		WebSocket: []mitmdumptest.Message{{Opcode: 2, FromClient: true, Content: []byte{0, 1}, Time: 1.7e9}}}
	dump := mitmdumptest.Append(nil, fl.State())
	fl.Version = 21
	dump = mitmdumptest.Append(dump, fl.State())
	f.Add(dump)
	f.Add(dump[:len(dump)-3])
	f.Add(gz(dump))
	var log bytes.Buffer
	WriteHAR(&log, nil)
	f.Add(log.Bytes())
	f.Add([]byte(`{"seq":1,"kind":"http","start":"2026-01-02T03:04:05Z","request":{"method":"GET","url":"http://a/","proto":"HTTP/1.1","headers":[],"bodySize":0}}` + "\n"))
	f.Add([]byte("\xd4\xc3\xb2\xa1"))
}

// readBounded reads at most maxFuzzFlows flows.
func readBounded(seq func(func(Flow, error) bool)) ([]Flow, error) {
	var flows []Flow
	var err error
	seq(func(f Flow, e error) bool {
		if e != nil {
			err = e
			return false
		}
		flows = append(flows, f)
		return len(flows) < maxFuzzFlows
	})
	return flows, err
}

// roundTrip checks that flows a reader accepted survive our HAR: the
// requests the detector scans come back unchanged.
func roundTrip(t *testing.T, flows []Flow) {
	var buf bytes.Buffer
	if err := WriteHAR(&buf, flows); err != nil {
		t.Fatalf("accepted flows do not write as HAR: %v", err)
	}
	back, err := ReadHAR(&buf)
	if err != nil {
		t.Fatalf("our HAR of accepted flows does not read back: %v\n%s", err, buf.Bytes())
	}
	var want []Flow
	for _, f := range flows {
		if f.Kind != KindMark {
			want = append(want, f)
		}
	}
	got := back[:0]
	for _, f := range back {
		if f.Kind != KindMark {
			got = append(got, f)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d flows back, want %d", len(got), len(want))
	}
	for i := range want {
		a, b := want[i].Request, got[i].Request
		if (a == nil) != (b == nil) && want[i].Kind != KindTLSFailure {
			t.Fatalf("flow %d: request %v came back as %v", i, a, b)
		}
		if a != nil && b != nil && want[i].Kind != KindTLSFailure && (a.URL != b.URL || a.Method != b.Method || !bytes.Equal(a.Body, b.Body)) {
			t.Fatalf("flow %d: request %s %s %q came back as %s %s %q", i, a.Method, a.URL, a.Body, b.Method, b.URL, b.Body)
		}
	}
}

func FuzzReadHAR(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var st readState
		flows, err := readBounded(harFlows(bytes.NewReader(b), &st))
		if err == nil {
			roundTrip(t, flows)
		}
	})
}

func FuzzReadMitmproxy(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var st readState
		flows, err := readBounded(mitmFlows(bufio.NewReader(bytes.NewReader(b)), &st))
		for _, fl := range flows {
			if fl.Request == nil || !strings.Contains(fl.Request.URL, "://") {
				t.Fatalf("accepted a flow without a request URL: %+v", fl)
			}
		}
		if err == nil {
			roundTrip(t, flows)
		}
	})
}

// FuzzNewReader covers format detection and, through it, the flow-log and
// gzip paths: whatever the input, it is read or refused with an error that
// says why, never misread silently or with a panic.
func FuzzNewReader(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		rd, err := NewReader(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrEmpty) && !strings.Contains(err.Error(), "gzip") {
				t.Fatalf("refusal that does not say why: %v", err)
			}
			return
		}
		readBounded(rd.Flows())
		rd.Notes()
		rd.Describe()
	})
}
