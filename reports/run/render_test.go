package run_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/capture"
	"telltale.dev/harness/leak"
	"telltale.dev/reports/run"
)

// Evidence and URLs come from the device's traffic: the report must show
// them as text, never as markup, and must render a run that never finished.
func TestRenderEscapesTrafficAndShowsUnfinishedRuns(t *testing.T) {
	dir := t.TempDir()
	w, err := run.Create(dir, run.Manifest{Harness: run.Harness{Version: "t"}})
	if err != nil {
		t.Fatal(err)
	}
	c := canary.Canary{ID: "u", Value: `<img src=x onerror=alert(1)>`}
	_, err = w.RecordSpec(run.SpecResult{
		Device: "d1", Action: "browse-incognito", Canaries: []canary.Canary{c},
		Findings: []run.Finding{{Place: leak.Place{Finding: leak.Finding{Canary: "u", Host: "evil.example", URL: `https://evil.example/"><script>alert(2)</script>`,
			Where: "body", Chain: []string{"base64"}, Evidence: `{"url":"` + c.Value + `"}`}}}},
	}, []capture.Flow{{Seq: 1, Kind: capture.KindHTTP, Start: time.Now(), Request: &capture.Request{URL: "https://evil.example/"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Render(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, run.IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, bad := range []string{"<script>", "<img src=x"} {
		if strings.Contains(html, bad) {
			t.Errorf("report contains raw %q from traffic", bad)
		}
	}
	if !strings.Contains(html, "<mark>&lt;img src=x onerror=alert(1)&gt;</mark>") {
		t.Error("escaped canary not highlighted in the evidence")
	}
	if !strings.Contains(html, "did not finish") || !strings.Contains(html, `class="status running"`) {
		t.Error("an unfinished run is not shown as such")
	}
}
