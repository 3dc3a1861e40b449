package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/reporters"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"
	"github.com/testcontainers/testcontainers-go"

	"telltale.dev/devices/sim"
	"telltale.dev/devices/sim/rig"
	"telltale.dev/harness/ca"
	"telltale.dev/harness/lease"
	"telltale.dev/harness/proxy"
	"telltale.dev/reports/run"
)

// Spec adds one family of specs to a device's container, at tree time: the
// device's profile and firmware are known, its session is not yet.
type Spec func(d *Device)

// suite is one Ginkgo process's view of the run.
type suite struct {
	flags Flags
	slots []slot
	// shared is what process 1 prepares once and hands to every process.
	shared shared
	writer *run.Writer
	ca     *ca.CA
	// runDir is set in process 1 once run.json exists, so the run is
	// closed with its status and reason even when set-up failed after.
	runDir string
	// rig holds the simulated phones (process 1), stopped after the suite.
	rig *rig.Rig
	// ap serves the simulated phones' access point (process 1).
	ap *apServer
}

type shared struct {
	RunDir string        `json:"runDir"`
	Image  string        `json:"image"`
	CACert []byte        `json:"caCert"`
	CAKey  []byte        `json:"caKey"`
	Seed   int64         `json:"seed"`
	Leases []lease.Lease `json:"leases"` // simulated phones, by slot index
	// APServer is process 1's endpoint for the simulated phones' access
	// point (ap.go).
	APServer string `json:"apServer,omitempty"`
}

// RunSuite runs a telltale suite: it selects the devices the flags
// (TestContext) name, builds one Ordered container per device holding
// every family of specs, and prepares the run (run directory, CA, proxy
// image, simulated phones) once for all Ginkgo processes. Call it from the
// suite's TestXxx:
//
//	func TestScenarios(t *testing.T) { framework.RunSuite(t, "telltale scenarios", families...) }
func RunSuite(t *testing.T, description string, specs ...Spec) bool {
	RegisterFailHandler(Fail)
	s := &suite{flags: TestContext}
	var err error
	if s.slots, err = s.flags.plan(context.Background(), os.Stderr); err != nil {
		t.Fatalf("telltale: %v", err)
	}
	s.register()
	for _, sl := range s.slots {
		s.describe(sl, specs)
	}
	return RunSpecs(t, description)
}

func (s *suite) register() {
	SynchronizedBeforeSuite(func(ctx SpecContext) []byte {
		if err := s.prepare(ctx); err != nil {
			Fail("preparing the run: " + err.Error())
		}
		b, err := json.Marshal(s.shared)
		Expect(err).NotTo(HaveOccurred())
		return b
	}, func(b []byte) {
		Expect(json.Unmarshal(b, &s.shared)).To(Succeed())
		var err error
		s.ca, err = ca.Parse(s.shared.CACert, s.shared.CAKey)
		Expect(err).NotTo(HaveOccurred())
		s.writer, err = run.Join(s.shared.RunDir)
		Expect(err).NotTo(HaveOccurred())
		GinkgoWriter.Printf("run directory: %s\n", s.shared.RunDir)
	}, NodeTimeout(5*time.Minute))

	SynchronizedAfterSuite(func() {}, func(ctx SpecContext) {
		if s.rig == nil {
			return
		}
		Expect(s.stopAccessPoints(ctx)).To(Succeed(), "stopping the simulated access point")
		Expect(s.rig.Close(ctx)).To(Succeed(), "stopping the simulated phones")
		s.checkGroundTruth()
	}, NodeTimeout(2*time.Minute))

	// ReportAfterSuite runs once, on process 1, with every process's specs:
	// the place to write Ginkgo's own reports into the run directory and
	// close it with its status and the reason for it.
	ReportAfterSuite("run directory", func(r Report) { s.finish(r) })
}

// prepare is process 1's part of the set-up: the run directory, the run's
// CA, the proxy image (built once: it is tagged by content hash), and the
// simulated phones when asked for.
func (s *suite) prepare(ctx context.Context) error {
	sh := &s.shared
	sh.Seed = s.flags.Seed
	if sh.Seed == 0 {
		sh.Seed = time.Now().UnixNano() % 1_000_000_007
	}
	start := time.Now().UTC()
	dir := s.flags.Out
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			return err
		}
		dir = filepath.Join(root, "reports", "out", run.NewRunID(start))
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	sh.RunDir = dir
	if _, err := run.Create(dir, run.Manifest{
		Harness: run.Harness{Version: harnessVersion()}, Start: start, Seed: sh.Seed, Policy: string(s.flags.Policy),
		GinkgoFlags: os.Args[1:], Pipeline: s.flags.Pipeline,
	}); err != nil {
		return err
	}
	s.runDir = dir
	c, err := ca.New(fmt.Sprintf("telltale run CA %d", sh.Seed))
	if err != nil {
		return err
	}
	sh.CACert, sh.CAKey = c.CertPEM(), c.KeyPEM()
	if sh.Image, err = s.proxyImage(ctx); err != nil {
		return err
	}
	return s.startSims(ctx)
}

// startSims starts the simulated phones the flags ask for on a private adb
// server (never the user's 5037), each writing its ground-truth log into the
// run directory, and hands out their leases in slot order.
func (s *suite) startSims(ctx context.Context) error {
	if s.flags.sims() == nil {
		return nil
	}
	var err error
	s.rig, err = rig.StartServer(ctx, rig.WithTruthDir(filepath.Join(s.shared.RunDir, run.LogsDir)))
	if err != nil {
		return err
	}
	var phones []*sim.Phone
	for _, sl := range s.slots {
		p, err := s.rig.Start(ctx, sim.Config{Profile: sl.Profile, Firmware: sl.Firmware.Version})
		if err != nil {
			return err
		}
		phones = append(phones, p)
		s.shared.Leases = append(s.shared.Leases, lease.Lease{Server: s.rig.Client().Addr(), Serial: p.Serial(),
			Profile: sl.Profile.Name, Firmware: sl.Firmware.Version, Model: sl.Profile.DisplayName})
	}
	return s.serveAccessPoints(phones)
}

// checkGroundTruth proves, once the simulated phones stopped and their
// ground-truth logs are complete, that no event carrying a canary the run
// planted left a phone after its teardown; it keeps the answer in
// logs/ground-truth.json, prints it, and fails the suite when it is not so.
func (s *suite) checkGroundTruth() {
	var serials []string
	for _, l := range s.shared.Leases {
		serials = append(serials, l.Serial)
	}
	c, err := checkGroundTruth(s.shared.RunDir, serials)
	Expect(err).NotTo(HaveOccurred(), "reading the simulated phones' ground truth")
	b, err := json.MarshalIndent(c, "", "  ")
	Expect(err).NotTo(HaveOccurred())
	Expect(os.WriteFile(filepath.Join(s.shared.RunDir, run.LogsDir, GroundTruthFile), append(b, '\n'), 0o644)).To(Succeed())
	fmt.Printf("telltale: %s\n", c)
	Expect(c.Problems).To(BeEmpty(), "canaries left the simulated phones after teardown (%s)", GroundTruthFile)
}

// proxyImage builds (or finds, by content hash) the proxy image once per
// run.
func (s *suite) proxyImage(ctx context.Context) (string, error) {
	if s.flags.InProcessProxy {
		return "in-process", nil
	}
	return proxy.BuildImage(ctx)
}

// startProxy starts a device's own proxy: a container from the run's image
// under the name the session journaled, or in-process; it intercepts with
// the run's CA and keeps its flow log in flowDir.
func (s *suite) startProxy(ctx context.Context, flowDir, name string) (proxy.Recorder, error) {
	withCA, mode, dir := proxy.WithCA(s.shared.CACert, s.shared.CAKey), proxy.WithMode(proxy.Sinkhole), proxy.WithFlowDir(flowDir)
	if s.flags.InProcessProxy {
		return proxy.StartInProcess(ctx, withCA, mode, dir)
	}
	return proxy.Run(ctx, s.shared.Image, withCA, mode, dir, testcontainers.WithName(name))
}

// finish writes Ginkgo's reports into the run directory and closes it with
// the run's status and, when it did not pass, the reason.
func (s *suite) finish(r Report) {
	if s.runDir == "" {
		return
	}
	w, err := run.Join(s.runDir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "telltale: close the run directory: %v\n", err)
		return
	}
	status, reason := outcome(r)
	var problems []string
	for name, write := range map[string]func(types.Report, string) error{
		"junit.xml": reporters.GenerateJUnitReport, "report.json": reporters.GenerateJSONReport,
	} {
		if err := write(r, filepath.Join(s.runDir, name)); err != nil {
			problems = append(problems, fmt.Sprintf("writing %s: %v", name, err))
		}
	}
	if len(problems) > 0 {
		// A CI job that reads junit.xml must not take a missing one for a pass.
		status = run.StatusFailed
		reason = strings.Join(append([]string{reason}, problems...), "; ")
		fmt.Fprintf(os.Stderr, "telltale: %s\n", strings.Join(problems, "\ntelltale: "))
	}
	if err := w.Finish(status, strings.TrimPrefix(reason, "; ")); err != nil {
		fmt.Fprintf(os.Stderr, "telltale: finish the run directory: %v\n", err)
	}
	fmt.Printf("\ntelltale: run directory %s (%s)\n", s.runDir, status)
}

// outcome is the run's status and, unless it passed, why: an interrupt or
// timeout, a failed suite set-up or clean-up (with its message), or how many
// specs failed.
func outcome(r Report) (status, reason string) {
	var setup []string
	failed := 0
	for _, sr := range r.SpecReports {
		switch {
		case sr.State == types.SpecStateInterrupted:
			status = run.StatusInterrupted
		case !sr.Failed():
		case sr.LeafNodeType.Is(types.NodeTypesForSuiteLevelNodes):
			setup = append(setup, fmt.Sprintf("%s failed: %s", sr.LeafNodeType, firstLine(sr.FailureMessage())))
		case sr.LeafNodeType == types.NodeTypeIt:
			failed++
		}
	}
	for _, why := range r.SpecialSuiteFailureReasons {
		if strings.Contains(why, "Interrupted") || strings.Contains(why, "Timeout") {
			status = run.StatusInterrupted
		}
	}
	reasons := append(r.SpecialSuiteFailureReasons, setup...)
	if failed > 0 {
		reasons = append(reasons, fmt.Sprintf("%d spec(s) failed", failed))
	}
	switch {
	case status == run.StatusInterrupted:
	case !r.SuiteSucceeded:
		status = run.StatusFailed
	default:
		return run.StatusPassed, ""
	}
	return status, strings.Join(reasons, "; ")
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
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
