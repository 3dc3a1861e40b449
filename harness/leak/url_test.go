package leak

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"slices"
	"strings"
	"testing"

	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/capture"
)

// getCase is a GET request hiding a canary in its URL: the URL after the
// host, made from the canary's value, and where the detector must name it.
type getCase struct {
	name  string
	id    string
	url   func(v string) string
	where string
	chain string
}

func b64url(b []byte) string    { return base64.RawURLEncoding.EncodeToString(b) }
func b64urlPad(b []byte) string { return base64.URLEncoding.EncodeToString(b) }
func b64std(b []byte) string    { return base64.StdEncoding.EncodeToString(b) }

// awkward makes v's base64 hold '+' and '/' (or '-' and '_'): the bytes
// 0xfb 0xff encode to "+/8" in the standard alphabet.
func awkward(v string) []byte { return append([]byte{0xfb, 0xff}, v...) }

// The GET corpus: every encoding the detector claims, inside paths, matrix
// parameters, bare queries and query values, host labels and fragments, the
// way trackers and pixel endpoints build them. url returns what follows the
// host, or "//host/..." for a case that needs its own host.
var getCases = []getCase{
	// Paths.
	{"path plain", "pkg1", func(v string) string { return "/v1/apps/" + v + "/info" }, "url", ""},
	{"path percent", "search1", func(v string) string { return "/s/" + url.PathEscape(v) }, "url", "percent"},
	{"path base64url after odd prefix", "url1", func(v string) string { return "/track/" + b64url(awkward(v)) }, "url", "base64"},
	{"path base64url padded", "folder1", func(v string) string { return "/t/x/" + b64urlPad([]byte(v)) + "/p.gif" }, "url", "base64"},
	{"path base64 std escaped", "folder1", func(v string) string { return "/e/" + url.PathEscape(b64std(awkward(v))) }, "url", "percent > base64"},
	{"path hex", "ssid1", func(v string) string { return "/x/" + hex.EncodeToString([]byte(v)) }, "url", "hex"},
	{"path HEX", "ssid1", func(v string) string { return "/net/" + strings.ToUpper(hex.EncodeToString([]byte(v))) + "/ok" }, "url", "hex"},
	{"path md5", "pkg1", func(v string) string { h := md5.Sum([]byte(v)); return "/u/" + hex.EncodeToString(h[:]) + "/avatar" }, "url", "md5:hex"},
	{"path sha256 base64url", "pkg1", func(v string) string { h := sha256.Sum256([]byte(v)); return "/k/" + b64url(h[:]) }, "url", "sha256:base64url"},
	{"path base64 json", "url1", func(v string) string { return "/b/" + b64url(mustJSON(map[string]any{"u": v})) }, "url", "base64 > json:$.u"},
	{"path gzip base64url", "pkg1", func(v string) string { return "/z/" + b64url(gz([]byte(v))) + "/end" }, "url", "base64 > gzip"},
	{"matrix parameter", "folder1", func(v string) string { return "/page;jsessionid=77;ref=" + b64url(awkward(v)) + "/next" }, "url", "base64"},
	// Query values.
	{"query percent", "url1", func(v string) string { return "/r?u=" + url.QueryEscape(v) + "&n=1" }, "query:u", ""},
	{"query plus", "search1", func(v string) string { return "/s?q=" + strings.ReplaceAll(v, " ", "+") }, "query:q", ""},
	{"query percent twice", "url1", func(v string) string { return "/r?u=" + url.QueryEscape(url.QueryEscape(v)) }, "query:u", "percent"},
	{"query base64 std raw", "folder1", func(v string) string { return "/c?d=" + b64std(awkward(v)) }, "query:d", "base64"},
	{"query base64 std escaped", "folder1", func(v string) string { return "/c?d=" + url.QueryEscape(b64std(awkward(v))) }, "query:d", "base64"},
	{"query base64url", "pkg1", func(v string) string { return "/c?a=1&d=" + b64url(awkward(v)) + "&z=2" }, "query:d", "base64"},
	{"query base64url padded", "pkg1", func(v string) string { return "/c?d=" + b64urlPad([]byte(v+"!")) }, "query:d", "base64"},
	{"query hex", "ssid1", func(v string) string { return "/c?h=" + hex.EncodeToString([]byte(v)) }, "query:h", "hex"},
	{"query gzip base64url", "url1", func(v string) string { return "/c?d=" + b64url(gz([]byte(v))) }, "query:d", "base64 > gzip"},
	{"query zlib base64", "pkg1", func(v string) string { return "/c?d=" + url.QueryEscape(b64std(zl([]byte("app "+v)))) }, "query:d", "base64 > zlib"},
	// Repeated, so that deflate codes it instead of storing it verbatim.
	{"query raw deflate base64", "pkg1", func(v string) string {
		return "/c?d=" + url.QueryEscape(b64std(deflateRaw([]byte(strings.Repeat("app "+v+" opened; ", 3)))))
	}, "query:d", "base64 > deflate"},
	{"query json", "ssid1", func(v string) string { return "/c?e=" + url.QueryEscape(string(mustJSON(map[string]any{"ssid": v}))) }, "query:e", "json:$.ssid"},
	{"query base64 json", "folder1", func(v string) string {
		return "/c?p=" + b64url(mustJSON(map[string]any{"props": map[string]any{"folder": v}}))
	}, "query:p", "base64 > json:$.props.folder"},
	{"query nested gzip json base64", "url1", func(v string) string {
		return "/c?d=" + b64url(gz(mustJSON(map[string]any{"x": b64std([]byte(v))})))
	}, "query:d", "base64 > gzip > json:$.x > base64"},
	{"query sha1 hex", "pkg1", func(v string) string { h := sha1.Sum([]byte(v)); return "/c?h=" + hex.EncodeToString(h[:]) }, "query:h", "sha1:hex"},
	{"query sha256 base64 escaped", "pkg1", func(v string) string {
		h := sha256.Sum256([]byte(v))
		return "/c?h=" + url.QueryEscape(b64std(h[:]))
	}, "query:h", "sha256:base64"},
	{"query url in url", "search1", func(v string) string {
		return "/c?next=" + url.QueryEscape("https://a.test/cb?q="+url.QueryEscape(v))
	}, "query:next", "percent"},
	{"query number", "level1", func(v string) string { return "/c?plugged=ac&lvl=" + v }, "query:lvl", ""},
	// Pixel endpoints put the payload where a name would be.
	{"bare query base64", "url1", func(v string) string { return "/p.gif?" + b64std(mustJSON(map[string]any{"u": v})) }, "query", "base64 > json:$.u"},
	{"bare query hex", "ssid1", func(v string) string { return "/p.gif?" + hex.EncodeToString([]byte(v)) + "&t=1" }, "query", "hex"},
	// Hosts: a label can carry data past every proxy that logs only paths.
	{"host label hex", "ssid1", func(v string) string { return "//" + hex.EncodeToString([]byte(v)) + ".dns.test/ping" }, "host", "hex"},
	// Fragments (browsers keep them in HAR captures; SPAs route on them).
	{"fragment route query", "url1", func(v string) string { return "/app#/route?u=" + url.QueryEscape(v) }, "fragment", "form:u"},
	{"fragment base64", "pkg1", func(v string) string { return "/app#" + b64url(awkward(v)) }, "fragment", "base64"},
}

// getFlow is a GET of u on collector.test, or of "https:"+u when u names its
// own host ("//host/path").
func getFlow(u string) capture.Flow {
	if strings.HasPrefix(u, "//") {
		u = "https:" + u
	} else {
		u = "https://collector.test" + u
	}
	return capture.Flow{Seq: 3, Kind: capture.KindHTTP, Request: &capture.Request{Method: "GET", URL: u,
		Proto: "HTTP/1.1", Headers: []capture.Header{{Name: "Host", Value: "collector.test"}}}}
}

func TestGETCorpus(t *testing.T) {
	d := New(testCanaries)
	for _, tc := range getCases {
		t.Run(tc.name, func(t *testing.T) {
			c := byID(tc.id)
			u := tc.url(c.Value)
			rep := d.Scan([]capture.Flow{getFlow(u)})
			want := tc.where + ": " + tc.chain
			if got := findingsFor(rep, c.ID); !slices.Contains(got, want) {
				dump(t, rep)
				t.Fatalf("GET %s: want finding %q, got %q", u, want, got)
			}
			for _, f := range rep.Findings {
				if f.Canary != c.ID {
					t.Errorf("unexpected finding of %s: %s %s", f.Canary, f.Where, chainString(f.Chain))
				}
			}
			if len(rep.Capped) != 0 {
				t.Errorf("capped: %v", rep.Capped)
			}
		})
	}
}

// The same URLs built from near misses of the canary report nothing.
func TestGETCorpusNearMisses(t *testing.T) {
	d := New(testCanaries)
	for _, tc := range getCases {
		c := byID(tc.id)
		for vname, v := range nearMisses(c) {
			t.Run(tc.name+"/"+vname, func(t *testing.T) {
				if rep := d.Scan([]capture.Flow{getFlow(tc.url(v))}); len(rep.Findings) != 0 {
					dump(t, rep)
					t.Fatalf("near miss %q reported", v)
				}
			})
		}
	}
}

// nearMisses are values that look like c and are not it: one character
// changed, or a prefix (numbers: an extra or missing digit).
func nearMisses(c canary.Canary) map[string]string {
	if c.Kind == canary.KindNumber {
		return map[string]string{"extra digit": c.Value + "1", "prefix": c.Value[:1], "leading digit": "1" + c.Value}
	}
	mid := len(c.Value) / 2
	return map[string]string{
		"one char changed": c.Value[:mid] + string(c.Value[mid]^1) + c.Value[mid+1:],
		"prefix":           c.Value[:len(c.Value)-1],
	}
}
