package leak

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"mime/multipart"
	"net/url"
	"slices"
	"strings"
	"testing"

	"telltale.dev/harness/capture"
)

type bodyCase struct {
	name    string
	id      string
	headers []capture.Header
	body    func(v string) []byte
	where   string
	chain   string
}

func multipartBody(field, v string) ([]byte, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.WriteField("note", "hello")
	fw, _ := w.CreateFormFile(field, "upload.txt")
	fw.Write([]byte("line one\n" + v + "\n"))
	w.Close()
	return buf.Bytes(), w.FormDataContentType()
}

var mpBoundary = func() string { _, ct := multipartBody("x", "y"); return ct }()

// Each decoding alone.
var singleCases = []bodyCase{
	{name: "plain", id: "pkg1", body: func(v string) []byte { return []byte("pkg " + v + " opened") }, where: "body", chain: ""},
	{name: "percent", id: "url1", body: func(v string) []byte { return []byte("visited " + url.QueryEscape(v) + " today") }, where: "body", chain: "percent"},
	{name: "plus", id: "search1", body: func(v string) []byte { return []byte("q " + strings.ReplaceAll(v, " ", "+")) }, where: "body", chain: "percent"},
	{name: "base64 std padded whole", id: "folder1", body: func(v string) []byte { return b64([]byte(v + "!")) }, where: "body", chain: "base64"},
	{name: "base64 url unpadded run", id: "url1", body: func(v string) []byte {
		return []byte("token: " + base64.RawURLEncoding.EncodeToString([]byte("\xff\xfe"+v)) + " end")
	}, where: "body", chain: "base64"},
	{name: "hex", id: "ssid1", body: func(v string) []byte { return []byte("ssid=" + hex.EncodeToString([]byte(v))) }, where: "body", chain: "form:ssid > hex"},
	{name: "hex upper in text", id: "ssid1", body: func(v string) []byte { return []byte("ssid: " + strings.ToUpper(hex.EncodeToString([]byte(v)))) }, where: "body", chain: "hex"},
	{name: "gzip", id: "pkg1", body: func(v string) []byte { return gz([]byte(v)) }, where: "body", chain: "gzip"},
	{name: "zlib", id: "pkg1", body: func(v string) []byte { return zl([]byte("app " + v)) }, where: "body", chain: "zlib"},
	{name: "raw deflate", id: "pkg1", headers: []capture.Header{{Name: "Content-Encoding", Value: "deflate"}},
		body: func(v string) []byte { return deflateRaw([]byte("app " + v)) }, where: "body", chain: "deflate"},
	{name: "json", id: "url1", body: func(v string) []byte { return mustJSON(map[string]any{"a": []any{1, map[string]any{"url": v}}}) }, where: "body", chain: "json:$.a[1].url"},
	{name: "json escapes", id: "url1", body: func(v string) []byte {
		var sb strings.Builder
		for _, r := range v {
			fmt.Fprintf(&sb, `\u%04x`, r)
		}
		return []byte(`{"u":"` + sb.String() + `"}`)
	}, where: "body", chain: "json:$.u"},
	{name: "json in string", id: "url1", body: func(v string) []byte {
		return mustJSON(map[string]any{"payload": string(mustJSON(map[string]any{"url": v}))})
	}, where: "body", chain: "json:$.payload > json:$.url"},
	{name: "json lines", id: "pkg1", body: func(v string) []byte { return []byte("{\"a\":1}\n{\"pkg\":\"" + v + "\"}\n") }, where: "body", chain: "json:$.pkg"},
	{name: "form", id: "url1", body: func(v string) []byte { return []byte("a=1&u=" + url.QueryEscape(v) + "&b=2") }, where: "body", chain: "form:u"},
	{name: "multipart", id: "pkg1", headers: []capture.Header{{Name: "Content-Type", Value: mpBoundary}},
		body: func(v string) []byte {
			b, ct := multipartBody("file", v)
			return bytes.ReplaceAll(b, []byte(ct[strings.Index(ct, "=")+1:]), []byte(mpBoundary[strings.Index(mpBoundary, "=")+1:]))
		}, where: "body", chain: "multipart:file"},
	{name: "protobuf", id: "folder1", body: func(v string) []byte {
		return append(pbVarint(1, 7), pbString(2, append(pbVarint(1, 3), pbString(4, []byte(v))...))...)
	}, where: "body", chain: "protobuf:2 > protobuf:4"},
	{name: "md5 hex", id: "pkg1", body: func(v string) []byte { h := md5.Sum([]byte(v)); return []byte("h=" + hex.EncodeToString(h[:])) }, where: "body", chain: "form:h > md5:hex"},
	{name: "sha1 HEX", id: "pkg1", body: func(v string) []byte {
		h := sha1.Sum([]byte(v))
		return []byte(`{"h":"` + strings.ToUpper(hex.EncodeToString(h[:])) + `"}`)
	}, where: "body", chain: "json:$.h > sha1:HEX"},
	{name: "sha256 base64", id: "pkg1", body: func(v string) []byte {
		h := sha256.Sum256([]byte(v))
		return []byte(`{"h":"` + base64.StdEncoding.EncodeToString(h[:]) + `"}`)
	}, where: "body", chain: "json:$.h > sha256:base64"},
	{name: "sha256 raw in protobuf", id: "pkg1", body: func(v string) []byte { h := sha256.Sum256([]byte(v)); return pbString(3, h[:]) }, where: "body", chain: "protobuf:3 > sha256"},
	{name: "number json", id: "level1", body: func(v string) []byte { return []byte(`{"plugged":"ac","level":` + v + `,"t":100}`) }, where: "body", chain: "json:$.level"},
	{name: "number form", id: "level1", body: func(v string) []byte { return []byte("plugged=ac&level=" + v) }, where: "body", chain: "form:level"},
	{name: "number protobuf varint", id: "level1", body: func(v string) []byte {
		var n uint64
		fmt.Sscan(v, &n)
		return append(pbVarint(5, n), pbString(1, []byte("ac"))...)
	}, where: "body", chain: "protobuf:5"},
}

// Nested four deep (and deeper): outermost step first.
var nestedCases = []bodyCase{
	{name: "form base64 gzip json", id: "url1", body: func(v string) []byte {
		return []byte("data=" + url.QueryEscape(string(b64(gz(mustJSON([]any{map[string]any{"u": v}}))))))
	}, where: "body", chain: "form:data > base64 > gzip > json:$[0].u"},
	{name: "hex zlib base64 json", id: "pkg1", body: func(v string) []byte {
		return []byte(hex.EncodeToString(zl(b64(mustJSON(map[string]any{"p": v})))))
	}, where: "body", chain: "hex > zlib > base64 > json:$.p"},
	{name: "protobuf base64url gzip form", id: "ssid1", body: func(v string) []byte {
		return pbString(1, []byte(base64.RawURLEncoding.EncodeToString(gz([]byte("a=b&ssid="+url.QueryEscape(v))))))
	}, where: "body", chain: "protobuf:1 > base64 > gzip > form:ssid"},
	{name: "json string base64 json percent", id: "search1", body: func(v string) []byte {
		inner := mustJSON(map[string]any{"url": "https://www.google.com/search?q=" + url.QueryEscape(v)})
		return mustJSON(map[string]any{"ev": []any{map[string]any{"blob": string(b64(inner))}}})
	}, where: "body", chain: "json:$.ev[0].blob > base64 > json:$.url > percent"},
	{name: "multipart gzip json md5", id: "folder1", headers: []capture.Header{{Name: "Content-Type", Value: "multipart/form-data; boundary=XyZ"}},
		body: func(v string) []byte {
			h := md5.Sum([]byte(v))
			return []byte("--XyZ\r\nContent-Disposition: form-data; name=\"log\"; filename=\"a.gz\"\r\n\r\n" +
				string(gz(mustJSON(map[string]any{"f": hex.EncodeToString(h[:])}))) + "\r\n--XyZ--\r\n")
		}, where: "body", chain: "multipart:log > gzip > json:$.f > md5:hex"},
}

func runCases(t *testing.T, cases []bodyCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := byID(tc.id)
			f := post(1, "https://collector.test/up", tc.headers, tc.body(c.Value))
			rep := New(testCanaries).Scan([]capture.Flow{f})
			want := tc.where + ": " + tc.chain
			got := findingsFor(rep, c.ID)
			if !slices.Contains(got, want) {
				dump(t, rep)
				t.Fatalf("want finding %q, got %q", want, got)
			}
			for _, fd := range rep.Findings {
				if fd.Canary != c.ID {
					t.Errorf("unexpected finding of %s: %s", fd.Canary, chainString(fd.Chain))
				}
				if fd.Canary == c.ID && !strings.Contains(fd.Evidence, c.Value) && !strings.Contains(chainString(fd.Chain), ":") {
					t.Errorf("evidence %q does not show %q", fd.Evidence, c.Value)
				}
			}
			if len(rep.Capped) != 0 {
				t.Errorf("capped: %v", rep.Capped)
			}
		})
	}
}

func TestEachDecodingAlone(t *testing.T) { runCases(t, singleCases) }
func TestNestedFourDeep(t *testing.T)    { runCases(t, nestedCases) }

// Near misses: the same bodies built from a canary with one character
// changed, or only a prefix of it, must report nothing.
func TestNearMissesAreNotReported(t *testing.T) {
	for _, tc := range append(slices.Clone(singleCases), nestedCases...) {
		for vname, v := range nearMisses(byID(tc.id)) {
			t.Run(tc.name+"/"+vname, func(t *testing.T) {
				f := post(1, "https://collector.test/up", tc.headers, tc.body(v))
				rep := New(testCanaries).Scan([]capture.Flow{f})
				if len(rep.Findings) != 0 {
					dump(t, rep)
					t.Fatalf("near miss %q reported", v)
				}
			})
		}
	}
}

func TestWhereURLQueryHeaderCookie(t *testing.T) {
	u, pkg, folder, ssid := byID("url1").Value, byID("pkg1").Value, byID("folder1").Value, byID("ssid1").Value
	f := capture.Flow{Seq: 9, Kind: capture.KindHTTP, Request: &capture.Request{Method: "GET",
		URL: "https://ads.test:8443/v1/" + url.PathEscape(pkg) + "/x?ref=" + url.QueryEscape(u) + "&n=1",
		Headers: []capture.Header{
			{Name: "Referer", Value: u},
			{Name: "Cookie", Value: "a=1; last=" + string(b64([]byte(folder))) + "; z=2"},
			{Name: "X-Net", Value: hex.EncodeToString([]byte(ssid))},
		}}}
	rep := New(testCanaries).Scan([]capture.Flow{{Kind: capture.KindMark, Mark: "start"}, f})
	want := map[string]string{"pkg1": "url: ", "url1": "query:ref: ", "folder1": "cookie:last: base64", "ssid1": "header:X-Net: hex"}
	for id, w := range want {
		if got := findingsFor(rep, id); !slices.Contains(got, w) {
			dump(t, rep)
			t.Errorf("%s: want %q in %q", id, w, got)
		}
	}
	if got := findingsFor(rep, "url1"); !slices.Contains(got, "header:Referer: ") {
		t.Errorf("referer: %q", got)
	}
	for _, fd := range rep.Findings {
		if fd.Entry != 0 || fd.Seq != 9 || fd.Host != "ads.test" || fd.Method != "GET" {
			t.Errorf("bad finding identity: %+v", fd)
		}
	}
	if rep.Entries != 1 {
		t.Errorf("entries = %d, marks are not requests", rep.Entries)
	}
}

// The request that visits a URL canary is the action itself, not a leak.
func TestVisitItselfIsNotALeak(t *testing.T) {
	u := byID("url1").Value
	pu, _ := url.Parse(u)
	visit := capture.Flow{Kind: capture.KindHTTP, Request: &capture.Request{Method: "GET", URL: u,
		Headers: []capture.Header{{Name: "Host", Value: pu.Host}}}}
	rep := New(testCanaries).Scan([]capture.Flow{visit})
	if len(rep.Findings) != 0 {
		dump(t, rep)
		t.Fatal("the visit was reported as a leak")
	}
}

func TestSensorsAnalyticsBatch(t *testing.T) {
	u, s, setting, folder := byID("url1").Value, byID("search1").Value, byID("setting1").Value, byID("folder1").Value
	search := "https://www.google.com/search?q=" + url.QueryEscape(s) + "&ie=UTF-8"
	flows := []capture.Flow{
		post(1, "https://sdkconfig.ad.intl.xiaomi.com/api/v4/detail/config", nil, nil),
		saFlow(2, saEvent("browser_start", nil), saEvent("browser_visit", map[string]any{"url": u})),
		saFlow(3, saEvent("browser_search", map[string]any{"url": search, "search_word": s})),
		saFlow(4, saEvent("setting_changed", map[string]any{"key": "secure:x", "old": "1", "new": setting}),
			saEvent("folder_create", map[string]any{"folder": folder})),
	}
	rep := New(testCanaries).Scan(flows)
	sa := "body: form:data_list > base64 > gzip > json:"
	want := map[string][]string{
		"url1":     {sa + "$[1].properties.url"},
		"search1":  {sa + "$[0].properties.url > percent", sa + "$[0].properties.search_word"},
		"setting1": {sa + "$[0].properties.new"},
		"folder1":  {sa + "$[1].properties.folder"},
	}
	for id, ws := range want {
		got := findingsFor(rep, id)
		slices.Sort(got)
		slices.Sort(ws)
		if !slices.Equal(got, ws) {
			dump(t, rep)
			t.Errorf("%s: got %q want %q", id, got, ws)
		}
	}
	if len(rep.Findings) != 5 {
		dump(t, rep)
		t.Errorf("%d findings, want 5", len(rep.Findings))
	}
	for _, f := range rep.Findings {
		if f.Endpoint != "Sensors Analytics" || f.Host != "sa.api.intl.miui.com" {
			t.Errorf("endpoint %q host %q", f.Endpoint, f.Host)
		}
	}
	if rep.Entries != 4 {
		t.Errorf("entries %d", rep.Entries)
	}
}

func TestOneTrackKeyedDecryption(t *testing.T) {
	pkg, level, ssid := byID("pkg1"), byID("level1"), byID("ssid1")
	key := []byte("0123456789abcdef")
	var lv int
	fmt.Sscan(level.Value, &lv)
	for _, keyText := range []string{base64.StdEncoding.EncodeToString(key), hex.EncodeToString(key)} {
		flows := oneTrack(1, key, "sid-42", keyText,
			otEvent("app_open", map[string]any{"package": pkg.Value, "start": 1588000000000, "duration": 31}),
			otEvent("battery_charging", map[string]any{"plugged": "ac", "level": lv, "ssid": ssid.Value}))
		rep := New(testCanaries).Scan(flows)
		ot := "body: onetrack-aes > gzip > json:"
		for id, w := range map[string]string{"pkg1": ot + "$[0].package", "level1": ot + "$[1].level", "ssid1": ot + "$[1].ssid"} {
			if got := findingsFor(rep, id); !slices.Equal(got, []string{w}) {
				dump(t, rep)
				t.Errorf("key %s: %s: got %q want %q", keyText, id, got, w)
			}
		}
		// A different session's upload stays closed.
		flows[1].Request.Headers[1].Value = "sid-43"
		if rep := New(testCanaries).Scan(flows); len(rep.Findings) != 0 {
			dump(t, rep)
			t.Errorf("decrypted an upload with an unknown sid")
		}
	}
}

func TestSubstringOfNumberIsNotALeak(t *testing.T) {
	v := byID("level1").Value
	for _, body := range []string{`{"duration":1` + v + `}`, `{"t":"` + v + `0"}`, "x=" + v + "5", "level " + v, `{"v":` + v + `.5}`} {
		rep := New(testCanaries).Scan([]capture.Flow{post(1, "https://h.test/", nil, []byte(body))})
		if len(rep.Findings) != 0 {
			dump(t, rep)
			t.Errorf("%q: number matched as a substring", body)
		}
	}
}

func TestMalformedLayersAreSkipped(t *testing.T) {
	pkg := byID("pkg1").Value
	full := gz(mustJSON(map[string]any{"p": pkg, "pad": strings.Repeat("filler ", 2000)}))
	cases := map[string][]byte{
		"truncated gzip keeps what decoded": full[:len(full)-40],
		"bad base64 next to good":           []byte("a=%%%" + "&b=" + url.QueryEscape(string(b64([]byte(pkg))))),
		"broken json":                       []byte(`{"a":[1,2,{"p":"` + pkg + `"}, tru`),
	}
	for name, body := range cases {
		rep := New(testCanaries).Scan([]capture.Flow{post(1, "https://h.test/", nil, body)})
		if len(findingsFor(rep, "pkg1")) == 0 {
			dump(t, rep)
			t.Errorf("%s: not found", name)
		}
	}
	// Garbage must not fail or report anything.
	for _, body := range [][]byte{{0x1f, 0x8b, 8, 0, 1, 2}, {0x78, 0x9c, 0xff}, []byte("eyJhIjoi"), []byte(`{"a":"\u12`)} {
		if rep := New(testCanaries).Scan([]capture.Flow{post(1, "https://h.test/", nil, body)}); len(rep.Findings) != 0 {
			t.Errorf("%q: %v", body, rep.Findings)
		}
	}
}

func TestCaps(t *testing.T) {
	pkg := byID("pkg1").Value
	body := []byte(pkg)
	for range 6 {
		body = b64(body)
	}
	f := post(1, "https://h.test/", nil, body)
	rep := New(testCanaries, WithMaxDepth(3)).Scan([]capture.Flow{f})
	if len(rep.Findings) != 0 || !slices.Contains(rep.Capped, Capped{Entry: 0, Where: "body", Limit: "depth"}) {
		t.Errorf("depth 3 of 6: %v %v", rep.Findings, rep.Capped)
	}
	rep = New(testCanaries).Scan([]capture.Flow{f})
	if got := findingsFor(rep, "pkg1"); !slices.Equal(got, []string{"body: base64 > base64 > base64 > base64 > base64 > base64"}) {
		t.Errorf("six base64 layers: %q", got)
	}
	// A hit inside the part decoded before the bound is still reported.
	big := gz([]byte(pkg + strings.Repeat("x", 1<<20)))
	rep = New(testCanaries, WithMaxInflate(64<<10)).Scan([]capture.Flow{post(1, "https://h.test/", nil, big)})
	if len(findingsFor(rep, "pkg1")) != 1 || !slices.Contains(rep.Capped, Capped{Entry: 0, Where: "body", Limit: "inflate"}) {
		t.Errorf("inflate bound: %v %v", rep.Findings, rep.Capped)
	}
	rep = New(testCanaries, WithMaxDecodedBytes(1000)).Scan([]capture.Flow{post(1, "https://h.test/", nil, big)})
	if len(findingsFor(rep, "pkg1")) != 1 || !slices.Contains(rep.Capped, Capped{Entry: 0, Where: "body", Limit: "bytes"}) {
		t.Errorf("bytes bound: %v %v", rep.Findings, rep.Capped)
	}
}

func TestPercentDecode(t *testing.T) {
	for in, want := range map[string]string{
		"a%41b":       "aAb",
		"a+b%2Bc":     "a b+c",
		"100%":        "100%",
		"%zz%4":       "%zz%4",
		"%e4%bd%a0+%": "你 %",
		"":            "",
	} {
		if got := string(percentDecode(nil, []byte(in), true)); got != want {
			t.Errorf("%q: got %q want %q", in, got, want)
		}
	}
	if got := string(percentDecode(nil, []byte("a+b"), false)); got != "a+b" {
		t.Errorf("plus kept: %q", got)
	}
}

// One detector serves concurrent scans (scenarios scan devices in parallel).
func TestConcurrentScans(t *testing.T) {
	d := New(testCanaries)
	u := byID("url1").Value
	key := []byte("0123456789abcdef")
	flows := append(oneTrack(1, key, "s", base64.StdEncoding.EncodeToString(key), otEvent("app_open", map[string]any{"package": byID("pkg1").Value})),
		saFlow(3, saEvent("browser_visit", map[string]any{"url": u})))
	want := d.Scan(flows)
	if len(want.Findings) != 2 {
		t.Fatalf("findings %v", want.Findings)
	}
	done := make(chan Report)
	for range 4 {
		go func() {
			var r Report
			for range 20 {
				r = d.Scan(flows)
			}
			done <- r
		}()
	}
	for range 4 {
		if got := <-done; !slices.EqualFunc(got.Findings, want.Findings, func(a, b Finding) bool {
			return a.Canary == b.Canary && chainString(a.Chain) == chainString(b.Chain) && a.Evidence == b.Evidence
		}) {
			t.Errorf("concurrent scan differs: %v", got.Findings)
		}
	}
}

func TestUnescapeJSON(t *testing.T) {
	for in, want := range map[string]string{
		`https:\/\/a.example\/x`:   "https://a.example/x",
		`\u0041\u00e9\ud83d\ude00`: "Aé😀",
		`q\"x\\y\n`:                "q\"x\\y\n",
		`plain`:                    "plain",
	} {
		got, ok := unescapeJSON(nil, []byte(in))
		if !ok || string(got) != want {
			t.Errorf("%s: got %q %v want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{`a\`, `\u12`, `\x41`} {
		if _, ok := unescapeJSON(nil, []byte(bad)); ok {
			t.Errorf("%s accepted", bad)
		}
	}
}
