package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/capture"
	"telltale.dev/harness/capture/hartest"
	"telltale.dev/harness/capture/mitmdumptest"
	"telltale.dev/harness/leak"
	"telltale.dev/protocols"
)

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// writeCaptures writes a JSON-lines log (a config fetch, a Sensors Analytics
// upload, a OneTrack key exchange) and a HAR with the OneTrack upload that
// uses that key, so only reading both as one opens it.
func writeCaptures(t *testing.T, dir string, cs []canary.Canary) (jsonl, har string) {
	t.Helper()
	visit, pkg := cs[0].Value, cs[2].Value
	data := base64.StdEncoding.EncodeToString(gzipBytes([]byte(`[{"event":"browser_visit","properties":{"url":"` + visit + `"}}]`)))
	key := []byte("0123456789abcdef")
	keyReply, _ := json.Marshal(map[string]any{"code": 0, "data": map[string]any{"key": base64.StdEncoding.EncodeToString(key), "sid": "s9"}})
	flows := []capture.Flow{
		{Kind: capture.KindMark, Mark: "action:browse-incognito:start"},
		{Kind: capture.KindHTTP, Request: &capture.Request{Method: "GET", URL: "https://sdkconfig.ad.intl.xiaomi.com/api/v4/detail/config"}, Response: &capture.Response{Status: 200}},
		{Kind: capture.KindHTTP, Request: &capture.Request{Method: "POST", URL: "https://sa.api.intl.miui.com/sa?project=mibrowser",
			Headers: []capture.Header{{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}},
			Body:    []byte("crc=1&gzip=1&data_list=" + url.QueryEscape(data))}, Response: &capture.Response{Status: 200}},
		{Kind: capture.KindHTTP, Request: &capture.Request{Method: "POST", URL: "https://tracking.intl.miui.com/track/key_get", Body: []byte("secretKey=x&sign=y")},
			Response: &capture.Response{Status: 200, Body: keyReply}},
	}
	jsonl = filepath.Join(dir, "flows.jsonl")
	w, err := capture.NewLogWriter(jsonl)
	if err != nil {
		t.Fatal(err)
	}
	for i := range flows {
		if err := w.Append(&flows[i]); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()

	ct, err := protocols.EncryptECB(key, gzipBytes([]byte(`[{"event":"app_open","package":"`+pkg+`"}]`)))
	if err != nil {
		t.Fatal(err)
	}
	upload := []capture.Flow{{Seq: 1, Kind: capture.KindHTTP, Request: &capture.Request{Method: "POST", URL: "https://tracking.intl.miui.com/track/v4",
		Headers: []capture.Header{{Name: "Content-Type", Value: "application/octet-stream"}, {Name: "OT_SID", Value: "s9"}}, Body: ct},
		Response: &capture.Response{Status: 200}}}
	har = filepath.Join(dir, "upload.har")
	var buf bytes.Buffer
	if err := capture.WriteHAR(&buf, upload); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(har, buf.Bytes(), 0o644)
	return jsonl, har
}

func TestAnalyzeJSONAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	cfile := filepath.Join(dir, "canaries.json")
	var stdout, stderr bytes.Buffer
	if code := canariesMain([]string{"--seed", "3", "--out", cfile}, &stdout, &stderr); code != 0 {
		t.Fatalf("canaries: %d %s", code, stderr.String())
	}
	cs, err := canary.Load(cfile)
	if err != nil || len(cs) != 8 {
		t.Fatalf("generated canaries: %v %v", cs, err)
	}
	jsonl, har := writeCaptures(t, dir, cs)

	code := analyzeMain(t.Context(), []string{"--canaries", cfile, jsonl, har, "--format", "json", "--fail-on-leak"}, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit %d with leaks and --fail-on-leak; stderr %s", code, stderr.String())
	}
	var raw map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &raw); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
	}
	if keys := sortedKeys(raw); !reflect.DeepEqual(keys, []string{"capped", "captures", "entries", "findings"}) {
		t.Errorf("top-level keys %v", keys)
	}
	wantCaptures := []any{
		map[string]any{"path": jsonl, "format": "telltale flow log", "requests": 3.0, "notes": []any{}},
		map[string]any{"path": har, "format": "HAR", "requests": 1.0, "notes": []any{}},
	}
	if !reflect.DeepEqual(raw["captures"], wantCaptures) {
		t.Errorf("captures %v", raw["captures"])
	}
	fs := raw["findings"].([]any)
	if len(fs) != 2 || raw["entries"].(float64) != 4 {
		t.Fatalf("findings %v entries %v", fs, raw["entries"])
	}
	first := fs[0].(map[string]any)
	if keys := sortedKeys(first); !reflect.DeepEqual(keys, []string{"canary", "chain", "entry", "evidence", "host", "url", "where"}) {
		t.Errorf("finding keys %v", keys)
	}
	want := []map[string]any{
		{"canary": "url1", "entry": 1.0, "host": "sa.api.intl.miui.com", "where": "body",
			"chain": []any{"form:data_list", "base64", "gzip", "json:$[0].properties.url"}},
		// The upload is the first request of the second file: entry 3.
		{"canary": "pkg1", "entry": 3.0, "host": "tracking.intl.miui.com", "where": "body",
			"chain": []any{"onetrack-aes", "gzip", "json:$[0].package"}},
	}
	for i, w := range want {
		got := fs[i].(map[string]any)
		for k, v := range w {
			if !reflect.DeepEqual(got[k], v) {
				t.Errorf("finding %d %s = %v, want %v", i, k, got[k], v)
			}
		}
		if !strings.Contains(got["evidence"].(string), cs[map[int]int{0: 0, 1: 2}[i]].Value) {
			t.Errorf("evidence %q", got["evidence"])
		}
	}

	// Text, without --fail-on-leak: exit 0 and a readable table.
	stdout.Reset()
	if code := analyzeMain(t.Context(), []string{"--canaries", cfile, jsonl, har}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, s := range []string{"2 finding(s) in 4 request(s)", "ENTRY", "sa.api.intl.miui.com (Sensors Analytics)", "form:data_list > base64 > gzip > json:$[0].properties.url", "onetrack-aes > gzip > json:$[0].package"} {
		if !strings.Contains(stdout.String(), s) {
			t.Errorf("text output lacks %q:\n%s", s, stdout.String())
		}
	}

	// The log alone cannot open the upload: no leak, exit 0 even with --fail-on-leak.
	stdout.Reset()
	if code := analyzeMain(t.Context(), []string{"--canaries", cfile, "--fail-on-leak", "--format", "json", har}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d for a capture without leaks", code)
	}
	if !strings.Contains(stdout.String(), `"findings": []`) || !strings.Contains(stdout.String(), `"capped": []`) {
		t.Errorf("empty lists must be [] not null:\n%s", stdout.String())
	}
}

func TestAnalyzeBadInput(t *testing.T) {
	dir := t.TempDir()
	cfile := filepath.Join(dir, "c.json")
	canary.Save(cfile, []canary.Canary{{ID: "a", Value: "abcdefgh"}})
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte("{not json\n"), 0o644)
	cases := map[string]struct {
		args []string
		want string
	}{
		"unreadable capture": {[]string{"--canaries", cfile, bad}, bad},
		"missing capture":    {[]string{"--canaries", cfile, filepath.Join(dir, "nope.har")}, "nope.har"},
		"bad canaries":       {[]string{"--canaries", bad, bad}, "canaries file " + bad},
		"no canaries flag":   {[]string{bad}, "usage: telltale analyze"},
		"bad format":         {[]string{"--canaries", cfile, "--format", "xml", bad}, "usage: telltale analyze"},
	}
	for name, tc := range cases {
		var stdout, stderr bytes.Buffer
		if code := analyzeMain(t.Context(), tc.args, &stdout, &stderr); code != 2 {
			t.Errorf("%s: exit %d, want 2", name, code)
		}
		if !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%s: stderr does not name %q:\n%s", name, tc.want, stderr.String())
		}
	}
}

func TestCanariesCommandIsReproducible(t *testing.T) {
	var a, b, stderr bytes.Buffer
	canariesMain([]string{"--seed", "11", "--count", "2"}, &a, &stderr)
	canariesMain([]string{"--count", "2", "--seed", "11"}, &b, &stderr)
	if a.String() != b.String() || !strings.Contains(a.String(), `"id": "level2"`) {
		t.Errorf("not reproducible or incomplete:\n%s\n%s", a.String(), b.String())
	}
	if code := canariesMain([]string{"--count", "0"}, &a, &stderr); code != 2 {
		t.Errorf("count 0: exit %d", code)
	}
}

func sortedKeys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// mitmdumpTraffic records, with Debian's mitmdump, what a phone would send: a
// Sensors Analytics batch (form field, base64, gzip, JSON) carrying the pkg
// canary and a WebSocket message carrying the search canary.
func mitmdumpTraffic(t *testing.T, cs []canary.Canary) (dump string, up string) {
	t.Helper()
	upstream := mitmdumptest.Upstream(t)
	p := mitmdumptest.Start(t, "--ssl-insecure")
	batch := base64.StdEncoding.EncodeToString(gzipBytes([]byte(`[{"event":"app_open","properties":{"package":"` + cs[2].Value + `"}}]`)))
	p.Curl(t, "-H", "X-Probe: 1", "--data-binary", "crc=1&gzip=1&data_list="+url.QueryEscape(batch), upstream.URL+"/sa?project=mibrowser")
	p.WebSocket(t, upstream, []mitmdumptest.Frame{{Data: []byte(`{"q":"` + cs[1].Value + `"}`)}, {Binary: true, Data: []byte{0, 1, 0xfe}}})
	return p.Stop(t), upstream.URL
}

func canariesFile(t *testing.T) (string, []canary.Canary) {
	t.Helper()
	cfile := filepath.Join(t.TempDir(), "canaries.json")
	var stdout, stderr bytes.Buffer
	if code := canariesMain([]string{"--seed", "5", "--out", cfile}, &stdout, &stderr); code != 0 {
		t.Fatalf("canaries: %d %s", code, stderr.String())
	}
	cs, err := canary.Load(cfile)
	if err != nil {
		t.Fatal(err)
	}
	return cfile, cs
}

func TestMitmdumpCapture(t *testing.T) {
	cfile, cs := canariesFile(t)
	dump, up := mitmdumpTraffic(t, cs)

	t.Run("analyze finds the canaries", func(t *testing.T) {
		gzipped := filepath.Join(t.TempDir(), "flows.mitm.gz")
		b, _ := os.ReadFile(dump)
		os.WriteFile(gzipped, gzipBytes(b), 0o644)
		for _, path := range []string{dump, gzipped} {
			var stdout, stderr bytes.Buffer
			if code := analyzeMain(t.Context(), []string{"--canaries", cfile, "--format", "json", "--fail-on-leak", path}, &stdout, &stderr); code != 1 {
				t.Fatalf("%s: exit %d with leaks and --fail-on-leak; stderr:\n%s", path, code, stderr.String())
			}
			var out analyzeOutput
			if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
				t.Fatal(err)
			}
			want := []analyzeFinding{
				{Canary: "pkg1", Entry: 0, Host: "127.0.0.1", URL: up + "/sa?project=mibrowser", Where: "body",
					Chain: []string{"form:data_list", "base64", "gzip", "json:$[0].properties.package"}},
				{Canary: "search1", Entry: 1, Host: "127.0.0.1", URL: up + "/ws", Where: "websocket", Chain: []string{"json:$.q"}},
			}
			if len(out.Findings) != len(want) {
				t.Fatalf("%s: findings %+v", path, out.Findings)
			}
			for i, w := range want {
				g := out.Findings[i]
				w.Evidence = g.Evidence
				if !reflect.DeepEqual(g, w) || !strings.Contains(g.Evidence, cs[map[int]int{0: 2, 1: 1}[i]].Value) {
					t.Errorf("%s: finding %d = %+v\nwant %+v", path, i, g, w)
				}
			}
			format := "mitmproxy dump (flow format 17)"
			if path == gzipped {
				format = "mitmproxy dump (flow format 17, gzip)"
			}
			if out.Entries != 2 || len(out.Captures) != 1 || out.Captures[0].Format != format || out.Captures[0].Requests != 2 {
				t.Errorf("%s: entries %d captures %+v", path, out.Entries, out.Captures)
			}
		}
	})

	t.Run("har converts it for DevTools", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := harMain(t.Context(), []string{dump}, &stdout, &stderr); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		for _, err := range hartest.Validate(stdout.Bytes()) {
			t.Error(err)
		}
		flows, err := capture.ReadFile(dump)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Log struct {
				Entries []map[string]any `json:"entries"`
			} `json:"log"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Log.Entries) != len(flows) {
			t.Fatalf("%d entries for %d flows", len(doc.Log.Entries), len(flows))
		}
		for i, e := range doc.Log.Entries {
			checkEntry(t, i, e, &flows[i])
		}
	})
}

// checkEntry compares a HAR entry with the flow it came from, field by field.
func checkEntry(t *testing.T, i int, e map[string]any, f *capture.Flow) {
	t.Helper()
	get := func(path ...string) any {
		var v any = e
		for _, k := range path {
			m, _ := v.(map[string]any)
			v = m[k]
		}
		return v
	}
	start, _ := time.Parse(time.RFC3339Nano, get("startedDateTime").(string))
	checks := []struct {
		field     string
		got, want any
	}{
		{"startedDateTime", start.Equal(f.Start), true},
		{"time", get("time"), float64(f.End.Sub(f.Start)) / float64(time.Millisecond)},
		{"request.method", get("request", "method"), f.Request.Method},
		{"request.url", get("request", "url"), f.Request.URL},
		{"request.httpVersion", get("request", "httpVersion"), f.Request.Proto},
		{"request.bodySize", get("request", "bodySize"), float64(f.Request.BodySize)},
		{"response.status", get("response", "status"), float64(f.Response.Status)},
		{"response.httpVersion", get("response", "httpVersion"), f.Response.Proto},
		{"response.content.text", get("response", "content", "text"), nilIfEmpty(string(f.Response.Body))},
		{"response.content.mimeType", get("response", "content", "mimeType"), headerOf(f.Response.Headers, "Content-Type")},
	}
	if len(f.Request.Body) > 0 {
		checks = append(checks, struct {
			field     string
			got, want any
		}{"request.postData.text", get("request", "postData", "text"), string(f.Request.Body)})
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("entry %d %s = %v, want %v", i, c.field, c.got, c.want)
		}
	}
	for _, part := range []struct {
		name string
		hs   []capture.Header
	}{{"request", f.Request.Headers}, {"response", f.Response.Headers}} {
		got, _ := get(part.name, "headers").([]any)
		if len(got) != len(part.hs) {
			t.Errorf("entry %d %s.headers: %d, want %d", i, part.name, len(got), len(part.hs))
			continue
		}
		for j, h := range part.hs {
			if g := got[j].(map[string]any); g["name"] != h.Name || g["value"] != h.Value {
				t.Errorf("entry %d %s.headers[%d] = %v, want %v", i, part.name, j, g, h)
			}
		}
	}
	msgs, _ := get("_webSocketMessages").([]any)
	if len(msgs) != len(f.WebSocket) {
		t.Fatalf("entry %d: %d _webSocketMessages for %d frames", i, len(msgs), len(f.WebSocket))
	}
	for j, fr := range f.WebSocket {
		m := msgs[j].(map[string]any)
		typ, data := "receive", string(fr.Data)
		if fr.FromClient {
			typ = "send"
		}
		if fr.Opcode == 2 {
			data = base64.StdEncoding.EncodeToString(fr.Data)
		}
		if m["type"] != typ || m["opcode"] != float64(fr.Opcode) || m["data"] != data || m["time"] != float64(fr.Time.UnixNano())/1e9 {
			t.Errorf("entry %d message %d = %v, want %s %d %q", i, j, m, typ, fr.Opcode, data)
		}
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func headerOf(hs []capture.Header, name string) string {
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// Every kind of input that cannot be analysed gets exit 2 and a message that
// says what was seen; never "0 findings".
func TestAnalyzeRefusesWhatItCannotRead(t *testing.T) {
	cfile, cs := canariesFile(t)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		return p
	}
	leaky := mitmdumptest.Flow{Version: 17, Method: "POST", Scheme: "https", Host: "sa.api.intl.miui.com", Port: 443,
		Path: "/sa", Body: []byte("q=" + url.QueryEscape(cs[1].Value)), Status: 200, Start: 1.7e9, Client: "127.0.0.1:5"}
	twoFlows := mitmdumptest.Append(mitmdumptest.Append(nil, leaky.State()), leaky.State())
	har := []byte(`{"log":{"version":"1.2","creator":{"name":"x","version":"1"},"entries":[{"startedDateTime":"2026-01-02T03:04:05Z","time":1,` +
		`"request":{"method":"GET","url":"https://a.test/?q=` + url.QueryEscape(cs[1].Value) + `","httpVersion":"HTTP/1.1","headers":[],"bodySize":0},"response":{"status":200}}]}}`)
	empty := write("empty.mitm", nil)
	pcap := write("capture.pcap", []byte("\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00"))
	cutDump := write("cut.mitm", twoFlows[:len(twoFlows)-40])
	cutHAR := write("cut.har", har[:len(har)-30])
	noEntries := write("none.har", []byte(`{"log":{"version":"1.2","creator":{"name":"x","version":"1"},"entries":[]}}`))
	tcpOnly := write("tcp.mitm", mitmdumptest.Append(nil, mitmdumptest.Flow{Version: 17, Type: "tcp", Client: "127.0.0.1:1"}.State()))
	good := write("good.har", har)
	cases := map[string]struct {
		args []string
		code int
		want []string
	}{
		"empty file":     {[]string{empty}, 2, []string{empty + ": capture: the file is empty (0 bytes): nothing was captured"}},
		"pcap":           {[]string{good, pcap}, 2, []string{pcap + ": capture: looks like a pcap packet capture"}},
		"truncated dump": {[]string{cutDump}, 2, []string{cutDump + ": capture: mitmproxy dump is truncated: flow 2", "run with --partial to analyse the 1 complete request(s)"}},
		"truncated HAR":  {[]string{cutHAR}, 2, []string{cutHAR + ": capture: the HAR ends inside", "--partial to analyse the 0 complete"}},
		"partial dump": {[]string{"--partial", "--fail-on-leak", cutDump}, 1, []string{
			"warning: " + cutDump + " (mitmproxy dump (flow format 17)): PARTIAL: only the 1 request(s) before the cut were analysed"}},
		"no entries": {[]string{noEntries}, 2, []string{"warning: " + noEntries + " (HAR): no HTTP request in this capture",
			"no HTTP request in any capture: nothing to analyse, no verdict"}},
		"tcp flows only": {[]string{tcpOnly}, 2, []string{"skipped 1 tcp flow(s): telltale analyses HTTP and WebSocket traffic only",
			"no HTTP request in any capture"}},
		"one empty of two": {[]string{"--fail-on-leak", noEntries, good}, 1, []string{"warning: " + noEntries + " (HAR): no HTTP request in this capture"}},
	}
	for name, tc := range cases {
		var stdout, stderr bytes.Buffer
		code := analyzeMain(t.Context(), append([]string{"--canaries", cfile}, tc.args...), &stdout, &stderr)
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", name, code, tc.code, stdout.String(), stderr.String())
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr.String(), w) {
				t.Errorf("%s: stderr does not say %q:\n%s", name, w, stderr.String())
			}
		}
		if code == 2 && stdout.Len() > 0 {
			t.Errorf("%s: a verdict on stdout for input that was not analysed:\n%s", name, stdout.String())
		}
		if code == 1 && !strings.Contains(stdout.String(), "1 finding(s) in 1 request(s)") {
			t.Errorf("%s: stdout %s", name, stdout.String())
		}
	}

	// Ctrl-C (the context main cancels on SIGINT) stops the work: no verdict.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var stdout, stderr bytes.Buffer
	if code := analyzeMain(ctx, []string{"--canaries", cfile, good}, &stdout, &stderr); code != 130 || stdout.Len() > 0 ||
		!strings.Contains(stderr.String(), "interrupted: no verdict") {
		t.Errorf("interrupted: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}

// Scanning flow by flow finds what one Scan of the whole capture finds, with
// the same entry numbers, also when many flows lie between a key exchange
// and the upload it opens.
func TestStreamScanEqualsOneScan(t *testing.T) {
	dir := t.TempDir()
	cfile, cs := canariesFile(t)
	jsonl, har := writeCaptures(t, dir, cs)
	var all []capture.Flow
	for _, p := range []string{jsonl, har} {
		fl, err := capture.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, fl...)
	}
	// Padding between the key exchange (at the end of the log) and the
	// upload (the HAR), some of it leaking too.
	upload := all[len(all)-1]
	all = all[:len(all)-1]
	for i := range 9 {
		body := "n=" + fmt.Sprint(i)
		if i%4 == 0 {
			body = "q=" + url.QueryEscape(cs[1].Value)
		}
		all = append(all, capture.Flow{Kind: capture.KindHTTP, Request: &capture.Request{Method: "POST", URL: "https://x.test/p", Body: []byte(body)}})
	}
	all = append(all, upload)
	cs = mustLoad(t, cfile)
	want := leak.New(cs).Scan(all)
	if len(want.Findings) != 5 {
		t.Fatalf("the reference scan finds %d: %+v", len(want.Findings), want.Findings)
	}
	s, err := newStreamScan(cs)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range all {
		s.sess.Add(f)
	}
	if got := s.finish(); !reflect.DeepEqual(got, want) {
		t.Errorf("flow by flow: %+v\nwant %+v", got, want)
	}
}

func mustLoad(t *testing.T, path string) []canary.Canary {
	t.Helper()
	cs, err := canary.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func TestProgressLine(t *testing.T) {
	got := progressLine(512<<20, 1<<30, 41200, 10*time.Second)
	want := "analyze [###############...............]  50%  512 MB of 1.0 GB  41200 flows  0:10 left "
	if got != want {
		t.Errorf("progressLine = %q\nwant %q", got, want)
	}
	if got := progressLine(0, 3<<10, 0, time.Second); !strings.Contains(got, "0 KB of 3 KB") || !strings.Contains(got, "--:-- left") {
		t.Errorf("at the start: %q", got)
	}
	// Output that is not a terminal gets no progress bar.
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if p := newProgress(f, 1<<30); p.w != nil {
		t.Error("a progress bar on a regular file")
	}
}
