package scenarios

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
	"telltale.dev/harness/ca"
	"telltale.dev/harness/session"
	"telltale.dev/reports/run"
)

// slot is one device of the spec tree. Real devices are leased at tree time
// (every process lists the same servers and gets the same sorted list);
// simulated ones are known by model and firmware and get their serial when
// process 1 starts them.
type slot struct {
	Index    int
	Profile  *profiles.Profile
	Firmware *profiles.Firmware
	Lease    session.Lease // empty Serial for a simulated phone not yet started
}

func (s slot) title() string {
	serial := s.Lease.Serial
	if serial == "" {
		serial = fmt.Sprintf("sim %d", s.Index+1)
	}
	return fmt.Sprintf("%s %s (%s)", s.Profile.DisplayName, s.Firmware.Version, serial)
}

func isSimSpec(s string) bool { return strings.HasPrefix(strings.TrimSpace(s), "sim:") }

// simSpecs returns the simulated phones the flags ask for: --devices with
// sim: entries, or the built-in default when no adb server is named.
func simSpecs() []string {
	if isSimSpec(*flagDevices) {
		var out []string
		for _, d := range strings.Split(*flagDevices, ",") {
			if d = strings.TrimSpace(d); d != "" {
				out = append(out, strings.TrimPrefix(d, "sim:"))
			}
		}
		return out
	}
	if *flagDevices == "" && *flagADB == "" && os.Getenv(session.EnvADB) == "" {
		return []string{"redmi-note-8"}
	}
	return nil
}

func planDevices() ([]slot, error) {
	profs, err := loadProfiles()
	if err != nil {
		return nil, err
	}
	var slots []slot
	if specs := simSpecs(); specs != nil {
		for _, spec := range specs {
			p, fw, err := findSim(profs, spec)
			if err != nil {
				return nil, err
			}
			slots = append(slots, slot{Index: len(slots), Profile: p, Firmware: fw})
		}
		return slots, nil
	}
	servers, err := session.Servers(*flagADB)
	if err != nil {
		return nil, err
	}
	f, err := filter()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := session.ConnectRemote(ctx, servers[0], *flagConnect); err != nil {
		return nil, err
	}
	leases, skipped, err := session.Discover(ctx, servers, profs, f)
	if err != nil {
		return nil, err
	}
	for _, s := range skipped {
		fmt.Fprintf(os.Stderr, "scenarios: not using %s on %s: %s\n", s.Serial, s.Server, s.Reason)
	}
	if len(leases) == 0 {
		return nil, errNoDevices
	}
	for _, l := range leases {
		p, fw := profileOf(profs, l.Profile, l.Firmware)
		slots = append(slots, slot{Index: len(slots), Profile: p, Firmware: fw, Lease: l})
	}
	return slots, nil
}

// findSim resolves "MODEL[@FIRMWARE]"; the default firmware is the oldest
// (the leaky one), so the demo shows the 2020 leak.
func findSim(profs []*profiles.Profile, spec string) (*profiles.Profile, *profiles.Firmware, error) {
	model, version, _ := strings.Cut(spec, "@")
	if version == "" {
		version = *flagFirmware
	}
	p := profiles.ByName(profs, model)
	if p == nil {
		return nil, nil, fmt.Errorf("--devices sim:%s: no profile %q (known: %s)", spec, model, strings.Join(profiles.Names(profs), ", "))
	}
	if version == "" {
		return p, &p.Firmware[0], nil
	}
	fw, err := p.FindFirmware(version)
	if err != nil {
		return nil, nil, fmt.Errorf("--devices sim:%s: %w", spec, err)
	}
	return p, fw, nil
}

func profileOf(profs []*profiles.Profile, name, version string) (*profiles.Profile, *profiles.Firmware) {
	p := profiles.ByName(profs, name)
	if p == nil {
		return nil, nil
	}
	fw, _ := p.FindFirmware(version)
	return p, fw
}

// prepareRun is process 1's part of the suite set-up: the run directory, the
// run's CA, the proxy image (built once: it is tagged by content hash), and
// the simulated phones when asked for.
func prepareRun(ctx context.Context) (shared, func(context.Context) error, error) {
	sh := shared{Seed: *flagSeed}
	if sh.Seed == 0 {
		sh.Seed = time.Now().UnixNano() % 1_000_000_007
	}
	start := time.Now().UTC()
	sh.RunDir = *flagOut
	if sh.RunDir == "" {
		root, err := moduleRoot()
		if err != nil {
			return sh, nil, err
		}
		sh.RunDir = filepath.Join(root, "reports", "out", run.NewRunID(start))
	}
	abs, err := filepath.Abs(sh.RunDir)
	if err != nil {
		return sh, nil, err
	}
	sh.RunDir = abs
	policy, err := ParsePolicy(*flagPolicy)
	if err != nil {
		return sh, nil, err
	}
	if _, err := run.Create(sh.RunDir, run.Manifest{
		Harness: run.Harness{Version: harnessVersion()}, Start: start, Seed: sh.Seed, Policy: policy,
		GinkgoFlags: os.Args[1:],
	}); err != nil {
		return sh, nil, err
	}
	c, err := ca.New(fmt.Sprintf("telltale run CA %d", sh.Seed))
	if err != nil {
		return sh, nil, err
	}
	sh.CACert, sh.CAKey = c.CertPEM(), c.KeyPEM()
	if sh.Image, err = buildProxyImage(ctx); err != nil {
		return sh, nil, err
	}
	profs, err := loadProfiles()
	if err != nil {
		return sh, nil, err
	}
	var cleanup func(context.Context) error
	if specs := simSpecs(); specs != nil {
		leases, stop, err := startSims(ctx, profs, specs, sh.RunDir)
		if err != nil {
			return sh, nil, err
		}
		sh.Leases, cleanup = leases, stop
	}
	return sh, cleanup, nil
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s: pass --out", dir)
		}
	}
}

func harnessVersion() string {
	if v := os.Getenv("TELLTALE_VERSION"); v != "" {
		return v
	}
	return "dev"
}

// device is one slot's state in the process that runs its container.
type device struct {
	slot slot
	s    *session.Session
	gen  *canary.Generator
	// lost is why the remaining specs are skipped.
	lost error

	planted int

	// The spec body leaves its result here for AfterEach to record.
	result  *actions.Result
	variant string
	extra   []canary.Canary
}

// describeDevice is one Ordered container: every spec for one phone runs in
// one process, in order, on one session, so two processes never drive the
// same phone. ContinueOnFailure: a leak assertion failing must not stop the
// other actions from being checked.
func describeDevice(sl slot) {
	d := &device{slot: sl}
	Describe(sl.title(), Ordered, ContinueOnFailure, Label(label(sl.Profile.Name), label(sl.Firmware.Version)), func() {
		BeforeAll(func(ctx SpecContext) {
			d.open(ctx)
		}, NodeTimeout(4*time.Minute))

		BeforeEach(func() {
			if d.lost != nil {
				Skip(fmt.Sprintf("device lost earlier in this run: %v", d.lost))
			}
			if d.s == nil {
				Skip("device session was not opened (see the BeforeAll failure)")
			}
			d.result, d.variant, d.extra = nil, "", nil
		})

		AfterEach(func(ctx SpecContext) {
			d.record(ctx)
		}, NodeTimeout(2*time.Minute))

		for _, f := range families {
			f(d)
		}
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

// families are the action families, one per file; each adds its specs to a
// device's container.
var families []func(*device)

func family(f func(*device)) bool {
	families = append(families, f)
	return true
}

func (d *device) open(ctx SpecContext) {
	l := d.slot.Lease
	if l.Serial == "" {
		Expect(d.slot.Index).To(BeNumerically("<", len(suite.Leases)), "no simulated phone for slot %d", d.slot.Index)
		l = suite.Leases[d.slot.Index]
	}
	d.gen = canary.NewGenerator(suite.Seed + int64(d.slot.Index))
	logf, err := os.OpenFile(writer.LogPath("session-"+l.Serial), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(logf.Close)
	s, err := session.Open(ctx, l, session.Config{
		RunDir:     suite.RunDir,
		Profile:    d.slot.Profile,
		CA:         runCA,
		StartProxy: startProxy,
		Settle:     *flagSettle,
		Log:        logf,
		SeqBase:    GinkgoParallelProcess(),
	})
	if s != nil {
		// Registered before checking err: Open closes itself on error, but a
		// Ctrl-C after this point must still restore the phone.
		DeferCleanup(func(ctx SpecContext) {
			if s.Lost() == nil {
				// The device's whole flow log, next to the per-spec HARs.
				if flows, err := s.Flows(ctx, 0); err == nil {
					_ = writer.WriteFlows(l.Serial, flows)
				}
			}
			err := s.Close(ctx)
			if d.lost != nil && errors.Is(err, session.ErrDeviceLost) {
				AddReportEntry("restore", err.Error())
				return
			}
			Expect(err).NotTo(HaveOccurred(), "restoring %s", l.Serial)
		}, NodeTimeout(2*time.Minute))
	}
	if err != nil && errors.Is(err, session.ErrDeviceLost) {
		d.lost = err
		Fail(fmt.Sprintf("device lost: %v", err))
	}
	Expect(err).NotTo(HaveOccurred(), "preparing %s", l.Name())
	d.s = s
	Expect(writer.AddDevice(d.manifestEntry())).To(Succeed())
	_, err = actions.Baseline(ctx, s)
	d.check(err)
}

func (d *device) manifestEntry() run.Device {
	s := d.s
	return run.Device{
		Serial: s.Lease.Serial, Model: s.Profile.Name, DisplayName: s.Profile.DisplayName,
		Firmware: s.Firmware.Version, Fingerprint: s.Props["ro.build.fingerprint"],
		AndroidVersion: s.Props["ro.build.version.release"], MIUIVersion: s.Props["ro.miui.ui.version.name"],
		CAFingerprint: runCA.Fingerprint(), CAStore: s.CAStore, ProxyImage: suite.Image, ProxyMode: "sinkhole",
		Host: s.Lease.Server, Warnings: s.Warnings,
	}
}

// check fails the spec on an action error, naming a lost device as such so
// the rest of its specs are skipped with the reason.
func (d *device) check(err error) {
	if err == nil {
		return
	}
	if errors.Is(err, session.ErrDeviceLost) {
		d.lost = err
		Fail(fmt.Sprintf("device lost: %v", err))
	}
	Expect(err).NotTo(HaveOccurred())
}

// canaryID makes ids unique per device and spec ("url-1-3": the third
// canary on device 1), so merged runs stay readable.
func (d *device) canaryID(kind string) string {
	d.planted++
	return fmt.Sprintf("%s-%d-%d", kind, d.slot.Index+1, d.planted)
}
