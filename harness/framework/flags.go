package framework

import (
	"flag"
	"slices"
	"time"

	"telltale.dev/harness/expect"
)

// Flags are the suite's settings. A suite registers them once
// (RegisterFlags); `telltale run` registers the same ones and forwards what
// the user set (Forward), so both spell and check them one way.
type Flags struct {
	ADB      string
	Devices  string
	Connect  string
	Model    string
	Firmware string
	Out      string
	Policy   expect.Policy
	Settle   time.Duration
	Seed     int64
	// InProcessProxy runs each device's proxy inside the suite process,
	// where no Docker engine answers.
	InProcessProxy bool
}

// TestContext is the suite's flags, filled by RegisterFlags and the test
// binary's flag parsing, as in Kubernetes' e2e framework.
var TestContext = Flags{Policy: expect.KnownLeaks}

// RegisterFlags defines the suite's flags on fs (flag.CommandLine in a
// suite's init) into TestContext.
func RegisterFlags(fs *flag.FlagSet) { TestContext.Register(fs) }

// names are the flags Register defines, in its order.
var names = []string{"adb", "devices", "connect", "model", "firmware", "out", "policy", "settle", "seed", "in-process-proxy"}

// Register defines the flags on fs, with f's values as defaults.
func (f *Flags) Register(fs *flag.FlagSet) {
	if f.Policy == "" {
		f.Policy = expect.KnownLeaks
	}
	fs.StringVar(&f.ADB, "adb", f.ADB, "adb servers to lease devices from, host:port,... (default $TELLTALE_ADB; with none and no --devices: a simulated Redmi Note 8)")
	fs.StringVar(&f.Devices, "devices", f.Devices, "devices: a serial regex, or sim:MODEL[@FIRMWARE],... to start simulated phones")
	fs.StringVar(&f.Connect, "connect", f.Connect, "adb connect these host:port addresses (DeviceFarmer/STF remote connect, remote emulators) through the first adb server before leasing")
	fs.StringVar(&f.Model, "model", f.Model, "only these models: profile names, display names or codenames, comma separated")
	fs.StringVar(&f.Firmware, "firmware", f.Firmware, "only this firmware (full version or short form V11.0.3.0)")
	fs.StringVar(&f.Out, "out", f.Out, "run directory (default reports/out/<run-id> at the module root)")
	fs.TextVar(&f.Policy, "policy", f.Policy, "known-leaks: assert each firmware's known leaks exactly; strict: fail on every leak")
	fs.DurationVar(&f.Settle, "settle", f.Settle, "settle window after each action (default: the profile's)")
	fs.Int64Var(&f.Seed, "seed", f.Seed, "canary seed (default: from the clock; recorded in run.json)")
	fs.BoolVar(&f.InProcessProxy, "in-process-proxy", f.InProcessProxy, "run each device's proxy inside the suite process instead of a container (no Docker engine)")
}

// Forward returns the suite flags set on fs (by the user, or by fs.Set) as
// "--name=value" arguments for the suite's command line.
func Forward(fs *flag.FlagSet) []string {
	var out []string
	fs.Visit(func(fl *flag.Flag) {
		if slices.Contains(names, fl.Name) {
			out = append(out, "--"+fl.Name+"="+fl.Value.String())
		}
	})
	return out
}
