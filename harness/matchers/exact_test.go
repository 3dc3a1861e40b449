package matchers

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/capture"
	"telltale.dev/harness/leak"
)

// saUpload is one Sensors Analytics upload to host carrying the visited URL.
func saUpload(seq int64, host string) capture.Flow {
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte(`[{"event":"browser_visit","properties":{"url":"` + visit.Value + `"}}]`))
	w.Close()
	body := "crc=1&gzip=1&data_list=" + url.QueryEscape(base64.StdEncoding.EncodeToString(gz.Bytes()))
	return capture.Flow{Seq: seq, Kind: capture.KindHTTP, Request: &capture.Request{Method: "POST",
		URL: "https://" + host + "/sa?project=mibrowser", Body: []byte(body)}}
}

var saRoute = Route{Host: "sa.api.intl.miui.com", Via: []string{"form:data_list", "base64", "gzip", "json"}}

// TestLeakExactlyOnRealScans: the known route passes; the same upload also
// sent to a second host, or a route that no finding takes, fails, and the
// message shows the decoded evidence of the extra leak.
func TestLeakExactlyOnRealScans(t *testing.T) {
	g := NewWithT(t)
	one := leak.New([]canary.Canary{visit, folder}).Scan([]capture.Flow{saUpload(1, "sa.api.intl.miui.com")})
	g.Expect(one).To(LeakExactly(visit, saRoute))
	g.Expect(one).To(LeakExactly(folder))
	g.Expect(one).NotTo(LeakExactly(visit))

	two := leak.New([]canary.Canary{visit}).Scan([]capture.Flow{saUpload(1, "sa.api.intl.miui.com"), saUpload(2, "data.mistat.intl.xiaomi.com")})
	m := LeakExactly(visit, saRoute)
	if ok, err := m.Match(two); ok || err != nil {
		t.Fatalf("a second host passed: %v %v", ok, err)
	}
	msg := m.FailureMessage(two)
	for _, want := range []string{
		"exactly to:\n  sa.api.intl.miui.com via form:data_list > base64 > gzip > json",
		"Found 1 leak(s) on no expected route:",
		"-> data.mistat.intl.xiaomi.com",
		`"browser_visit","properties":{"url":"` + visit.Value,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}

	plain := Route{Host: "sa.api.intl.miui.com"}
	m = LeakExactly(visit, saRoute, plain)
	if ok, _ := m.Match(one); ok {
		t.Fatal("a route no finding took passed")
	}
	if msg := m.FailureMessage(one); !strings.Contains(msg, "No finding took:\n  sa.api.intl.miui.com as it is (no encoding)") {
		t.Errorf("missing route not named:\n%s", msg)
	}
	if _, err := LeakExactly(visit).Match(42); err == nil {
		t.Error("an int accepted")
	}
}

// TestLeakExactlyOnSessionPlaces: a session's places (a late upload
// attributed by its canary) are matched like findings, and a place on no
// route is listed with how often and how late it came.
func TestLeakExactlyOnSessionPlaces(t *testing.T) {
	s := leak.NewSession()
	planted := time.Date(2020, 4, 30, 12, 0, 0, 0, time.UTC)
	if err := s.Plant(leak.Planting{Seq: 1, Time: planted}, visit); err != nil {
		t.Fatal(err)
	}
	late, other := saUpload(2, "sa.api.intl.miui.com"), saUpload(3, "data.mistat.intl.xiaomi.com")
	late.Start, other.Start = planted.Add(17*time.Second), planted.Add(31*time.Second)
	s.Add(late, other)
	places := s.Places(leak.Query{})
	m := LeakExactly(visit, saRoute)
	if ok, err := m.Match(places[:1]); !ok || err != nil {
		t.Fatalf("the known route's place: %v %v", ok, err)
	}
	if ok, _ := m.Match(places); ok {
		t.Fatal("a place on a second host passed")
	}
	if msg := m.FailureMessage(places); !strings.Contains(msg, "-> data.mistat.intl.xiaomi.com") ||
		!strings.Contains(msg, "1 request(s), first 31s after its planting at seq 1 (seq 3)") {
		t.Errorf("the extra place is not shown with its delay:\n%s", msg)
	}
}

func TestSendExactly(t *testing.T) {
	lock := Traffic{Endpoints: []string{"data.mistat.intl.xiaomi.com/mistats/v3"}, Events: []string{"screen_lock"}}
	bg := Traffic{Endpoints: []string{"sdkconfig.ad.intl.xiaomi.com/api/v4/detail/config"}}
	got := leak.Diff{Hosts: []string{"data.mistat.intl.xiaomi.com", "sdkconfig.ad.intl.xiaomi.com"},
		Paths:  []string{"data.mistat.intl.xiaomi.com/mistats/v3", "sdkconfig.ad.intl.xiaomi.com/api/v4/detail/config"},
		Events: []string{"screen_lock"}}
	g := NewWithT(t)
	g.Expect(got).To(SendExactly(lock, bg))
	g.Expect(leak.Diff{}).To(SendExactly(Traffic{}, bg))

	for name, c := range map[string]struct {
		want Traffic
		diff leak.Diff
		says string
	}{
		"stops sending":  {lock, leak.Diff{}, "missing endpoint data.mistat.intl.xiaomi.com/mistats/v3"},
		"starts sending": {Traffic{}, got, "new event screen_lock"},
		"a new event":    {lock, leak.Diff{Hosts: got.Hosts, Paths: got.Paths, Events: []string{"screen_lock", "screen_unlock"}}, "new event screen_unlock"},
	} {
		m := SendExactly(c.want, bg)
		if ok, err := m.Match(c.diff); ok || err != nil {
			t.Errorf("%s: passed (%v)", name, err)
			continue
		}
		if msg := m.FailureMessage(c.diff); !strings.Contains(msg, c.says) {
			t.Errorf("%s: message lacks %q:\n%s", name, c.says, msg)
		}
	}
}
