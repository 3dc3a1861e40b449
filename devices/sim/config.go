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
	"telltale.dev/devices/sim/telemetry"
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
	// Truth receives the ground-truth log, one JSON line per event, each
	// line in one Write: phones may share a writer whose Writes do not
	// interleave (an *os.File, a telemetry.TruthLog).
	Truth io.Writer
	// Logger gets transport and telemetry diagnostics (default: discarded).
	Logger *slog.Logger
	// Seed makes the phone's identifiers; default: the serial.
	Seed string
	// NoNoise turns off background telemetry (config fetches, heartbeats).
	NoNoise bool
	// Unrooted removes su. By default a phone whose model refuses `adb root`
	// is rooted the way research phones are (Magisk's `su -c`), so the
	// harness can put its CA in the system store; unrooted, it can only
	// use the user store and most telemetry fails TLS.
	Unrooted bool
	// RebootDowntime is how long a reboot keeps the phone off the bus
	// (default 2s).
	RebootDowntime time.Duration
	// Clock is the phone's time (default: the host's). Tests pass a
	// clock.Fake to move the phone's time without sleeping.
	Clock clock.Clock
	// Telemetry replaces the phone's telemetry rules (default: the
	// ruleset of rules.yaml for its model and firmware): for tests that
	// play a firmware which reports differently.
	Telemetry *telemetry.RuleSet
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
