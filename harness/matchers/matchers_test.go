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

var (
	gen    = canary.NewGenerator(5)
	visit  = gen.URL("url1")
	folder = gen.Folder("folder1")
	quiet  = gen.Package("pkg1")
)

// saReport scans one Sensors Analytics upload carrying the visited URL.
func saReport(t *testing.T) leak.Report {
	t.Helper()
	return leak.New([]canary.Canary{visit, folder, quiet}).Scan([]capture.Flow{saReportFlow()})
}

// saReportFlow is that upload.
func saReportFlow() capture.Flow {
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte(`[{"event":"browser_start","properties":{}},{"event":"browser_visit","properties":{"url":"` + visit.Value + `"}}]`))
	w.Close()
	body := "crc=1&gzip=1&data_list=" + url.QueryEscape(base64.StdEncoding.EncodeToString(gz.Bytes()))
	return capture.Flow{Seq: 3, Kind: capture.KindHTTP, Request: &capture.Request{Method: "POST",
		URL: "https://sa.api.intl.miui.com/sa?project=mibrowser", Body: []byte(body)}}
}

func TestMatchersAgainstARealScan(t *testing.T) {
	g := NewWithT(t)
	rep := saReport(t)
	g.Expect(rep).To(Leak(visit))
	g.Expect(&rep).To(Leak(visit, To("sa.api.intl.miui.com"), Via("form:data_list > base64 > gzip > json"), At("body")))
	g.Expect(rep).To(Leak(visit, To("Sensors Analytics")))
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
	messageHas(t, msg,
		`Expected a leak of canary folder1 ("`+folder.Value+`") to sa.api.intl.miui.com, but no finding matched.`,
		"The report has 1 finding(s) in 1 request(s):",
		"url1 -> sa.api.intl.miui.com (Sensors Analytics) [entry 0, POST body] form:data_list > base64 > gzip > json:$[1].properties.url",
		`evidence: t":"browser_visit","properties":{"url":"`+visit.Value+`"}}]`)
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

// A session's places work with the same matchers; the message says how
// often and how late each canary reached its place.
func TestMatchersOnSessionPlaces(t *testing.T) {
	g := NewWithT(t)
	s := leak.NewSession()
	planted := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if err := s.Plant(leak.Planting{Seq: 1, Time: planted}, visit, folder); err != nil {
		t.Fatal(err)
	}
	up := saReportFlow()
	up.Seq, up.Start = 2, planted.Add(17*time.Second)
	retry := up
	retry.Seq, retry.Start = 9, planted.Add(40*time.Second)
	s.Add(up, retry)
	places := s.Places(leak.Query{})
	g.Expect(places).To(Leak(visit, To("sa.api.intl.miui.com"), Via("form:data_list > base64 > gzip > json")))
	g.Expect(places).NotTo(Leak(folder))

	m := Leak(folder)
	if ok, err := m.Match(places); ok || err != nil {
		t.Fatalf("match %v %v", ok, err)
	}
	messageHas(t, m.FailureMessage(places),
		"url1 -> sa.api.intl.miui.com (Sensors Analytics) [entry 0, POST body] form:data_list > base64 > gzip > json:$[1].properties.url",
		"2 request(s), first 17s after its planting at seq 1 (seq 2)",
		`evidence: t":"browser_visit","properties":{"url":"`+visit.Value+`"}}]`)
}

// messageHas fails t for each of wants that msg lacks.
func messageHas(t *testing.T, msg string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(msg, want) {
			t.Errorf("failure message lacks %q:\n%s", want, msg)
		}
	}
}
