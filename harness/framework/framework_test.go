package framework

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"

	"telltale.dev/devices/profiles"
	"telltale.dev/harness/expect"
	"telltale.dev/reports/run"
)

// TestForwardPassesWhatTheUserSet: `telltale run` registers the suite's
// flags and forwards exactly those set, with their checked values; a bad
// policy is refused at parse time.
func TestForwardPassesWhatTheUserSet(t *testing.T) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var f Flags
	f.Register(fs)
	fs.Int("p", 1, "not a suite flag")
	if err := fs.Parse([]string{"--devices=sim:mi-9t", "--policy=strict", "--settle=1500ms", "-p", "3"}); err != nil {
		t.Fatal(err)
	}
	if got, want := Forward(fs), []string{"--devices=sim:mi-9t", "--policy=strict", "--settle=1.5s"}; !slices.Equal(got, want) {
		t.Errorf("Forward = %q, want %q", got, want)
	}
	if f.Policy != expect.Strict || f.Devices != "sim:mi-9t" {
		t.Errorf("parsed %+v", f)
	}
	var g Flags
	bad := flag.NewFlagSet("run", flag.ContinueOnError)
	bad.SetOutput(new(strings.Builder))
	g.Register(bad)
	if err := bad.Parse([]string{"--policy=lenient"}); err == nil || !strings.Contains(err.Error(), "known-leaks") {
		t.Errorf("--policy=lenient: %v", err)
	}
	if g.Policy != expect.KnownLeaks {
		t.Errorf("default policy %q", g.Policy)
	}
}

func TestPlanSimulatedPhones(t *testing.T) {
	t.Setenv("TELLTALE_ADB", "")
	t.Setenv(profiles.EnvDir, "")
	f := Flags{Devices: "sim:redmi-note-8@V12.0.2.0, sim:mi-9t", Firmware: "V12.5.1.0"}
	slots, err := f.plan(t.Context(), new(strings.Builder))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range slots {
		got = append(got, s.title())
	}
	if want := []string{"Redmi Note 8 V12.0.2.0.QCOMIXM (sim 1)", "Mi 9T V12.5.1.0.RFJMIXM (sim 2)"}; !slices.Equal(got, want) {
		t.Errorf("slots %q, want %q", got, want)
	}
	if sims := (Flags{}).sims(); !slices.Equal(sims, []string{"redmi-note-8"}) {
		t.Errorf("no flags: %q, want the default simulated phone", sims)
	}
	for _, bad := range []Flags{{Devices: "sim:nokia-3310"}, {Devices: "sim:redmi-note-8@V99"}, {Devices: "emulator-(", ADB: "127.0.0.1:1"}} {
		if _, err := bad.plan(t.Context(), new(strings.Builder)); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// TestOutcomeSaysWhy: a run that did not pass is closed with the reason.
func TestOutcomeSaysWhy(t *testing.T) {
	it := func(state types.SpecState) types.SpecReport {
		return types.SpecReport{LeafNodeType: types.NodeTypeIt, State: state}
	}
	for _, c := range []struct {
		name           string
		r              types.Report
		status, reason string
	}{
		{"passed", types.Report{SuiteSucceeded: true, SpecReports: []types.SpecReport{it(types.SpecStatePassed)}}, run.StatusPassed, ""},
		{"specs failed", types.Report{SpecReports: []types.SpecReport{it(types.SpecStateFailed), it(types.SpecStateFailed), it(types.SpecStatePassed)}},
			run.StatusFailed, "2 spec(s) failed"},
		{"set-up failed", types.Report{SpecReports: []types.SpecReport{{LeafNodeType: types.NodeTypeSynchronizedBeforeSuite, State: types.SpecStateFailed,
			Failure: types.Failure{Message: "preparing the run: no Docker engine\nmore"}}}},
			run.StatusFailed, "SynchronizedBeforeSuite failed: preparing the run: no Docker engine"},
		{"interrupted", types.Report{SpecialSuiteFailureReasons: []string{"Interrupted by User"}, SpecReports: []types.SpecReport{it(types.SpecStateInterrupted)}},
			run.StatusInterrupted, "Interrupted by User"},
	} {
		status, reason := outcome(c.r)
		if status != c.status || reason != c.reason {
			t.Errorf("%s: %q %q, want %q %q", c.name, status, reason, c.status, c.reason)
		}
	}
}

// TestFinishReportsAReportItCouldNotWrite: a junit.xml that cannot be
// written fails the run, says so in run.json, and the rest is still written.
func TestFinishReportsAReportItCouldNotWrite(t *testing.T) {
	dir := t.TempDir()
	if _, err := run.Create(dir, run.Manifest{}); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "junit.xml"), 0o755); err != nil { // a directory cannot be written as a file
		t.Fatal(err)
	}
	s := &suite{runDir: dir}
	s.finish(types.Report{SuiteSucceeded: true, SpecReports: []types.SpecReport{{LeafNodeType: types.NodeTypeIt, State: types.SpecStatePassed}}})
	r, err := run.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Manifest.Status != run.StatusFailed || !strings.Contains(r.Manifest.Reason, "writing junit.xml") {
		t.Errorf("run.json: status %q, reason %q", r.Manifest.Status, r.Manifest.Reason)
	}
	if _, err := os.Stat(filepath.Join(dir, "report.json")); err != nil {
		t.Errorf("report.json not written: %v", err)
	}
}
