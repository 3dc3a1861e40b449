package framework

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"telltale.dev/devices/profiles"
	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/actions"
	"telltale.dev/harness/attribution"
	"telltale.dev/harness/lease"
	"telltale.dev/harness/session"
	"telltale.dev/reports/run"
)

// Device is one device under test: created when its container is built,
// prepared in its BeforeAll (session, proxy, CA, idle baseline), put back by
// DeferCleanup after its last spec. Everything a spec needs hangs off it:
// the session, canaries, expectations under the run's policy, and the run
// directory its results and evidence go to.
type Device struct {
	suite   *suite
	slot    slot
	session *session.Session
	gen     *canary.Generator
	planted int
	// lost is why the remaining specs are skipped.
	lost error
	// tracker follows the session's flow log and attributes leaks by
	// canary; acts are the device's action specs, for the sweep.
	tracker *attribution.Tracker
	acts    []*act
	swept   bool
}

// Profile is the device's model profile (known at tree time).
func (d *Device) Profile() *profiles.Profile { return d.slot.Profile }

// Firmware is the device's firmware (known at tree time).
func (d *Device) Firmware() *profiles.Firmware { return d.slot.Firmware }

// Session is the prepared device, from the container's BeforeAll on.
func (d *Device) Session() *session.Session { return d.session }

// Canaries makes the device's canaries, reproducible from the run's seed.
func (d *Device) Canaries() *canary.Generator { return d.gen }

// CanaryID names a new canary of kind uniquely per device and spec
// ("url-1-3": the third canary on device 1), so merged runs stay readable.
func (d *Device) CanaryID(kind string) string {
	d.planted++
	return fmt.Sprintf("%s-%d-%d", kind, d.slot.Index+1, d.planted)
}

// Check fails the spec on an error, naming a lost device as such so the rest
// of its specs are skipped with the reason.
func (d *Device) Check(err error) {
	GinkgoHelper()
	if err == nil {
		return
	}
	if errors.Is(err, session.ErrDeviceLost) {
		d.lost = err
		Fail(fmt.Sprintf("device lost: %v", err))
	}
	Expect(err).NotTo(HaveOccurred())
}

// describe is one Ordered container: every spec for one phone runs in one
// process, in order, on one session, so two processes never drive the same
// phone. ContinueOnFailure: a leak assertion failing must not stop the other
// actions from being checked.
func (s *suite) describe(sl slot, specs []Spec) {
	d := &Device{suite: s, slot: sl}
	Describe(sl.title(), Ordered, ContinueOnFailure, Label(label(sl.Profile.Name), label(sl.Firmware.Version)), func() {
		BeforeAll(func(ctx SpecContext) { d.open(ctx) }, NodeTimeout(4*time.Minute))
		BeforeEach(func() {
			if d.lost != nil {
				Skip(fmt.Sprintf("device lost earlier in this run: %v", d.lost))
			}
			if d.session == nil {
				Skip("device session was not opened (see the BeforeAll failure)")
			}
		})
		for _, spec := range specs {
			spec(d)
		}
		d.sweepSpec()
	})
}

// label makes a Ginkgo label from a name (labels may not hold &|!,()/).
func label(s string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune("&|!,()/:", r) {
			return '_'
		}
		return r
	}, s)
}

func (d *Device) lease() lease.Lease {
	if d.slot.Lease.Serial != "" {
		return d.slot.Lease
	}
	leases := d.suite.shared.Leases
	Expect(d.slot.Index).To(BeNumerically("<", len(leases)), "no simulated phone for slot %d", d.slot.Index)
	return leases[d.slot.Index]
}

// open leases and prepares the device, registers its restore, and records
// the idle baseline every action's differential view is taken against.
func (d *Device) open(ctx SpecContext) {
	s, l := d.suite, d.lease()
	d.gen = canary.NewGenerator(s.shared.Seed + int64(d.slot.Index))
	logf, err := os.OpenFile(s.writer.LogPath("session-"+l.Serial), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(logf.Close)
	cfg := session.Config{
		RunDir: s.shared.RunDir, Dir: s.writer.DeviceDir(l.Serial), Profile: d.slot.Profile, CA: s.ca,
		StartProxy: s.startProxy, Settle: s.flags.Settle, Log: logf, SeqBase: GinkgoParallelProcess(),
		Capture: s.flags.Capture,
	}
	if !s.flags.InProcessProxy {
		cfg.ProxyName = "telltale-proxy-" + run.Slug(filepath.Base(s.shared.RunDir)) + "-" + run.Slug(l.Serial)
	}
	d.preflight(ctx, l)
	ap := d.accessPoints(l)
	sess, err := session.Open(ctx, l, cfg)
	if sess != nil {
		// Registered before checking err: Open closes itself on error, but a
		// Ctrl-C after this point must still restore the phone.
		DeferCleanup(func(ctx SpecContext) { d.close(ctx, sess) }, NodeTimeout(2*time.Minute))
	}
	d.Check(err)
	d.session = sess
	actions.Attach(sess, actions.Options{Log: logf, AccessPoint: ap})
	d.tracker = attribution.Attach(sess, d.trackerOptions(sess))
	Expect(s.writer.AddDevice(d.manifestEntry())).To(Succeed())
	_, err = actions.Baseline(ctx, sess)
	d.Check(err)
}

// trackerOptions are the profile's (attribution.Defaults) under the run's
// flags: fixed settle windows, the window timeout, --pipeline.
func (d *Device) trackerOptions(sess *session.Session) attribution.Options {
	f := d.suite.flags
	o := attribution.Defaults(sess)
	o.Settle, o.Pipeline, o.Progress = f.Settle, f.Pipeline, GinkgoWriter
	if f.WindowTimeout > 0 {
		o.Timeout = f.WindowTimeout
	}
	return o
}

// close keeps the device's whole flow log next to the per-spec HARs and
// puts the device back; a device lost during the run is reported as such
// rather than failing its restore again.
func (d *Device) close(ctx context.Context, sess *session.Session) {
	defer attribution.Detach(sess)
	var errs []error
	if sess.Lost() == nil && !d.swept {
		// The sweep spec did not run (filtered out, interrupted, or the
		// set-up failed after the session opened): sweep here, so nothing
		// planted leaves the phone after the proxy is gone and late leaks
		// are still recorded and asserted. Gomega failures are collected,
		// not raised, so the phone is put back whatever they say.
		for _, f := range InterceptGomegaFailures(func() { d.sweep(ctx) }) {
			errs = append(errs, errors.New(f))
		}
	}
	if sess.Lost() == nil {
		flows, err := sess.Flows(ctx, 0)
		if err == nil {
			err = d.suite.writer.WriteFlows(sess.Lease().Serial, flows)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("keep the device's flow log: %w", err))
		}
	}
	entry := d.manifestEntry()
	entry.Teardown = time.Now().UTC()
	if err := d.suite.writer.AddDevice(entry); err != nil {
		errs = append(errs, fmt.Errorf("record the teardown time: %w", err))
	}
	err := sess.Close(ctx)
	if d.lost != nil && errors.Is(err, session.ErrDeviceLost) {
		AddReportEntry("restore", err.Error())
		err = nil
	}
	Expect(errors.Join(append(errs, err)...)).NotTo(HaveOccurred(), "restoring %s", sess.Lease().Serial)
}

func (d *Device) manifestEntry() run.Device {
	s := d.session
	return run.Device{
		Serial: s.Lease().Serial, Model: s.Profile().Name, DisplayName: s.Profile().DisplayName,
		Firmware: s.Firmware().Version, Fingerprint: s.Prop("ro.build.fingerprint"),
		AndroidVersion: s.Prop("ro.build.version.release"), MIUIVersion: s.Prop("ro.miui.ui.version.name"),
		CAFingerprint: d.suite.ca.Fingerprint(), CAStore: s.CAStore(), ProxyImage: d.suite.shared.Image, ProxyMode: "sinkhole", Capture: string(s.Capture()),
		Host: s.Lease().Server, Warnings: s.Warnings(),
	}
}
