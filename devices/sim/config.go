package sim

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"time"

	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/netstack"
	"telltale.dev/devices/sim/sdk"
)

// Config starts a phone.
type Config struct {
	// Model is a profile name (default "redmi-note-8"); Profile, when set,
	// is used instead (tests with a custom model).
	Model   string
	Profile *profiles.Profile
	// Firmware is a version in full or short form ("V12.0.2.0"); empty
	// means the model's oldest firmware.
	Firmware string
	// Addr is where adbd listens (default "127.0.0.1:0", a free port).
	Addr string
	// AllowEmulatorPorts permits 5555-5585, which the adb server claims.
	AllowEmulatorPorts bool
	// Truth receives the ground-truth log, one JSON line per change of an event's state, each
	// line in one Write: phones may share a writer whose Writes do not
	// interleave (an *os.File, a groundtruth.Log).
	Truth io.Writer
	// Logger gets transport and telemetry diagnostics (default: discarded).
	Logger *slog.Logger
	// Seed makes the phone's identifiers; default: the serial.
	Seed string
	// NoNoise turns off background telemetry (config fetches, heartbeats).
	NoNoise bool
	// Kind is the kind of phone: KindResearch (a rooted retail phone:
	// Magisk's su, both MIUI Developer options toggles on), KindStock (a
	// retail phone out of the box: no su, toggles off) or KindEmulator (a
	// userdebug image: `adb root`, AOSP su). Default: emulator for a
	// profile with root (a userdebug image), research otherwise.
	Kind Kind
	// SuPolicy is what Magisk answers the shell's su with on a research
	// phone: SuGranted (default: Shell granted "Forever" beforehand),
	// SuPrompt (Magisk's prompt shows on the screen at the first su and
	// denies after 10 s) or SuDeny.
	SuPolicy SuPolicy
	// Unrooted asks for a stock phone.
	//
	// Deprecated: use Kind: KindStock.
	Unrooted bool
	// Networks are the Wi-Fi access points in range (the rig's access
	// point); the first is saved and joined at start. Default: one open
	// network named "AndroidWifi". Phone.AddNetwork and RemoveNetwork
	// change them at run time.
	Networks []Network
	// RebootDowntime is how long a reboot keeps the phone off the bus
	// (default 2s).
	RebootDowntime time.Duration
	// Clock is the phone's time (default: the host's). Tests pass a
	// clock.Fake to move the phone's time without sleeping.
	Clock clock.Clock
	// Telemetry replaces the phone's telemetry rules (default: the
	// ruleset of rules.yaml for its model and firmware): for tests that
	// play a firmware which reports differently.
	Telemetry *sdk.RuleSet
	// TelemetryTiming paces the SDKs' uploads: "realistic" (default: as
	// the real SDKs do) or "immediate" (each event at once in its own
	// request, no retries: for unit tests only).
	TelemetryTiming string
}

// Paths of the phone's CA stores.
const (
	SystemCADir = netstack.SystemCADir
	// APEXCADir is where Android 14 (sdk 34) and later read system CAs from.
	APEXCADir = netstack.APEXCADir
	UserCADir = netstack.UserCADir
)

// RebootDowntime is how long a rebooting phone stays off the bus.
const RebootDowntime = 2 * time.Second

// ErrEmulatorPort is returned for listen ports the adb server scans as emulators.
var ErrEmulatorPort = errors.New("ports 5555-5585 are claimed by the adb server as emulators; pick another port or allow emulator ports explicitly")

func checkPort(addr string, allow bool) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("sim: listen address %q: %w (want HOST:PORT)", addr, err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return fmt.Errorf("sim: listen port %q is not a number", port)
	}
	if n >= 5555 && n <= 5585 && !allow {
		return fmt.Errorf("sim: port %d: %w", n, ErrEmulatorPort)
	}
	return nil
}
