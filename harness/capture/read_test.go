package capture

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"telltale.dev/harness/capture/mitmdumptest"
)

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func sampleHAR(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(fixture("chrome.har"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNewReaderTellsFormatsByContent(t *testing.T) {
	var log bytes.Buffer
	for i := range 3 {
		log.WriteString(`{"seq":` + string(rune('1'+i)) + `,"kind":"http","start":"2026-01-02T03:04:05Z","request":{"method":"GET","url":"http://a.test/","proto":"HTTP/1.1","headers":[],"bodySize":0}}` + "\n")
	}
	dump := mitmdumptest.Append(nil, mitmdumptest.Flow{Version: 17, Method: "GET", Scheme: "http", Host: "a.test", Port: 80, Path: "/", Client: "127.0.0.1:1"}.State())
	har := sampleHAR(t)
	cases := map[string]struct {
		in     []byte
		format Format
		flows  int
		desc   string
	}{
		"flow log":            {log.Bytes(), FormatFlowLog, 3, "telltale flow log"},
		"HAR":                 {har, FormatHAR, 2, "HAR"},
		"HAR with a BOM":      {append([]byte("\xef\xbb\xbf"), har...), FormatHAR, 2, "HAR"},
		"gzipped HAR":         {gz(har), FormatHAR, 2, "HAR (gzip)"},
		"mitmproxy dump":      {dump, FormatMitmproxy, 1, "mitmproxy dump (flow format 17)"},
		"gzipped dump":        {gz(dump), FormatMitmproxy, 1, "mitmproxy dump (flow format 17, gzip)"},
		"log key not first":   {[]byte(`{"comment":{"a":[1,2]},"log":{"version":"1.2","entries":[]}}`), FormatHAR, 0, "HAR"},
		"HAR of zero entries": {[]byte(`{"log":{"version":"1.2","creator":{"name":"x","version":"1"},"entries":[]}}`), FormatHAR, 0, "HAR"},
	}
	for name, tc := range cases {
		rd, err := NewReader(bytes.NewReader(tc.in))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		flows, err := collect(rd.Flows())
		if err != nil || rd.Format() != tc.format || len(flows) != tc.flows || rd.Describe() != tc.desc {
			t.Errorf("%s: format %q (%q), %d flows, err %v", name, rd.Format(), rd.Describe(), len(flows), err)
		}
	}
}

func TestNewReaderSaysWhatItSaw(t *testing.T) {
	cases := map[string]struct {
		in   []byte
		want string
	}{
		"pcap":          {[]byte("\xd4\xc3\xb2\xa1\x02\x00\x04\x00rest"), "looks like a pcap packet capture (tcpdump, Wireshark): not a capture format telltale reads; packet captures hold the TLS-encrypted bytes"},
		"pcapng":        {[]byte("\x0a\x0d\x0d\x0a\x1c\x00\x00\x00"), "pcapng packet capture"},
		"Fiddler saz":   {[]byte("PK\x03\x04\x14\x00"), "Fiddler .saz"},
		"zstd":          {[]byte("\x28\xb5\x2f\xfd\x00"), "unzstd"},
		"sqlite":        {[]byte("SQLite format 3\x00...."), "an SQLite database"},
		"JSON array":    {[]byte(`[{"request":{}}]`), "a JSON array"},
		"other JSON":    {[]byte(`{"foo":1,"bar":[2]}`), `a JSON object with keys ["foo" "bar"], neither a HAR document`},
		"bad JSON":      {[]byte("{not json\n"), `text starting "{not json\n", which is not JSON`},
		"HTML":          {[]byte("<!DOCTYPE html><html><body>404</body></html>"), "an HTML page"},
		"Burp XML":      {[]byte(`<?xml version="1.0"?><items burpVersion="2023">`), "Burp Suite"},
		"raw HTTP":      {[]byte("POST /sa HTTP/1.1\r\nHost: a\r\n\r\n"), "raw HTTP text"},
		"text":          {[]byte("hello world\n"), `text starting "hello world\n": not a capture format`},
		"binary":        {[]byte{0x00, 0x01, 0x02, 0xfe}, "binary data starting 00 01 02 fe"},
		"white space":   {[]byte(" \n\t\n"), "only white space"},
		"gzipped text":  {gz([]byte("hello")), "gzip-compressed text starting"},
		"gzipped empty": {gz(nil), "gzip-compressed, and the file is empty"},
	}
	for name, tc := range cases {
		_, err := NewReader(bytes.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want it to say %q", name, err, tc.want)
		}
		if name != "gzipped empty" && !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v does not wrap ErrFormat", name, err)
		}
	}
	if _, err := NewReader(bytes.NewReader(nil)); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty input: %v", err)
	}
	if flows, err := ReadAll(bytes.NewReader(nil)); err != nil || flows != nil {
		t.Errorf("ReadAll of nothing: %v %v", flows, err)
	}
}

func TestReadHARTruncatedAnywhere(t *testing.T) {
	har := sampleHAR(t)
	entries := bytes.Index(har, []byte(`"entries"`))
	for cut := entries + 12; cut < len(har)-2; cut += 97 {
		flows, err := ReadHAR(bytes.NewReader(har[:cut]))
		if !errors.Is(err, ErrTruncated) {
			t.Fatalf("cut at %d of %d: %v", cut, len(har), err)
		}
		if !strings.Contains(err.Error(), "complete entries") || flows != nil {
			t.Errorf("cut at %d: %d flows, %v", cut, len(flows), err)
		}
	}
	if _, err := ReadHAR(bytes.NewReader(append(bytes.TrimSpace(har), []byte(`{"log":{}}`)...))); err == nil || !strings.Contains(err.Error(), "data after the end") {
		t.Errorf("trailing document: %v", err)
	}
}

// Tools disagree on the optional parts of HAR: every entry below comes from
// one of them, and each must still give its request body to the detector.
func TestReadHARToleratesWhatToolsWrite(t *testing.T) {
	doc := `{"log":{"version":"1.2","creator":{"name":"x","version":"1"},"entries":[
	 {"startedDateTime":"2024-03-01T10:00:00.1234567+01:00","time":1,"request":{"method":"POST","url":"http://a.test/1","httpVersion":"HTTP/1.1","headers":[],"bodySize":"7","postData":{"mimeType":"text/plain","text":"fiddler"}},"response":{"status":200,"content":{"size":0}}},
	 {"startedDateTime":"2024-03-01T10:00:00.123+0100","request":{"method":"POST","url":"http://a.test/2","postData":{"text":"charles"}},"response":{"status":200,"content":{}},"_resourceType":"xhr"},
	 {"startedDateTime":"2024-03-01T10:00:00","request":{"method":"POST","url":"http://a.test/3","postData":{"mimeType":"application/octet-stream","text":"Ynl0ZXM=","encoding":"base64"}},"response":{"content":{"mimeType":"image/png"}}},
	 {"request":{"method":"GET","url":"http://a.test/4","headers":[{"name":"A","value":"1"}]},"response":{"status":0,"_error":"net::ERR_FAILED"}},
	 {"request":{"method":"POST","url":"http://a.test/5","postData":{"text":"%%not base64","encoding":"base64"}},"response":{"content":{"text":"@@","encoding":"base64"}}}
	]}}`
	rd, err := NewReader(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	flows, err := collect(rd.Flows())
	if err != nil {
		t.Fatal(err)
	}
	bodies := []string{"fiddler", "charles", "bytes", "", "%%not base64"}
	for i, f := range flows {
		if string(f.Request.Body) != bodies[i] {
			t.Errorf("entry %d body %q, want %q", i, f.Request.Body, bodies[i])
		}
	}
	want := time.Date(2024, 3, 1, 9, 0, 0, 123456700, time.UTC)
	if !flows[0].Start.Equal(want) || !flows[1].Start.Equal(want.Truncate(time.Millisecond)) || flows[2].Start.Hour() != 10 || !flows[3].Start.IsZero() {
		t.Errorf("starts %v %v %v %v", flows[0].Start, flows[1].Start, flows[2].Start, flows[3].Start)
	}
	if len(flows) != len(bodies) || string(flows[4].Response.Body) != "@@" {
		t.Errorf("%d flows; the last response %q", len(flows), flows[len(flows)-1].Response.Body)
	}
	if n := rd.Notes(); len(n) != 1 || !strings.Contains(n[0], "2 entry(ies) had fields that do not read as HAR defines them") || !strings.Contains(n[0], "first: entry 0: json: cannot unmarshal string") {
		t.Errorf("notes %q", n)
	}
	for name, bad := range map[string]string{
		"no url":        `{"log":{"entries":[{"request":{"method":"GET"}}]}}`,
		"bad date":      `{"log":{"entries":[{"startedDateTime":"yesterday","request":{"url":"http://a/"}}]}}`,
		"no entries":    `{"log":{"version":"1.2"}}`,
		"entries \"x\"": `{"log":{"entries":"x"}}`,
		"log a string":  `{"log":"x"}`,
	} {
		if _, err := ReadHAR(strings.NewReader(bad)); err == nil {
			t.Errorf("%s: read without error", name)
		}
	}
}

// The streaming writer gives the same document in any chunking, keeps marks
// for the end, and its output reads back into the same flows.
func TestHARWriterStreams(t *testing.T) {
	in := []Flow{{Seq: 1, Kind: KindMark, Mark: "start:x", Start: time.Unix(5, 0).UTC()}, *sampleFlow(0), *sampleFlow(1)}
	in[1].Seq, in[2].Seq = 2, 3
	var whole bytes.Buffer
	if err := WriteHAR(&whole, in); err != nil {
		t.Fatal(err)
	}
	checkHAR12(t, whole.Bytes())
	back, err := ReadHAR(&whole)
	if err != nil || len(back) != 3 || back[0].Kind != KindMark || back[0].Seq != 1 || back[2].Seq != 3 {
		t.Fatalf("read back %d flows: %v", len(back), err)
	}
	var empty bytes.Buffer
	if err := WriteHAR(&empty, nil); err != nil {
		t.Fatal(err)
	}
	checkHAR12(t, empty.Bytes())
	if fl, err := ReadHAR(&empty); err != nil || len(fl) != 0 {
		t.Errorf("empty HAR: %v %v", fl, err)
	}
	w := NewHARWriter(failAfter{n: 10})
	if err := w.Write(sampleFlow(0)); err == nil {
		t.Error("a failing writer's error was lost")
	}
	if err := w.Close(); err == nil {
		t.Error("Close after a failed write succeeded")
	}
}

type failAfter struct{ n int }

func (f failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		return f.n, io.ErrShortWrite
	}
	return len(p), nil
}

func TestOpenFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenFile(dir); err == nil || !strings.Contains(err.Error(), "a directory") {
		t.Errorf("directory: %v", err)
	}
	if _, err := OpenFile(filepath.Join(dir, "nope")); err == nil {
		t.Error("missing file opened")
	}
	p := filepath.Join(dir, "c.har")
	os.WriteFile(p, sampleHAR(t), 0o644)
	f, err := OpenFile(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for _, err := range f.Flows() {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if fi, _ := os.Stat(p); n != 2 || f.Size != fi.Size() || f.Offset() != fi.Size() {
		t.Errorf("%d flows, size %d, offset %d", n, f.Size, f.Offset())
	}
}

func TestGzippedCaptureCutShortIsTruncated(t *testing.T) {
	var dump []byte
	for i := range 50 {
		dump = mitmdumptest.Append(dump, mitmdumptest.Flow{Version: 17, Method: "POST", Scheme: "http", Host: "a.test", Port: 80,
			Path: "/" + strings.Repeat("p", i), Body: bytes.Repeat([]byte{byte(i)}, 300+i), Client: "127.0.0.1:1"}.State())
	}
	var log bytes.Buffer
	for i := range 50 {
		log.WriteString(`{"seq":` + strings.Repeat("1", i%5+1) + `,"kind":"mark","start":"2026-01-02T03:04:05Z","mark":"` + strings.Repeat("m", 200+i) + `"}` + "\n")
	}
	for name, in := range map[string][]byte{"HAR": sampleHAR(t), "mitmproxy dump": dump, "flow log": log.Bytes()} {
		z := gz(in)
		for _, cut := range []int{len(z) / 2, len(z) - 9} {
			flows, err := ReadAll(bytes.NewReader(z[:cut]))
			if !errors.Is(err, ErrTruncated) {
				t.Errorf("%s gzipped, cut at %d of %d: %d flows, err %v", name, cut, len(z), len(flows), err)
			}
		}
	}
}
