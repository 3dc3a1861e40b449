package matchers

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/capture"
	"telltale.dev/harness/leak"
)

var (
	gen    = canary.NewGenerator(5)
	visit  = gen.URL("url1")
	folder = gen.Folder("folder1")
	quiet  = gen.Package("pkg1")
)

// saReport scans one Sensors Analytics upload carrying the visited URL.
func saReport(t *testing.T) leak.Report {
	t.Helper()
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte(`[{"event":"browser_start","properties":{}},{"event":"browser_visit","properties":{"url":"` + visit.Value + `"}}]`))
	w.Close()
	body := "crc=1&gzip=1&data_list=" + url.QueryEscape(base64.StdEncoding.EncodeToString(gz.Bytes()))
	f := capture.Flow{Seq: 3, Kind: capture.KindHTTP, Request: &capture.Request{Method: "POST",
		URL: "https://sa.api.intl.miui.com/sa?project=mibrowser", Body: []byte(body)}}
	return leak.New([]canary.Canary{visit, folder, quiet}).Scan([]capture.Flow{f})
}

func TestMatchersAgainstARealScan(t *testing.T) {
	g := NewWithT(t)
	rep := saReport(t)
	g.Expect(rep).To(Leak(visit))
	g.Expect(&rep).To(Leak(visit, To("sa.api.intl.miui.com"), Via("form:data_list > base64 > gzip > json"), At("body")))
	g.Expect(rep).To(Leak(visit, To("Sensors Analytics (MIUI browser)")))
	g.Expect(rep).To(Leak(visit, Via("form", "base64", "gzip", "json:$[1].properties.url")))
	g.Expect(rep.Findings).To(And(LeakTo("sa.api.intl.miui.com"), LeakVia("form > base64 > gzip > json")))
	g.Expect(rep).NotTo(Leak(visit, To("tracking.intl.miui.com")))
	g.Expect(rep).NotTo(Leak(visit, Via("form > base64 > json")))
	g.Expect(rep).NotTo(Leak(visit, At("header:")))
	g.Expect(rep).NotTo(Leak(folder))
	g.Expect(rep).NotTo(HaveNoLeaks())
	g.Expect(leak.Report{}).To(HaveNoLeaks())
}

func TestFailureMessagesShowEvidenceAndChain(t *testing.T) {
	rep := saReport(t)

	m := Leak(folder, To("sa.api.intl.miui.com"))
	if ok, err := m.Match(rep); ok || err != nil {
		t.Fatalf("match %v %v", ok, err)
	}
	msg := m.FailureMessage(rep)
	for _, want := range []string{
		`Expected a leak of canary folder1 ("` + folder.Value + `") to sa.api.intl.miui.com, but no finding matched.`,
		"The report has 1 finding(s) in 1 request(s):",
		"url1 -> sa.api.intl.miui.com (Sensors Analytics (MIUI browser)) [entry 0, POST body] form:data_list > base64 > gzip > json:$[1].properties.url",
		`evidence: t":"browser_visit","properties":{"url":"` + visit.Value + `"}}]`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("failure message lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "H4sI") || strings.Contains(msg, "data_list=") {
		t.Errorf("failure message dumps wire bytes:\n%s", msg)
	}

	m = Leak(visit)
	m.Match(rep)
	msg = m.NegatedFailureMessage(rep)
	if !strings.HasPrefix(msg, `Expected no leak of canary url1 ("`+visit.Value+`"), but found 1:`) ||
		!strings.Contains(msg, "form:data_list > base64 > gzip > json:$[1].properties.url") {
		t.Errorf("negated message:\n%s", msg)
	}

	m = HaveNoLeaks()
	if ok, _ := m.Match(rep); ok {
		t.Fatal("HaveNoLeaks matched a report with a finding")
	}
	if msg = m.FailureMessage(rep); !strings.HasPrefix(msg, "Expected no leaks, but found 1:\n  url1 -> sa.api.intl.miui.com") {
		t.Errorf("HaveNoLeaks message:\n%s", msg)
	}

	capped := leak.Report{Entries: 2, Capped: []leak.Capped{{Entry: 1, Where: "body", Limit: "inflate"}}}
	m = Leak(quiet)
	m.Match(capped)
	msg = m.FailureMessage(capped)
	if !strings.Contains(msg, "The report has no findings in 2 request(s).") || !strings.Contains(msg, "entry 1 body: inflate") {
		t.Errorf("capped message:\n%s", msg)
	}
}

func TestBadActual(t *testing.T) {
	if _, err := Leak(visit).Match("a string"); err == nil || !strings.Contains(err.Error(), "got string") {
		t.Errorf("err = %v", err)
	}
	var nilRep *leak.Report
	if _, err := HaveNoLeaks().Match(nilRep); err == nil {
		t.Error("nil report accepted")
	}
}
