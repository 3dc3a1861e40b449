package run_test

import (
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"telltale.dev/harness/bypass"
	"telltale.dev/harness/capture"
	"telltale.dev/reports/run"
	"telltale.dev/reports/runtest"
)

// A phone captured through the proxy setting whose app went around it reads
// "bypassed the proxy" with the app and the remote address wherever it
// would otherwise read "no leak"; a transparent phone's findings name the
// app that sent them. The HTML report and the text matrix say both.
func TestBypassAndAppsInTheReports(t *testing.T) {
	flutter := bypass.Bypass{Proto: "tcp", Remote: "203.0.113.7:443", App: &capture.App{UID: 10187, Package: "com.example.flutter"}, State: "ESTABLISHED"}
	r, err := runtest.Write(t.TempDir(), []runtest.Phone{
		{Serial: "stock", Model: "redmi-note-8", Firmware: runtest.FirmwareFixed, Bypass: []bypass.Bypass{flutter}},
		{Serial: "rooted", Model: "redmi-note-8", Firmware: runtest.FirmwareLeaky, Capture: "transparent"},
	}, runtest.Options{FlowsPerSpec: 4})
	if err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(r.Dir, run.IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	var stock, clean int
	for _, s := range r.Specs {
		if s.Device != "stock" {
			continue
		}
		stock++
		switch v := s.Verdict(); {
		case v == run.NoLeak:
			clean++
		case !s.Leaked() && v != run.Bypassed:
			t.Errorf("#%d %s on the stock phone reads %q", s.ID, s.Key(), v.Text)
		}
	}
	if stock == 0 || clean > 0 {
		t.Errorf("%d of the stock phone's %d specs read \"no leak\" although an app went around the proxy in each", clean, stock)
	}
	for _, want := range []string{
		`class="bypass"`, "<b>bypassed the proxy</b>", "around the proxy: " + html.EscapeString(flutter.String()),
		"sent by <strong>" + runtest.AppSender.String() + "</strong>", "capture: transparent", "capture: proxy",
	} {
		if !strings.Contains(string(page), want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	var text strings.Builder
	if err := r.WriteMatrix(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"bypassed the proxy", flutter.String(), runtest.AppSender.String()} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text matrix lacks %q:\n%s", want, text.String())
		}
	}
}
