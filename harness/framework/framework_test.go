package framework

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim/sdk/groundtruth"
	"telltale.dev/fixtures/canary"
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
	if err := fs.Parse([]string{"--devices=sim:mi-9t", "--policy=strict", "--pipeline", "--window-timeout=20s", "-p", "3"}); err != nil {
		t.Fatal(err)
	}
	if got, want := Forward(fs), []string{"--devices=sim:mi-9t", "--pipeline=true", "--policy=strict", "--window-timeout=20s"}; !slices.Equal(got, want) {
		t.Errorf("Forward = %q, want %q", got, want)
	}
	if f.Policy != expect.Strict || f.Devices != "sim:mi-9t" || !f.Pipeline || f.WindowTimeout != 20*time.Second || f.Settle != 0 {
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

// TestGroundTruthCheck: an event that carried a planted canary passes when
// the phone sent it before its teardown, and is a problem when it was sent
// after, or was still queued or failing when the phone stopped; events
// without a canary, or with a number that only contains a number canary,
// do not count.
func TestGroundTruthCheck(t *testing.T) {
	teardown := time.Date(2020, 4, 30, 12, 1, 0, 0, time.UTC)
	at := func(s int) time.Time { return teardown.Add(time.Duration(s) * time.Second) }
	url := canary.Canary{ID: "url-1-1", Value: "https://canary.example/a1"}
	level := canary.Canary{ID: "level-1-2", Value: "71", Kind: canary.KindNumber}
	ev := func(id, state string, s int, values map[string]string) groundtruth.Record {
		return groundtruth.Record{ID: id, State: state, Time: at(s), SDK: "sensors-analytics", Event: "browser_visit", Values: values, Reason: map[bool]string{true: "no-proxy"}[state == groundtruth.Failed]}
	}
	recs := []groundtruth.Record{
		ev("ev1", groundtruth.Queued, -40, map[string]string{"url": url.Value + "?q=1"}),
		ev("ev1", groundtruth.Sent, -25, map[string]string{"url": url.Value + "?q=1"}),
		ev("ev2", groundtruth.Queued, -20, map[string]string{"level": "171"}), // not the canary 71
		ev("ev3", groundtruth.Queued, -10, map[string]string{"level": "71"}),
		ev("ev3", groundtruth.Failed, 5, map[string]string{"level": "71"}),
		ev("ev4", groundtruth.Queued, -5, map[string]string{"url": url.Value}),
		ev("ev4", groundtruth.Sent, 3, map[string]string{"url": url.Value}),
		ev("ev5", groundtruth.Queued, -30, map[string]string{"event": "$AppEnd"}),
	}
	var c TruthCheck
	c.add("sim-1", teardown, []canary.Canary{url, level}, recs)
	if c.Events != 3 || c.Sent != 1 || c.Margin != 25*time.Second || len(c.Problems) != 2 {
		t.Fatalf("check %+v: want 3 events, 1 sent 25s before teardown, 2 problems", c)
	}
	for i, want := range []string{"ev3 (browser_visit, canary level-1-2): still failed on the phone", "ev4 (browser_visit, canary url-1-1): sent 3s after teardown"} {
		if !strings.Contains(c.Problems[i], want) {
			t.Errorf("problem %d %q lacks %q", i, c.Problems[i], want)
		}
	}
	if s := c.String(); !strings.Contains(s, "2 of 3 event(s)") {
		t.Errorf("summary %q", s)
	}
	var ok TruthCheck
	ok.add("sim-1", teardown, []canary.Canary{url}, recs[:2])
	if s := ok.String(); len(ok.Problems) != 0 || s != "ground truth: 1 event(s) carried a planted canary; all were sent through the proxy before teardown (the last 25s before it)" {
		t.Errorf("a clean run reads %q (%v)", s, ok.Problems)
	}
}
