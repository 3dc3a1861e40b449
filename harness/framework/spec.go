package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"

	"telltale.dev/harness/actions"
	"telltale.dev/harness/expect"
	"telltale.dev/harness/matchers"
	"telltale.dev/reports/run"
)

// ActionTimeout is the decorator that bounds one action spec: the action,
// its settle window, the flow read. A lost device ends it sooner: the
// session watches the adb server.
var ActionTimeout = SpecTimeout(3 * time.Minute)

// Act runs one action of the current spec. Its result is recorded in the
// run directory (findings.json, the window's HAR, report entries) when the
// spec ends, with the spec's final state: the result recorded is the one the
// spec asserted. An action that failed fails the spec; a device lost during
// it also skips the device's remaining specs.
func (d *Device) Act(action, variant string, do func() (*actions.Result, error)) *actions.Result {
	GinkgoHelper()
	r, err := do()
	if r == nil {
		now := time.Now()
		r = &actions.Result{Action: action, Start: now, End: now}
	}
	DeferCleanup(func(ctx SpecContext) { d.record(ctx, r, variant) }, NodeTimeout(2*time.Minute))
	d.Check(err)
	return r
}

// Expect asserts an action's result under the run's policy. A planted
// canary must take exactly the routes of the firmware's known leaks for the
// action whose condition holds now (known-leaks), or none (strict): a new
// host or chain fails as surely as a leak gone, with the decoded evidence.
// An action that planted nothing must add exactly what the firmware sends
// for it (known-leaks), or nothing (strict), besides background traffic.
func (d *Device) Expect(ctx context.Context, r *actions.Result) {
	GinkgoHelper()
	policy := d.suite.flags.Policy
	if len(r.Canaries) == 0 {
		want, background := expect.Traffic(d.Firmware(), r.Action)
		if policy == expect.Strict {
			want = matchers.Traffic{}
		}
		Expect(r.Diff).To(matchers.SendExactly(want, background), "--policy %s, firmware %s: what %s sends", policy, d.Firmware().Version, r.Action)
		return
	}
	why := "--policy strict: no action may leak"
	var routes []matchers.Route
	if policy == expect.KnownLeaks {
		known, err := expect.Leaks(d.Profile(), d.Firmware(), r.Action, d.setting(ctx))
		Expect(err).NotTo(HaveOccurred())
		routes = expect.Routes(known)
		why = fmt.Sprintf("known leaks of %s on %s", d.Profile().DisplayName, d.Firmware().Version)
		for _, kl := range known {
			if kl.Notes != "" {
				why += ": " + kl.Notes
			}
		}
	}
	for _, c := range r.Canaries {
		Expect(r.Report).To(matchers.LeakExactly(c, routes...), why)
	}
}

func (d *Device) setting(ctx context.Context) expect.Setting {
	return func(ns, key string) (string, bool, error) {
		v, err := d.session.Setting(ctx, ns, key)
		if err != nil || v == nil {
			return "", false, err
		}
		return *v, true, nil
	}
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

// record stores the spec's result in the run directory (findings.json and
// the window's HAR) and attaches report entries; on failure it also keeps
// the device's logcat and a screenshot.
func (d *Device) record(ctx context.Context, r *actions.Result, variant string) {
	rep := CurrentSpecReport()
	state := run.StatePassed
	if rep.Failed() {
		state = run.StateFailed
	} else if rep.State == types.SpecStateSkipped {
		state = run.StateSkipped
	}
	w := d.suite.writer
	stored, err := w.RecordSpec(run.SpecResult{
		Name: rep.FullText(), Device: d.session.Lease().Serial, Action: r.Action, Variant: variant,
		Canaries: r.Canaries, Findings: r.Report.Findings, Capped: r.Report.Capped, Diff: r.Diff,
		Window: run.Window{StartSeq: r.StartSeq, EndSeq: r.EndSeq, Start: r.Start, End: r.End},
		State:  state, Failure: rep.FailureMessage(), Start: r.Start, End: r.End,
	}, r.Flows)
	Expect(err).NotTo(HaveOccurred(), "recording the spec in %s", w.Dir())
	AddReportEntry("findings", findingsText(r))
	if stored.HAR != "" {
		AddReportEntry("har", filepath.Join(w.Dir(), stored.HAR))
	}
	if len(r.Diff.Hosts)+len(r.Diff.Events) > 0 {
		b, err := json.Marshal(r.Diff)
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("differential", string(b))
	}
	AddReportEntry("timing", fmt.Sprintf("window %s, settle %s, overhead %s",
		r.End.Sub(r.Start).Round(time.Millisecond), r.Settle, r.Overhead().Round(time.Millisecond)))
	if state == run.StateFailed && d.lost == nil {
		d.keepEvidence(ctx, stored)
	}
}

func findingsText(r *actions.Result) string {
	if len(r.Report.Findings) == 0 {
		return fmt.Sprintf("%s: no canary found in %d flows", r.Action, len(r.Flows))
	}
	var b strings.Builder
	for _, f := range r.Report.Findings {
		fmt.Fprintf(&b, "%s -> %s %s via %s: %s\n", f.Canary, f.Method, f.Host, strings.Join(f.Chain, " > "), f.Evidence)
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
