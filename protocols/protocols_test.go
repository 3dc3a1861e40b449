package protocols

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestJavaHashCode(t *testing.T) {
	// "polygenelubricants" is the well-known string whose hash is
	// Integer.MIN_VALUE; "é😀" is three UTF-16 units (233, 0xD83D, 0xDE00):
	// (233*31 + 55357)*31 + 56832.
	cases := map[string]int32{"": 0, "a": 97, "hello": 99162322, "polygenelubricants": -2147483648, "é😀": 1996812}
	for s, want := range cases {
		if got := JavaHashCode(s); got != want {
			t.Errorf("JavaHashCode(%q) = %d, want %d", s, got, want)
		}
	}
}

func TestSARoundTrip(t *testing.T) {
	events := []map[string]any{{"event": "browser_visit", "properties": map[string]any{"url": "https://canary.example/?q=a b"}}}
	body, err := EncodeSA(events)
	if err != nil {
		t.Fatal(err)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		t.Fatal(err)
	}
	if form.Get("gzip") != "1" || form.Get("crc") == "" {
		t.Fatalf("form fields: %v", form)
	}
	// The layers must be the documented ones, peeled by hand.
	raw, err := base64.StdEncoding.DecodeString(form.Get("data_list"))
	if err != nil {
		t.Fatal(err)
	}
	js, err := Gunzip(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"url":"https://canary.example/?q=a b"`) {
		t.Fatalf("JSON inside: %s", js)
	}
	got, err := DecodeSA(body)
	if err != nil {
		t.Fatal(err)
	}
	if got[0]["event"] != "browser_visit" {
		t.Errorf("decoded %v", got)
	}
	form.Set("crc", "1")
	if _, err := DecodeSA([]byte(form.Encode())); err == nil {
		t.Error("a wrong crc was accepted")
	}
}

func TestOneTrackRoundTrip(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 16)
	sealed, err := SealOneTrack(key, []map[string]any{{"event": "app_open", "package": "com.canary.app"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed)%16 != 0 || bytes.Contains(sealed, []byte("canary")) {
		t.Fatalf("sealed body is not opaque AES blocks: %x", sealed)
	}
	js, err := OpenOneTrack(key, sealed)
	if err != nil {
		t.Fatal(err)
	}
	var evs []map[string]any
	if err := json.Unmarshal(js, &evs); err != nil || evs[0]["package"] != "com.canary.app" {
		t.Fatalf("opened %s (%v)", js, err)
	}
	if _, err := OpenOneTrack(bytes.Repeat([]byte{8}, 16), sealed); err == nil {
		t.Error("the wrong key opened the body")
	}
}

func TestOneTrackKeyReply(t *testing.T) {
	k := bytes.Repeat([]byte{1, 2}, 8)
	encodings := []string{base64.StdEncoding.EncodeToString(k), base64.RawURLEncoding.EncodeToString(k), hex.EncodeToString(k)}
	for _, enc := range encodings {
		got, sid, err := ParseOneTrackKeyReply([]byte(`{"code":0,"data":{"key":"` + enc + `","sid":"s1"}}`))
		if err != nil || !bytes.Equal(got, k) || sid != "s1" {
			t.Errorf("key %q: got %x %q %v", enc, got, sid, err)
		}
	}
	for _, bad := range []string{`{"code":-3}`, `{"data":{"key":"AQIBAgECAQIBAgECAQIBAg==","sid":"s"}}`,
		`{"code":0,"data":{"key":"short","sid":"s"}}`, `{"code":0,"data":{"key":"AQIBAgECAQIBAgECAQIBAg=="}}`, `not json`} {
		if _, _, err := ParseOneTrackKeyReply([]byte(bad)); err == nil {
			t.Errorf("ParseOneTrackKeyReply(%s) succeeded", bad)
		}
	}
	// What the sinkhole hands out must be what the phone and the detector read.
	r := SinkholeReply("https://tracking.intl.miui.com" + OneTrackKeyPath)
	if r.Status != http.StatusOK {
		t.Fatalf("key_get status %d", r.Status)
	}
	key, sid, err := ParseOneTrackKeyReply(r.Body)
	if err != nil || len(key) != 16 || sid == "" {
		t.Fatalf("sinkhole key reply %s: %x %q %v", r.Body, key, sid, err)
	}
	if again := SinkholeReply(OneTrackKeyPath); bytes.Equal(again.Body, r.Body) {
		t.Error("two key exchanges got the same key")
	}
}

func TestSinkholeReplies(t *testing.T) {
	for target, want := range map[string]int{
		"http://connectivitycheck.gstatic.com/generate_204": http.StatusNoContent,
		"/gen_204?x=1": http.StatusNoContent,
		"https://sa.api.intl.miui.com/sa?project=mibrowser_global": http.StatusOK,
	} {
		if got := SinkholeReply(target); got.Status != want {
			t.Errorf("%s: status %d, want %d", target, got.Status, want)
		}
	}
	if r := SinkholeReply("/sa?project=x"); string(r.Body) != `{"code":0}` || r.ContentType != "application/json" {
		t.Errorf("upload reply %q %q", r.Body, r.ContentType)
	}
}

func TestSplitURL(t *testing.T) {
	for u, want := range map[string][2]string{
		"https://h.example:8443/a/b?q=1#frag": {"h.example:8443", "/a/b?q=1"},
		"https://h.example":                   {"h.example", "/"},
		"https://h.example?q=1":               {"h.example", "/?q=1"},
		"http://[::1]:80/p":                   {"[::1]:80", "/p"},
		"/track/key_get?x#y":                  {"", "/track/key_get?x"},
		"":                                    {"", "/"},
	} {
		a, tgt := SplitURL(u)
		if a != want[0] || tgt != want[1] {
			t.Errorf("SplitURL(%q) = %q, %q; want %q, %q", u, a, tgt, want[0], want[1])
		}
	}
	if p := URLPath("https://tracking.intl.miui.com/track/key_get?sid=1"); p != OneTrackKeyPath {
		t.Errorf("URLPath = %q", p)
	}
}

func TestCatalogue(t *testing.T) {
	for host, want := range map[string]string{
		"sa.api.intl.miui.com":        SensorsAnalytics,
		"SA.API.INTL.MIUI.COM:443":    SensorsAnalytics,
		"x.sensorsdata.cn":            SensorsAnalytics,
		"sensorsdata.cn":              SensorsAnalytics,
		"tracking.rus.miui.com":       OneTrack,
		"abc.crashlytics.com":         Crashlytics,
		"[::1]:443":                   "",
		"notsensorsdata.cn":           "",
		"data.mistat.intl.xiaomi.com": Mistat,
	} {
		s, ok := Lookup(host)
		if ok != (want != "") || s.ID != want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", host, s.ID, ok, want)
		}
	}
	global := HostsOf(RegionGlobal, SensorsAnalytics, OneTrack, Mistat, "no-such-service")
	if !slices.Equal(global, []string{"sa.api.intl.miui.com", "tracking.intl.miui.com", "data.mistat.intl.xiaomi.com"}) {
		t.Errorf("global hosts: %v", global)
	}
	if all := HostsOf("", OneTrack); len(all) != 4 {
		t.Errorf("every region's OneTrack hosts: %v", all)
	}
	for _, s := range Services() {
		if _, ok := ByID(s.ID); !ok || s.Name == "" || len(s.Hosts) == 0 {
			t.Errorf("service %+v is not complete", s)
		}
	}
}
