package scenarios

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

	"telltale.dev/devices/profiles"
	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/actions"
	"telltale.dev/harness/matchers"
	"telltale.dev/reports/run"
)

// specTimeout bounds one spec: an action, its settle window, the flow read.
// A lost device ends it sooner: the session watches the adb server.
const specTimeout = 3 * time.Minute

// act runs one action for the current spec and leaves its result for
// AfterEach to record; a device lost during it fails the spec as such.
func (d *device) act(action, variant string, do func() (*actions.Result, error)) *actions.Result {
	d.variant = variant
	r, err := do()
	if r == nil {
		r = &actions.Result{Action: action, Start: time.Now(), End: time.Now()}
	}
	d.result = r
	d.check(err)
	return r
}

// expect asserts the result against the firmware's known leaks for the
// action (or against none, with --policy strict). The leak matchers print
// the decoded evidence and chain of what was found, so a firmware update
// that changes behaviour either way fails with the proof.
func (d *device) expect(ctx context.Context, r *actions.Result, c canary.Canary) {
	if *flagPolicy == PolicyStrict {
		Expect(r.Report).To(matchers.HaveNoLeaks(), "--policy strict: no action may leak")
		return
	}
	known, err := Expected(d.s.Profile, d.s.Firmware, r.Action, d.setting(ctx))
	Expect(err).NotTo(HaveOccurred())
	if len(known) == 0 {
		Expect(r.Report).NotTo(matchers.Leak(c), "firmware %s has no known %s leak", d.s.Firmware.Version, r.Action)
		return
	}
	for _, kl := range known {
		Expect(r.Report).To(matchers.Leak(c, matchers.To(kl.Host), matchers.Via(kl.Via...)),
			"known leak on %s (%s): %s", d.s.Firmware.Version, d.s.Profile.DisplayName, kl.Notes)
	}
}

func (d *device) setting(ctx context.Context) Setting {
	return func(ns, key string) (string, bool, error) {
		v, err := d.s.Setting(ctx, ns, key)
		if err != nil || v == nil {
			return "", false, err
		}
		return *v, true, nil
	}
}

// record stores the spec's result in the run directory (findings.json and
// the window's HAR) and attaches report entries; on failure it also keeps
// the device's logcat and a screenshot.
func (d *device) record(ctx context.Context) {
	rep := CurrentSpecReport()
	r := d.result
	if r == nil || d.s == nil {
		return
	}
	state := run.StatePassed
	if rep.Failed() {
		state = run.StateFailed
	} else if rep.State == types.SpecStateSkipped {
		state = run.StateSkipped
	}
	sr := run.SpecResult{
		Name: rep.FullText(), Device: d.s.Lease.Serial, Action: r.Action, Variant: d.variant,
		Canaries: r.Canaries, Findings: r.Report.Findings, Capped: r.Report.Capped, Diff: r.Diff,
		Window: run.Window{StartSeq: r.StartSeq, EndSeq: r.EndSeq, Start: r.Start, End: r.End},
		State:  state, Failure: rep.FailureMessage(), Start: r.Start, End: r.End,
	}
	stored, err := writer.RecordSpec(sr, r.Flows)
	Expect(err).NotTo(HaveOccurred(), "recording the spec in %s", suite.RunDir)
	AddReportEntry("findings", findingsText(r))
	if stored.HAR != "" {
		AddReportEntry("har", filepath.Join(suite.RunDir, stored.HAR))
	}
	if len(r.Diff.Hosts)+len(r.Diff.Events) > 0 {
		b, _ := json.Marshal(r.Diff)
		AddReportEntry("differential", string(b))
	}
	AddReportEntry("timing", fmt.Sprintf("window %s, settle %s, overhead %s",
		r.End.Sub(r.Start).Round(time.Millisecond), r.Settle, r.Overhead().Round(time.Millisecond)))
	if state == run.StateFailed && d.lost == nil {
		d.keepEvidence(ctx, stored.ID)
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

// keepEvidence saves logcat and a screenshot of a failed spec.
func (d *device) keepEvidence(ctx context.Context, id int) {
	dir := filepath.Join(suite.RunDir, run.LogsDir)
	base := fmt.Sprintf("%03d-%s", id, run.Slug(d.s.Lease.Serial))
	if out, err := d.s.Shell(ctx, "logcat -d"); err == nil {
		p := filepath.Join(dir, base+"-logcat.txt")
		if os.WriteFile(p, []byte(out), 0o644) == nil {
			AddReportEntry("logcat", p)
		}
	}
	if png, err := d.s.Shell(ctx, "screencap -p"); err == nil && strings.HasPrefix(png, "\x89PNG") {
		p := filepath.Join(dir, base+"-screen.png")
		if os.WriteFile(p, []byte(png), 0o644) == nil {
			AddReportEntry("screenshot", p)
		}
	}
}

// title says what a spec expects, from the firmware's known leaks: "leaks
// the URL to sa.api.intl.miui.com (form:data_list > base64 > gzip > json)".
func title(fw *profiles.Firmware, action, what string) string {
	var parts []string
	for _, kl := range fw.KnownLeaks {
		if kl.Action != action {
			continue
		}
		t := kl.Host
		if len(kl.Via) > 0 {
			t += " (" + strings.Join(kl.Via, " > ") + ")"
		}
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

func hasConditionalLeak(fw *profiles.Firmware, action string) bool {
	for _, kl := range fw.KnownLeaks {
		if kl.Action == action && kl.When != "" {
			return true
		}
	}
	return false
}
