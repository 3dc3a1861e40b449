package main

import (
	"bytes"
	"compress/gzip"
	"crypto/aes"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/capture"
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

	plain := gzipBytes([]byte(`[{"event":"app_open","package":"` + pkg + `"}]`))
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	plain = append(plain, bytes.Repeat([]byte{byte(pad)}, pad)...)
	block, _ := aes.NewCipher(key)
	ct := make([]byte, len(plain))
	for i := 0; i < len(ct); i += aes.BlockSize {
		block.Encrypt(ct[i:], plain[i:])
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

	code := analyzeMain([]string{"--canaries", cfile, jsonl, har, "--format", "json", "--fail-on-leak"}, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit %d with leaks and --fail-on-leak; stderr %s", code, stderr.String())
	}
	var raw map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &raw); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
	}
	if keys := sortedKeys(raw); !reflect.DeepEqual(keys, []string{"capped", "entries", "findings"}) {
		t.Errorf("top-level keys %v", keys)
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
	if code := analyzeMain([]string{"--canaries", cfile, jsonl, har}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, s := range []string{"2 finding(s) in 4 request(s)", "ENTRY", "sa.api.intl.miui.com (Sensors Analytics (MIUI browser))", "form:data_list > base64 > gzip > json:$[0].properties.url", "onetrack-aes > gzip > json:$[0].package"} {
		if !strings.Contains(stdout.String(), s) {
			t.Errorf("text output lacks %q:\n%s", s, stdout.String())
		}
	}

	// The log alone cannot open the upload: no leak, exit 0 even with --fail-on-leak.
	stdout.Reset()
	if code := analyzeMain([]string{"--canaries", cfile, "--fail-on-leak", "--format", "json", har}, &stdout, &stderr); code != 0 {
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
		if code := analyzeMain(tc.args, &stdout, &stderr); code != 2 {
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
