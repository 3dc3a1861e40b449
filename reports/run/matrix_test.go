package run_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"telltale.dev/harness/bypass"
	"telltale.dev/harness/capture"
	"telltale.dev/harness/leak"
	"telltale.dev/reports/run"
)

func TestWriteMatrix(t *testing.T) {
	r := &run.Run{
		Manifest: run.Manifest{Devices: []run.Device{{Serial: "s1", Model: "redmi-note-8", Firmware: "V11.0.3.0.PCOMIXM"}}},
		Specs: []run.SpecResult{
			{Device: "s1", Action: "search", State: run.StatePassed, Findings: []run.Finding{
				{Place: leak.Place{Finding: leak.Finding{Canary: "q", Host: "sa.api.intl.miui.com", Chain: []string{"form:data_list", "base64", "gzip", "json:$[0].properties.search_word"},
					App: &capture.App{UID: 10070, Package: "com.mi.globalbrowser"}}, Delay: 1200 * time.Millisecond}},
				{Place: leak.Place{Finding: leak.Finding{Canary: "q", Host: "sa.api.intl.miui.com", Chain: []string{"form:data_list", "base64", "gzip", "json:$[0].properties.url", "percent"}}, Delay: 1300 * time.Millisecond}},
			}},
			{Device: "s1", Action: "create-folder", State: run.StatePassed, Findings: []run.Finding{
				{Place: leak.Place{Finding: leak.Finding{Canary: "f", Host: "sa.api.intl.miui.com", Chain: []string{"form:data_list", "base64", "gzip", "json:$[0].properties.folder"}}, Delay: 17140 * time.Millisecond}, Late: true},
			}},
			{Device: "s1", Action: "browse-incognito", Variant: "aggregated switch off", State: run.StatePassed},
			{Device: "s1", Action: "lock-screen", State: run.StatePassed, Diff: leak.Diff{Hosts: []string{"data.mistat.intl.xiaomi.com"}}},
			{Device: "s1", Action: "open-app", State: run.StateFailed, TLSFailures: []run.TLSFailure{{SNI: "tracking.intl.miui.com"}}},
			{Device: "s1", Action: "charge", State: run.StatePassed, TLSFailures: []run.TLSFailure{{SNI: "tracking.intl.miui.com"}}},
			{Device: "s1", Action: "open-app", Variant: "flutter", State: run.StatePassed, TLSFailures: []run.TLSFailure{{SNI: "tracking.intl.miui.com"}},
				Bypassed: []bypass.Bypass{{Proto: "tcp", Remote: "203.0.113.7:443", App: &capture.App{UID: 10187, Package: "com.example.flutter"}, State: "ESTABLISHED"}}},
		},
	}
	var b bytes.Buffer
	if err := r.WriteMatrix(&b); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(strings.Fields(b.String()), " ") // column widths aside
	for _, want := range []string{
		"redmi-note-8 V11.0.3.0.PCOMIXM search LEAKED sa.api.intl.miui.com form:data_list > base64 > gzip > json; form:data_list > base64 > gzip > json > percent com.mi.globalbrowser (uid 10070) 1.3s passed",
		"create-folder LEAKED late sa.api.intl.miui.com form:data_list > base64 > gzip > json - 17.1s passed",
		"browse-incognito [aggregated switch off] no leak - - - - passed",
		"lock-screen no leak new: data.mistat.intl.xiaomi.com - - - passed",
		"open-app spec failed not readable: tracking.intl.miui.com - - - failed",
		"charge not decrypted not readable: tracking.intl.miui.com - - - passed",
		// Never "no leak" (nor merely "not decrypted") where connections went around the proxy.
		"open-app [flutter] bypassed the proxy around the proxy: com.example.flutter (uid 10187) -> 203.0.113.7:443/tcp - - - passed",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("matrix lacks %q:\n%s", want, b.String())
		}
	}
}

// The HTML report and the text matrix word and rank each spec the same way.
func TestHTMLAndTextMatrixAgree(t *testing.T) {
	r := demoRun(t)
	var text bytes.Buffer
	if err := r.WriteMatrix(&text); err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(filepath.Join(r.Dir, run.IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[run.Verdict]bool{}
	for _, s := range r.Specs {
		v := s.Verdict()
		seen[v] = true
		if !strings.Contains(text.String(), " "+v.Text+" ") {
			t.Errorf("text matrix lacks %q for #%d %s", v.Text, s.ID, s.Key())
		}
		if !strings.Contains(string(html), `class="`+v.Class+`"`) || !strings.Contains(string(html), "<b>"+v.Text+"</b>") {
			t.Errorf("HTML lacks a %s cell reading %q", v.Class, v.Text)
		}
	}
	if !seen[run.Leaked] || !seen[run.NoLeak] || !seen[run.NotDecrypted] {
		t.Errorf("the demo run covers only %v", seen)
	}
}
