package scenarios

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/reporters"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"

	"telltale.dev/devices/profiles"
	"telltale.dev/harness/ca"
	"telltale.dev/harness/session"
	"telltale.dev/reports/run"
)

// Suite flags: `go tool ginkgo -r scenarios -- --devices=...`, or through
// `telltale run`, which spells them the same.
var (
	flagADB      = flag.String("adb", "", "adb servers to lease devices from, host:port,... (default $TELLTALE_ADB)")
	flagDevices  = flag.String("devices", "", "devices: a serial regex, or sim:MODEL[@FIRMWARE],... to start simulated phones (default: sim:redmi-note-8 when no adb server is given)")
	flagConnect  = flag.String("connect", "", "adb connect these host:port addresses (DeviceFarmer/STF remote connect, remote emulators) through the first adb server before leasing")
	flagModel    = flag.String("model", "", "only these models: profile names, display names or codenames, comma separated")
	flagFirmware = flag.String("firmware", "", "only this firmware (full version or short form V11.0.3.0)")
	flagOut      = flag.String("out", "", "run directory (default reports/out/<run-id> at the module root)")
	flagPolicy   = flag.String("policy", PolicyKnown, "known-leaks: assert each firmware's known leaks; strict: fail on every leak")
	flagSettle   = flag.Duration("settle", 0, "settle window after each action (default: the profile's)")
	flagSeed     = flag.Int64("seed", 0, "canary seed (default: from the clock; recorded in run.json)")
)

// TestScenarios builds one Ordered container per device before running: the
// spec tree must be known (and the same in every parallel process) before
// Ginkgo hands out specs, and labels name each device's model and firmware.
func TestScenarios(t *testing.T) {
	RegisterFailHandler(Fail)
	slots, err := planDevices()
	if err != nil {
		t.Fatalf("scenarios: %v", err)
	}
	for i := range slots {
		describeDevice(slots[i])
	}
	RunSpecs(t, "telltale scenarios")
}

// shared is what the first process prepares once for the whole run and
// hands to every process.
type shared struct {
	RunDir string          `json:"runDir"`
	Image  string          `json:"image"`
	CACert []byte          `json:"caCert"`
	CAKey  []byte          `json:"caKey"`
	Seed   int64           `json:"seed"`
	Leases []session.Lease `json:"leases"` // by slot index
}

var (
	suite  shared
	writer *run.Writer
	runCA  *ca.CA
	// simCleanup stops the simulated phones and their adb server (process 1).
	simCleanup func(context.Context) error
)

var _ = SynchronizedBeforeSuite(func(ctx SpecContext) []byte {
	sh, cleanup, err := prepareRun(ctx)
	simCleanup = cleanup
	if _, statErr := os.Stat(filepath.Join(sh.RunDir, run.ManifestFile)); statErr == nil {
		suite.RunDir = sh.RunDir // so ReportAfterSuite closes the run even when set-up failed
	}
	Expect(err).NotTo(HaveOccurred())
	b, err := json.Marshal(sh)
	Expect(err).NotTo(HaveOccurred())
	return b
}, func(b []byte) {
	Expect(json.Unmarshal(b, &suite)).To(Succeed())
	var err error
	runCA, err = ca.Parse(suite.CACert, suite.CAKey)
	Expect(err).NotTo(HaveOccurred())
	writer, err = run.Join(suite.RunDir)
	Expect(err).NotTo(HaveOccurred())
	GinkgoWriter.Printf("run directory: %s\n", suite.RunDir)
}, NodeTimeout(5*time.Minute))

var _ = SynchronizedAfterSuite(func() {}, func(ctx SpecContext) {
	if simCleanup != nil {
		Expect(simCleanup(ctx)).To(Succeed())
	}
}, NodeTimeout(2*time.Minute))

// ReportAfterSuite runs once, on process 1, with every process's specs: the
// place to write Ginkgo's own reports into the run directory and close it.
var _ = ReportAfterSuite("run directory", func(r Report) {
	if suite.RunDir == "" {
		return
	}
	w, err := run.Join(suite.RunDir)
	if err != nil {
		return
	}
	_ = reporters.GenerateJUnitReport(r, filepath.Join(suite.RunDir, "junit.xml"))
	_ = reporters.GenerateJSONReport(r, filepath.Join(suite.RunDir, "report.json"))
	status := run.StatusPassed
	switch {
	case interrupted(r):
		status = run.StatusInterrupted
	case !r.SuiteSucceeded:
		status = run.StatusFailed
	}
	if err := w.Finish(status); err != nil {
		fmt.Fprintf(os.Stderr, "scenarios: finish run directory: %v\n", err)
	}
	fmt.Printf("\ntelltale: run directory %s (%s)\n", suite.RunDir, status)
})

func interrupted(r Report) bool {
	for _, reason := range r.SpecialSuiteFailureReasons {
		if strings.Contains(reason, "Interrupted") || strings.Contains(reason, "Timeout") {
			return true
		}
	}
	for _, s := range r.SpecReports {
		if s.State == types.SpecStateInterrupted {
			return true
		}
	}
	return false
}

// filter is the device filter from the flags.
func filter() (session.Filter, error) {
	f := session.Filter{Firmware: *flagFirmware}
	for _, m := range strings.Split(*flagModel, ",") {
		if m = strings.TrimSpace(m); m != "" {
			f.Models = append(f.Models, m)
		}
	}
	if *flagDevices != "" && !isSimSpec(*flagDevices) {
		re, err := regexp.Compile(*flagDevices)
		if err != nil {
			return f, fmt.Errorf("--devices %q: not a serial regex: %w", *flagDevices, err)
		}
		f.Serial = re
	}
	return f, nil
}

var errNoDevices = errors.New("no device selected: check --adb/TELLTALE_ADB (telltale devices lists what each server has), --model and --firmware")

func loadProfiles() ([]*profiles.Profile, error) {
	return profiles.Load()
}
