package run_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"telltale.dev/reports/run"
	"telltale.dev/reports/runtest"
)

// chromiumPath is Debian's headless-capable Chromium.
const chromiumPath = "/usr/bin/chromium"

// artifactDir is where the screenshot is kept: $TELLTALE_ARTIFACTS, or
// reports/testdata/out (git-ignored).
func artifactDir(t *testing.T) string {
	dir := os.Getenv("TELLTALE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "testdata", "out")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifact dir: %v", err)
	}
	return dir
}

func demoRun(t *testing.T) *run.Run {
	t.Helper()
	r, err := runtest.Write(t.TempDir(), []runtest.Phone{
		{Serial: "ginkgo-v11", Model: "redmi-note-8", Firmware: runtest.FirmwareLeaky},
		{Serial: "ginkgo-v12", Model: "redmi-note-8", Firmware: runtest.FirmwareFixed},
		{Serial: "ginkgo-v125", Model: "redmi-note-8", Firmware: runtest.FirmwareLater, NotDecrypted: []string{runtest.HostSec}},
		{Serial: "emulator-5554", Model: "aosp-emulator", Firmware: runtest.FirmwareAOSP},
	}, runtest.Options{FlowsPerSpec: 40})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestReportInBrowser opens index.html in real headless Chromium and checks
// what a person sees: the matrix cells, a finding's chain, the highlighted
// evidence; it keeps a screenshot as an artifact.
func TestReportInBrowser(t *testing.T) {
	if _, err := exec.LookPath(chromiumPath); err != nil {
		t.Fatalf("the browser test needs Debian's chromium at %s (apt-get install chromium): %v", chromiumPath, err)
	}
	r := demoRun(t)
	index, err := filepath.Abs(filepath.Join(r.Dir, run.IndexFile))
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath), chromedp.NoSandbox, chromedp.Headless,
		chromedp.DisableGPU, chromedp.WindowSize(1200, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()

	if err := chromedp.Do(bctx, chromedp.Navigate("file://"+index), chromedp.WaitVisible(chromedp.CSS("table.matrix"))); err != nil {
		t.Fatalf("chromium could not open the report: %v", err)
	}
	how := run1(t, bctx, chromedp.Text(chromedp.ID("how")))
	matrix := run1(t, bctx, chromedp.Evaluate[[][]string](`Array.from(document.querySelectorAll('table.matrix tr')).map(tr => Array.from(tr.children).map(c => c.innerText.replace(/\s+/g, ' ').trim()))`))
	chain := run1(t, bctx, chromedp.Evaluate[[]string](`Array.from(document.querySelector('details[open] .finding').querySelectorAll('ol.chain li')).map(li => li.innerText)`))
	marked := run1(t, bctx, chromedp.Evaluate[string](`document.querySelector('.finding mark').innerText`))
	markVisible := run1(t, bctx, chromedp.Evaluate[bool](`(() => { const m = document.querySelector('.finding mark'); m.scrollIntoView(); const b = m.getBoundingClientRect(); return b.width > 0 && b.height > 0 && getComputedStyle(m).visibility === 'visible'; })()`))
	markBG := run1(t, bctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('.finding mark')).backgroundColor`))
	timelines := run1(t, bctx, chromedp.Evaluate[int](`document.querySelectorAll('svg rect').length`))
	folded := run1(t, bctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('details:not([open]) summary')).map(s => s.innerText)`))
	external := run1(t, bctx, chromedp.Evaluate[int](`document.querySelectorAll('script, link, iframe, img, [src]').length`))
	harHref := run1(t, bctx, chromedp.Evaluate[string](`document.querySelector('a[href$=".har"]').href`))
	lockRow := run1(t, bctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll('table.diff tr')).map(tr => tr.innerText).find(t => t.includes('lock-screen')) || ''`))
	png := run1(t, bctx, chromedp.FullScreenshot(100))
	shot := filepath.Join(artifactDir(t), "report.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", shot)

	if !strings.Contains(how, "How to read this") {
		t.Errorf("no 'how to read this' line, got %q", how)
	}
	col := map[string]int{}
	for i, h := range matrix[0] {
		for _, fw := range []string{runtest.FirmwareLeaky, runtest.FirmwareFixed, runtest.FirmwareLater, runtest.FirmwareAOSP} {
			if strings.Contains(h, fw) {
				col[fw] = i
			}
		}
	}
	cellOf := func(key, fw string) string {
		for _, row := range matrix[1:] {
			if row[0] == key {
				return row[col[fw]]
			}
		}
		t.Fatalf("matrix has no row %q; rows: %v", key, matrix)
		return ""
	}
	for _, c := range []struct{ key, fw, want string }{
		{"browse-incognito", runtest.FirmwareLeaky, "LEAKED to sa.api.intl.miui.com"},
		{"browse-incognito [aggregated switch off]", runtest.FirmwareLeaky, "not run"},
		{"browse-incognito [aggregated switch on]", runtest.FirmwareFixed, "LEAKED to sa.api.intl.miui.com"},
		{"browse-incognito [aggregated switch off]", runtest.FirmwareFixed, "no leak"},
		{"connect-wifi", runtest.FirmwareFixed, "no leak"},
		{"connect-wifi", runtest.FirmwareLater, "LEAKED to tracking.intl.miui.com"},
		{"install-app", runtest.FirmwareLater, "not decrypted api.sec.intl.miui.com"},
		{"lock-screen", runtest.FirmwareLeaky, "no leak"},
		{"charge", runtest.FirmwareAOSP, "no leak"},
	} {
		if got := cellOf(c.key, c.fw); got != c.want {
			t.Errorf("matrix cell %s / %s reads %q, want %q", c.key, c.fw, got, c.want)
		}
	}
	wantChain := []string{"body", "form:data_list", "base64", "gzip", "json:$[0].properties.url", "found the canary"}
	if len(chain) != len(wantChain) {
		t.Fatalf("first finding's chain shows %d steps %q, want %d", len(chain), chain, len(wantChain))
	}
	for i, w := range wantChain {
		if !strings.HasPrefix(chain[i], w) {
			t.Errorf("chain step %d reads %q, want it to start with %q", i+1, chain[i], w)
		}
	}
	if marked != "https://tt-0-0.example/private" {
		t.Errorf("highlighted evidence is %q, want the browse-incognito canary URL", marked)
	}
	if !markVisible || markBG == "rgba(0, 0, 0, 0)" || markBG == "" {
		t.Errorf("highlighted evidence not visibly marked: visible %v background %q", markVisible, markBG)
	}
	// The fixed firmware's browse-incognito leak repeats the leaky one's:
	// it is folded, and says which spec it repeats.
	if len(folded) == 0 || !strings.Contains(strings.Join(folded, "\n"), "browse-incognito on Redmi Note 8 V12.0.2.0.QCOMIXM (ginkgo-v12 · flows (HAR)) · same leak as #1") {
		t.Errorf("folded repeats: %q", folded)
	}
	if external != 0 {
		t.Errorf("report has %d script/link/img/src elements; it must be self-contained", external)
	}
	if _, err := os.Stat(strings.TrimPrefix(harHref, "file://")); err != nil {
		t.Errorf("HAR link %s does not open: %v", harHref, err)
	}
	if !strings.Contains(lockRow, "screen_lock") || !strings.Contains(lockRow, "data.mistat.intl.xiaomi.com") {
		t.Errorf("differential view for lock-screen reads %q, want the screen_lock event to data.mistat", lockRow)
	}
	if timelines != len(r.Specs) {
		t.Errorf("timelines draw %d windows, want one per spec (%d)", timelines, len(r.Specs))
	}
}

// run1 runs one browser action and fails the test on error.
func run1[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	return v
}
