package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/sim/sdk/groundtruth"
	"telltale.dev/harness/attribution"
	"telltale.dev/harness/framework"
	"telltale.dev/reports/run"
)

// These tests run the suite on a simulated phone whose SDKs batch as real
// ones do (Sensors Analytics uploads 15 s after the first queued event),
// through the global proxy setting (--capture=proxy: the simulated SDKs
// reach the network only through it).

// TestLateLeakIsReportedAgainstItsAction: a window that gives up before
// the SDK uploads (--window-timeout 3s against its 15 s) does not lose the
// leak: the sweep waits for the phone's queues, finds the canary, and the
// run reports it against the incognito visit that planted it, flagged
// late, with its delay, in findings.json, the matrix and the HTML report;
// the run passes, since the leak is the known one.
func TestLateLeakIsReportedAgainstItsAction(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	code, out := runSuite(t, ctx, "--devices=sim:redmi-note-8@V11.0.3.0", "--in-process-proxy", "--capture=proxy",
		"--window-timeout=3s", "--label-filter=browse-incognito", "--out="+dir)
	if code != 0 {
		t.Fatalf("telltale run exited %d:\n%s", code, tail(out, 80))
	}
	r, err := run.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var visit *run.SpecResult
	for i, s := range r.Specs {
		if s.Key() == "browse-incognito" {
			visit = &r.Specs[i]
		}
	}
	if visit == nil {
		t.Fatalf("no browse-incognito spec in %s", dir)
	}
	if visit.Window.Ended != attribution.EndTimeout || len(visit.Findings) != 1 || visit.State != run.StatePassed {
		t.Fatalf("browse-incognito: window ended %q, %d findings, %s %s; want a timeout, one late place, passed",
			visit.Window.Ended, len(visit.Findings), visit.State, visit.Failure)
	}
	f := visit.Findings[0]
	if !f.Late || f.Canary != visit.Canaries[0].ID || f.Host != "sa.api.intl.miui.com" || f.Seq <= visit.Window.EndSeq ||
		f.Delay < 3*time.Second || f.Delay > time.Minute || f.Planted.Seq != visit.Window.StartSeq {
		t.Fatalf("the late place: %+v (window %d-%d)", f, visit.Window.StartSeq, visit.Window.EndSeq)
	}
	if v := visit.Verdict(); v != run.LeakedLate {
		t.Errorf("verdict %q, want %q", v.Text, run.LeakedLate.Text)
	}
	var matrix bytes.Buffer
	if err := r.WriteMatrix(&matrix); err != nil {
		t.Fatal(err)
	}
	if line := lineWith(matrix.String(), "browse-incognito"); !strings.Contains(line, "LEAKED late") || !strings.Contains(line, f.Delay.Round(100*time.Millisecond).String()) {
		t.Errorf("matrix line %q lacks the late flag and the delay %s", line, f.Delay)
	}
	html, err := os.ReadFile(filepath.Join(dir, run.IndexFile))
	if err != nil || !bytes.Contains(html, []byte(`class="late"`)) || !bytes.Contains(html, []byte("<b>LEAKED late</b>")) {
		t.Errorf("index.html lacks the late flag (%v)", err)
	}
	checkTruth(t, dir, 1)
}

// TestInterruptMidActionLeavesNothingOnThePhone: Ctrl-C while an incognito
// visit's Sensors Analytics event waits in the SDK's queue. Before the
// phone is put back (its proxy setting removed), the clean-up sweeps: it
// waits until the queue has drained, so the ground truth shows the event
// sent through the proxy before teardown, not left to leave afterwards.
func TestInterruptMidActionLeavesNothingOnThePhone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	runCtx, interrupt := context.WithCancel(ctx)
	queued := make(chan string, 1)
	go func() {
		for runCtx.Err() == nil {
			if ev := queuedCanaryEvent(dir); ev != "" {
				queued <- ev
				interrupt() // as main's signal.NotifyContext does on Ctrl-C
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	code, out := runSuite(t, runCtx, "--devices=sim:redmi-note-8@V11.0.3.0", "--in-process-proxy", "--capture=proxy",
		"--label-filter=browse-incognito || search", "--out="+dir)
	var ev string
	select {
	case ev = <-queued:
	default:
		t.Fatalf("no event with a canary was ever queued; exit %d:\n%s", code, tail(out, 60))
	}
	interrupted(t, dir, code, out)
	c := checkTruth(t, dir, 1)
	t.Logf("interrupted while %s was queued; %s", ev, c)
}

// queuedCanaryEvent is the id of an event in the run's ground truth that
// carries a canary the run planted and is still queued, or "".
func queuedCanaryEvent(dir string) string {
	planted, _ := filepath.Glob(filepath.Join(dir, run.DevicesDir, "*", attribution.PlantedFile))
	var values []string
	for _, p := range planted {
		ps, _ := attribution.ReadPlanted(p)
		for _, w := range ps {
			for _, c := range w.Canaries {
				values = append(values, c.Value)
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, run.LogsDir, "sim-1-truth.jsonl"))
	if err != nil || len(values) == 0 {
		return ""
	}
	recs, err := groundtruth.Parse(bytes.NewReader(b[:bytes.LastIndexByte(b, '\n')+1]))
	if err != nil {
		return ""
	}
	for _, rec := range groundtruth.Latest(recs) {
		for _, v := range rec.Values {
			for _, c := range values {
				if rec.State == groundtruth.Queued && strings.Contains(v, c) {
					return rec.ID + " (" + rec.Event + ")"
				}
			}
		}
	}
	return ""
}

// checkTruth reads the run's ground-truth check: at least min events with
// a planted canary, every one sent through the proxy before teardown.
func checkTruth(t *testing.T, dir string, min int) framework.TruthCheck {
	t.Helper()
	c, ok, err := framework.ReadTruthCheck(dir)
	if err != nil || !ok {
		t.Fatalf("the run's ground-truth check: %v (written: %v)", err, ok)
	}
	if c.Events < min || c.Sent != c.Events || len(c.Problems) > 0 {
		t.Errorf("ground truth: %s", c)
	}
	return c
}

func lineWith(text, word string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, " "+word+" ") {
			return l
		}
	}
	return ""
}

// matrixRows is a run's leak matrix as a comparison sees it: per action,
// the verdict, and for one that plants canaries where they went and by
// which chains. The delay and what an action without a canary added to
// its window are left out: they depend on how the windows were laid out.
func matrixRows(r *run.Run) map[string]string {
	rows := map[string]string{}
	for _, s := range r.Specs {
		row := s.Verdict().Text
		if len(s.Canaries) > 0 {
			row += " " + strings.Join(s.LeakHosts(), ",") + " " + strings.Join(s.Chains(), "; ")
		}
		rows[s.Key()] = row
	}
	return rows
}
