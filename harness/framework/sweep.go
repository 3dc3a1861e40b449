package framework

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"telltale.dev/devices/profiles"
	"telltale.dev/harness/attribution"
	"telltale.dev/harness/leak"
	"telltale.dev/harness/matchers"
	"telltale.dev/reports/run"
)

// SweepTimeout bounds the sweep spec: the nudges, the wait for the queues
// to drain, the end of --pipeline windows and the records.
var SweepTimeout = SpecTimeout(4 * time.Minute)

// sweepSpec is each device's last spec. Telemetry SDKs batch, so a leak
// may come after its action's window, or, with --pipeline, after every
// action ran: the sweep nudges the phone, waits until its telemetry queues
// drain (one flush interval on a phone that cannot tell) and reads the
// flow log to its end; then it records what came late against the action
// whose canary it carries and asserts it under that action's policy. It
// carries every action's label, so a label filter that selects any action
// keeps it.
func (d *Device) sweepSpec() {
	labels := append(Labels{"sweep"}, profiles.AllActions...)
	It("sweep: late leaks are their actions', under the same policy; nothing planted is left on the phone", labels,
		func(ctx SpecContext) { d.sweep(ctx) }, SweepTimeout)
}

// sweep runs once per device, in the sweep spec or, when that did not run,
// before the device is put back. Its failures are Gomega failures, so
// close can collect them.
func (d *Device) sweep(ctx context.Context) {
	if d.swept || d.tracker == nil {
		return
	}
	d.swept = true
	sw, err := d.tracker.Sweep(ctx)
	AddReportEntry("sweep", sweepText(sw))
	problems := d.settle(ctx)
	Expect(err).NotTo(HaveOccurred(), "sweeping the telemetry before teardown")
	if sw.Reported && !sw.Drained {
		var queues []string
		for _, q := range sw.Queues {
			if q.Length > 0 {
				queues = append(queues, q.String())
			}
		}
		problems = append(problems, fmt.Sprintf("the phone's telemetry queues still hold %d event(s) after %s (%s): they would leave the phone after the proxy is gone; add a flush nudge to the profile or raise its flush interval",
			sw.Queued(), sw.Waited.Round(time.Second), strings.Join(queues, "; ")))
	}
	Expect(errors.New(strings.Join(problems, "\n\n"))).To(MatchError(""), "the sweep found problems")
}

func sweepText(sw attribution.Swept) string {
	what := fmt.Sprintf("waited %s", sw.Waited.Round(time.Millisecond))
	switch {
	case !sw.Reported:
		what += " (one flush interval: the phone cannot report its telemetry queues)"
	case sw.Drained:
		what += " until the phone's telemetry queues were empty"
	default:
		what += fmt.Sprintf(", and %d event(s) are still queued", sw.Queued())
	}
	if len(sw.Ended) > 0 {
		what += fmt.Sprintf("; ended %d --pipeline window(s)", len(sw.Ended))
	}
	return what
}

// settle records and asserts, act by act, what the sweep brought: a
// --pipeline window's whole result, a window-mode spec's late leaks. It
// returns one problem per act whose assertion failed; that act's record is
// marked failed with the evidence, so the matrix shows it on its row.
func (d *Device) settle(ctx context.Context) []string {
	var problems []string
	for _, a := range d.acts {
		r := a.result
		if r.StartSeq == 0 {
			continue // the action never began its window
		}
		late := d.tracker.Late(r)
		failures := []string{}
		if a.asserted {
			failures = InterceptGomegaFailures(func() { d.assertSwept(a, late) })
		}
		if len(late) > 0 {
			AddReportEntry("late", lateText(a, late))
		}
		if err := d.store(ctx, a, late, failures); err != nil {
			problems = append(problems, err.Error())
		}
		if len(failures) > 0 {
			problems = append(problems, fmt.Sprintf("%s:\n%s", a.name, strings.Join(failures, "\n")))
		}
	}
	return problems
}

// assertSwept asserts what the window could not: for each canary that
// leaked late or had routes left over, every place it reached, window and
// late, must be exactly its action's routes; with --pipeline every canary,
// and for an action that plants nothing what it must send (what else its
// overlapping window holds may be another action's).
func (d *Device) assertSwept(a *act, late []leak.Place) {
	r, e := a.result, a.exp
	if len(r.Canaries) == 0 {
		if a.whole {
			Expect(r.Diff).To(e.sends(r.Diff), "--pipeline, firmware %s: what %s sends", d.Firmware().Version, r.Action)
		}
		return
	}
	attributed := d.tracker.Attributed(r)
	for _, c := range r.Canaries {
		if !a.whole && len(a.deferred[c.ID]) == 0 && !slices.ContainsFunc(late, func(p leak.Place) bool { return p.Canary == c.ID }) {
			continue
		}
		Expect(attributed).To(matchers.LeakExactly(c, e.routes...), "%s, late leaks included", e.why)
	}
}

func lateText(a *act, late []leak.Place) string {
	var b strings.Builder
	for _, p := range late {
		fmt.Fprintf(&b, "%s -> %s %s via %s: %s after %s began, after its window ended (%s)\n", p.Canary, p.Method, p.Host,
			strings.Join(p.Chain, " > "), p.Delay.Round(time.Millisecond), a.result.Window, a.result.Ended)
	}
	return b.String()
}

// store writes what the sweep found into the act's record: a --pipeline
// window's whole record, or a recorded spec's late leaks, and the failure
// when the sweep's assertion failed.
func (d *Device) store(ctx context.Context, a *act, late []leak.Place, failures []string) error {
	failure := strings.Join(failures, "\n")
	if a.id == 0 {
		if failure != "" {
			a.state, a.failure = run.StateFailed, strings.TrimSpace(a.failure+"\n"+failure)
		}
		return d.record(ctx, a, late)
	}
	if len(late) == 0 && failure == "" {
		return nil
	}
	return d.suite.writer.UpdateSpec(a.id, func(s *run.SpecResult) {
		s.Findings = append(s.Findings, run.AsFindings(late, true)...)
		if failure != "" {
			s.State = run.StateFailed
			s.Failure = strings.TrimSpace(s.Failure + "\n" + "sweep: " + failure)
		}
	})
}
