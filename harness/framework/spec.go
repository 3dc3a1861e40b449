package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"
	gomegatypes "github.com/onsi/gomega/types"

	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/actions"
	"telltale.dev/harness/attribution"
	"telltale.dev/harness/expect"
	"telltale.dev/harness/leak"
	"telltale.dev/harness/matchers"
	"telltale.dev/reports/run"
)

// ActionTimeout is the decorator that bounds one action spec: the action,
// its window's wait, the flow reads. A lost device ends it sooner: the
// session watches the adb server.
var ActionTimeout = SpecTimeout(3 * time.Minute)

// act is one action spec of the device: its window, what its action was
// expected to do, and its record in findings.json.
type act struct {
	result  *actions.Result
	variant string
	name    string // the spec's full text
	exp     expectation
	// asserted is set by Expect; deferred are the routes of each canary no
	// finding had taken when its window ended, for the sweep to assert;
	// whole is set when Expect left all of it to the sweep (--pipeline).
	asserted bool
	deferred map[string][]matchers.Route
	whole    bool
	// state and failure are the spec's when it ended; id is its record
	// (0 until recorded: a --pipeline window is recorded by the sweep).
	state, failure string
	id             int
}

// expectation is what an action is expected to do under the run's policy,
// worked out before it runs: the switches and settings its known leaks
// depend on are read then.
type expectation struct {
	policy expect.Policy
	// routes are the routes each planted canary must take, exactly.
	routes []matchers.Route
	why    string
	// want is what an action that plants nothing must add to the idle
	// phone's traffic, besides background.
	want, background matchers.Traffic
	// pipeline: the action's window will overlap the later ones', so what
	// else it holds may be theirs.
	pipeline bool
}

func (d *Device) expectation(ctx context.Context, action string) (expectation, error) {
	e := expectation{policy: d.suite.flags.Policy, why: "--policy strict: no action may leak", pipeline: d.suite.flags.Pipeline}
	e.want, e.background = expect.Traffic(d.Firmware(), action)
	if e.policy == expect.Strict {
		e.want = matchers.Traffic{}
		return e, nil
	}
	known, err := expect.Leaks(d.Profile(), d.Firmware(), action, d.state(ctx))
	if err != nil {
		return e, err
	}
	e.routes = expect.Routes(known)
	e.why = fmt.Sprintf("known leaks of %s on %s", d.Profile().DisplayName, d.Firmware().Version)
	for _, kl := range known {
		if kl.Notes != "" {
			e.why += ": " + kl.Notes
		}
	}
	return e, nil
}

// plan is what a window of the action waits for: every canary on every
// route, or for an action that plants none, exactly what it must send.
// Expecting nothing, it waits for the phone's queues to empty (Plan{}).
func (e expectation) plan(cs []canary.Canary) attribution.Plan {
	if len(cs) == 0 {
		if len(e.want.Endpoints)+len(e.want.Events) == 0 {
			return attribution.Plan{}
		}
		return attribution.Plan{Seen: func(v *attribution.View) bool {
			ok, err := e.sends(v.Diff()).Match(v.Diff())
			return ok && err == nil
		}}
	}
	if len(e.routes) == 0 {
		return attribution.Plan{}
	}
	return attribution.Plan{Seen: func(v *attribution.View) bool {
		places := v.Places()
		for _, c := range cs {
			if _, missing := e.split(c, places); len(missing) > 0 {
				return false
			}
		}
		return true
	}}
}

// sends matches what an action that plants nothing must add to the idle
// phone's traffic: exactly its sends besides background, or when its
// window overlaps later ones (--pipeline) at least its sends, since the
// rest of diff may be theirs.
func (e expectation) sends(diff leak.Diff) gomegatypes.GomegaMatcher {
	if !e.pipeline {
		return matchers.SendExactly(e.want, e.background)
	}
	others := matchers.Traffic{
		Endpoints: append(slices.Clone(e.background.Endpoints), diff.Paths...),
		Events:    append(slices.Clone(e.background.Events), diff.Events...),
	}
	return matchers.SendExactly(e.want, others)
}

// split divides the routes into those a place of c took and the rest.
func (e expectation) split(c canary.Canary, places []leak.Place) (taken, missing []matchers.Route) {
	for _, r := range e.routes {
		if slices.ContainsFunc(places, func(p leak.Place) bool { return p.Canary == c.ID && r.Takes(p.Finding) }) {
			taken = append(taken, r)
		} else {
			missing = append(missing, r)
		}
	}
	return taken, missing
}

// Act runs one action of the current spec. Its window waits for what the
// action is expected to send (worked out first, under --policy) and ends
// as soon as it came; the result is recorded in the run directory
// (findings.json, the window's HAR, report entries) when the spec ends,
// with the spec's final state, so the result recorded is the one the spec
// asserted. With --pipeline the window stays open and the sweep spec
// records it. An action that failed fails the spec; a device lost during
// it also skips the device's remaining specs.
func (d *Device) Act(ctx context.Context, action, variant string, do func() (*actions.Result, error)) *actions.Result {
	GinkgoHelper()
	e, err := d.expectation(ctx, action)
	d.Check(err)
	d.tracker.Arm(action, e.plan)
	r, err := do()
	d.flowFailure(err)
	d.tracker.Disarm()
	if r == nil {
		now := time.Now()
		r = &actions.Result{Action: action, Start: now, End: now, Ended: attribution.EndFailed}
	}
	a := &act{result: r, variant: variant, name: CurrentSpecReport().FullText(), exp: e, deferred: map[string][]matchers.Route{}}
	d.acts = append(d.acts, a)
	DeferCleanup(func(ctx SpecContext) { d.ended(ctx, a) }, NodeTimeout(2*time.Minute))
	d.Check(err)
	return r
}

// Expect asserts an action's result under the run's policy. A planted
// canary must take exactly the routes of the firmware's known leaks for the
// action whose condition held when it ran (known-leaks), or none (strict):
// a new host or chain fails as surely as a leak gone, with the decoded
// evidence. A route no finding took by the end of the window (an SDK that
// held its upload past --window-timeout) is left to the sweep spec, which
// sees every late leak; a finding on no route fails at once. An action that
// planted nothing must add exactly what the firmware sends for it
// (known-leaks), or nothing (strict), besides background traffic. With
// --pipeline the sweep spec asserts all of it.
func (d *Device) Expect(ctx context.Context, r *actions.Result) {
	GinkgoHelper()
	a := d.actOf(r)
	a.asserted = true
	if r.Open {
		a.whole = true
		AddReportEntry("expectations", "--pipeline: asserted by the sweep spec once the phone's actions are done")
		return
	}
	e := a.exp
	if len(r.Canaries) == 0 {
		Expect(r.Diff).To(e.sends(r.Diff), "--policy %s, firmware %s: what %s sends", e.policy, d.Firmware().Version, r.Action)
		return
	}
	for _, c := range r.Canaries {
		taken, missing := e.split(c, r.Places)
		if len(missing) > 0 {
			a.deferred[c.ID] = missing
			AddReportEntry("deferred", fmt.Sprintf("%s had not reached %s when its window ended (%s, %s after the action); the sweep spec asserts it",
				c.ID, routeList(missing), r.Ended, r.Settle.Round(time.Millisecond)))
		}
		Expect(r.Report).To(matchers.LeakExactly(c, taken...), e.why)
	}
}

func routeList(rs []matchers.Route) string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	return strings.Join(out, "; ")
}

// actOf is the act Act made for r.
func (d *Device) actOf(r *actions.Result) *act {
	GinkgoHelper()
	for _, a := range d.acts {
		if a.result == r {
			return a
		}
	}
	Fail("Expect needs the result of Act: run the action through d.Act")
	return nil
}

// state reads what known leaks' conditions name: settings over adb, and
// the profile's in-app switches as the app's screen shows them.
func (d *Device) state(ctx context.Context) expect.State {
	return expect.State{
		Setting: func(ns, key string) (string, bool, error) {
			v, err := d.session.Setting(ctx, ns, key)
			if err != nil || v == nil {
				return "", false, err
			}
			return *v, true, nil
		},
		Switch: func(name string) (bool, error) { return actions.Switch(ctx, d.session, name) },
	}
}

// ended keeps the spec's final state for its act and records it, unless
// its window is still open (--pipeline), which the sweep records.
func (d *Device) ended(ctx context.Context, a *act) {
	rep := CurrentSpecReport()
	a.state, a.failure = run.StatePassed, rep.FailureMessage()
	if rep.Failed() {
		a.state = run.StateFailed
	} else if rep.State == types.SpecStateSkipped {
		a.state = run.StateSkipped
	}
	if a.result.Open {
		AddReportEntry("window", fmt.Sprintf("%s: open until the sweep (--pipeline); acted in %s", a.result.Window,
			a.result.Acted.Sub(a.result.Start).Round(time.Millisecond)))
		return
	}
	Expect(d.record(ctx, a, nil)).To(Succeed())
}

// record stores an act in the run directory (findings.json with its
// window's places and the late ones, and the window's HAR) and attaches
// report entries; on failure it also keeps the device's logcat and a
// screenshot.
func (d *Device) record(ctx context.Context, a *act, late []leak.Place) error {
	r := a.result
	w := d.suite.writer
	stored, err := w.RecordSpec(run.SpecResult{
		Name: a.name, Device: d.session.Lease().Serial, Action: r.Action, Variant: a.variant,
		Canaries: r.Canaries, Findings: append(run.AsFindings(r.Places, false), run.AsFindings(late, true)...),
		Capped: r.Report.Capped, Diff: r.Diff, Bypassed: r.Bypassed,
		Window: run.Window{StartSeq: r.StartSeq, EndSeq: r.EndSeq, Start: r.Start, End: r.End, Acted: r.Acted, Ended: r.Ended},
		State:  a.state, Failure: a.failure, Start: r.Start, End: r.End,
	}, r.Flows)
	if err != nil {
		return fmt.Errorf("recording the spec %q in %s: %w", a.name, w.Dir(), err)
	}
	a.id = stored.ID
	AddReportEntry("findings", findingsText(r))
	if stored.HAR != "" {
		AddReportEntry("har", filepath.Join(w.Dir(), stored.HAR))
	}
	if len(r.Diff.Hosts)+len(r.Diff.Events) > 0 {
		if b, err := json.Marshal(r.Diff); err == nil {
			AddReportEntry("differential", string(b))
		}
	}
	for _, b := range r.Bypassed {
		AddReportEntry("bypassed the proxy", b.String())
	}
	if r.Unwatched != "" {
		AddReportEntry("sockets not watched", r.Unwatched)
	}
	AddReportEntry("timing", fmt.Sprintf("window %s (ended: %s), waited %s, overhead %s",
		r.End.Sub(r.Start).Round(time.Millisecond), r.Ended, r.Settle.Round(time.Millisecond), r.Overhead().Round(time.Millisecond)))
	if a.state == run.StateFailed && d.lost == nil {
		d.keepEvidence(ctx, stored)
	}
	return nil
}

// Title says what a spec expects, from the firmware's profile: "leaks the
// URL to sa.api.intl.miui.com (form:data_list > base64 > gzip > json)",
// "does not leak the URL", or for an action that plants nothing (what is
// "") "sends data.mistat.intl.xiaomi.com/mistats/v3 (screen_lock)".
func (d *Device) Title(action, what string) string {
	fw := d.Firmware()
	var parts []string
	if what == "" {
		want, _ := expect.Traffic(fw, action)
		if len(want.Endpoints) == 0 {
			return "sends nothing new"
		}
		return fmt.Sprintf("sends %s (%s)", strings.Join(want.Endpoints, ", "), strings.Join(want.Events, ", "))
	}
	for _, kl := range fw.KnownLeaks {
		if kl.Action != action {
			continue
		}
		t := matchers.Route{Host: kl.Host, Via: kl.Via}.String()
		if kl.When != "" {
			t += " when " + kl.When
		}
		parts = append(parts, t)
	}
	if len(parts) == 0 {
		return "does not leak " + what
	}
	return "leaks " + what + " to " + strings.Join(parts, ", ")
}

func findingsText(r *actions.Result) string {
	if len(r.Places) == 0 {
		return fmt.Sprintf("%s: no canary found in %d flows", r.Action, len(r.Flows))
	}
	var b strings.Builder
	for _, p := range r.Places {
		fmt.Fprintf(&b, "%s -> %s %s via %s (%d request(s), first %s after the action began): %s\n", p.Canary, p.Method, p.Host,
			strings.Join(p.Chain, " > "), p.Requests, p.Delay.Round(time.Millisecond), p.Evidence)
	}
	return b.String()
}

// keepEvidence saves logcat and a screenshot of a failed spec next to its
// record, and says in the report when either could not be had.
func (d *Device) keepEvidence(ctx context.Context, spec run.SpecResult) {
	for _, e := range []struct{ name, cmd, ext string }{
		{"logcat", "logcat -d", "-logcat.txt"},
		{"screenshot", "screencap -p", "-screen.png"},
	} {
		out, err := d.session.Shell(ctx, e.cmd)
		if err == nil && e.name == "screenshot" && !strings.HasPrefix(out, "\x89PNG") {
			err = fmt.Errorf("screencap did not give a PNG (%d bytes)", len(out))
		}
		if err == nil {
			path := d.suite.writer.EvidencePath(spec, e.ext)
			if err = os.WriteFile(path, []byte(out), 0o644); err == nil {
				AddReportEntry(e.name, path)
				continue
			}
		}
		AddReportEntry(e.name, "not kept: "+err.Error())
	}
}
