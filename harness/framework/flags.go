package framework

import (
	"flag"
	"slices"
	"time"

	"telltale.dev/harness/expect"
	"telltale.dev/harness/session"
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
	// Settle, when set, makes every window wait exactly this long: fixed
	// settle windows instead of windows that end when what they expect has
	// come.
	Settle time.Duration
	// WindowTimeout is the longest a window waits for what it expects
	// (default 1.5 flush intervals of the phone's profile).
	WindowTimeout time.Duration
	// Pipeline runs a phone's actions back to back and waits once, in the
	// sweep at the end.
	Pipeline bool
	Seed     int64
	// APHook is the command that puts up a Wi-Fi network for real phones,
	// called as `CMD add SSID` and `CMD remove SSID`.
	APHook string
	// InProcessProxy runs each device's proxy inside the suite process,
	// where no Docker engine answers.
	InProcessProxy bool
	// Capture is how each phone's traffic reaches its proxy: proxy,
	// transparent or auto (transparent where root allows).
	Capture session.Capture
}

// TestContext is the suite's flags, filled by RegisterFlags and the test
// binary's flag parsing, as in Kubernetes' e2e framework.
var TestContext = Flags{Policy: expect.KnownLeaks}

// RegisterFlags defines the suite's flags on fs (flag.CommandLine in a
// suite's init) into TestContext.
func RegisterFlags(fs *flag.FlagSet) { TestContext.Register(fs) }

// names are the flags Register defines, in its order.
var names = []string{"adb", "devices", "connect", "model", "firmware", "out", "policy", "settle", "window-timeout", "pipeline", "seed", "ap-hook", "in-process-proxy", "capture"}

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
	fs.DurationVar(&f.Settle, "settle", f.Settle, "fixed settle windows: every action's window waits exactly this long (default: a window ends as soon as the leaks it expects have come, else at --window-timeout)")
	fs.DurationVar(&f.WindowTimeout, "window-timeout", f.WindowTimeout, "the longest an action's window waits for the leaks it expects; later leaks still count, flagged late (default: 1.5 flush intervals of the phone's profile)")
	fs.BoolVar(&f.Pipeline, "pipeline", f.Pipeline, "run each phone's actions back to back and wait once at the end: faster on real phones, same leak matrix, weaker differential view (windows overlap)")
	fs.Int64Var(&f.Seed, "seed", f.Seed, "canary seed (default: from the clock; recorded in run.json)")
	fs.StringVar(&f.APHook, "ap-hook", f.APHook, "command that puts up an open Wi-Fi network for real phones (connect-wifi), run as: CMD add SSID, and CMD remove SSID; simulated phones need none")
	fs.BoolVar(&f.InProcessProxy, "in-process-proxy", f.InProcessProxy, "run each device's proxy inside the suite process instead of a container (no Docker engine)")
	if f.Capture == "" {
		f.Capture = session.CaptureAuto
	}
	fs.TextVar(&f.Capture, "capture", f.Capture, "how each phone's traffic reaches the proxy: proxy (the proxy setting; apps that ignore it are reported as bypassing it), transparent (iptables as root: every app's TCP, each app attributed, QUIC refused), or auto (transparent where the phone has root)")
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
