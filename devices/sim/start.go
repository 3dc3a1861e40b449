package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"time"

	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim/adbd"
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
}

// ErrEmulatorPort is returned for listen ports the adb server scans as emulators.
var ErrEmulatorPort = errors.New("ports 5555-5585 are claimed by the adb server as emulators; pick another port or allow emulator ports explicitly")

// Start builds a phone, serves it on Addr with adbd, and starts its telemetry.
// Close it when done.
func Start(ctx context.Context, cfg Config) (*Phone, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	prof := cfg.Profile
	if prof == nil {
		var err error
		if prof, err = lookupProfile(cfg.Model); err != nil {
			return nil, err
		}
	}
	fw, err := resolveFirmware(prof, cfg.Firmware)
	if err != nil {
		return nil, err
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if err := checkPort(cfg.Addr, cfg.AllowEmulatorPorts); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rules, err := telemetry.DefaultRules()
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	ruleset := telemetry.Select(rules, prof.Name, fw.Version)

	// adbd needs the Device before it listens, and the phone's identity
	// depends on the serial (the listen address): build, listen, then seed.
	p, err := New(prof, fw, cfg.Seed)
	if err != nil {
		return nil, err
	}
	downtime := cfg.RebootDowntime
	if downtime <= 0 {
		downtime = RebootDowntime
	}
	p.downtime = downtime
	p.SetUnrooted(cfg.Unrooted)
	srv, err := adbd.Listen(cfg.Addr, p, adbd.WithLogger(log), adbd.WithRebootDowntime(downtime))
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	p.srv = srv
	p.SetTunnel(srv)
	if cfg.Seed == "" {
		p.reseed(srv.Addr())
	}
	if ruleset != nil {
		p.setDefaultSettings(ruleset.Settings)
	}
	p.tel = telemetry.Start(telemetry.Config{
		Rules:    ruleset,
		Source:   p,
		Identity: p.identity(srv.Addr()),
		Truth:    telemetry.NewTruth(cfg.Truth),
		Logger:   log,
		NoiseOff: cfg.NoNoise,
	})
	p.SetObserver(p.tel)
	log.Info("simulated phone up", "serial", srv.Addr(), "model", prof.Name, "firmware", fw.Version, "telemetry", ruleset != nil)
	return p, nil
}

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

func (p *Phone) identity(serial string) telemetry.Identity {
	brand := p.Prop("ro.product.brand")
	if brand == "" {
		brand = "Xiaomi"
	}
	return telemetry.Identity{
		Serial: serial, Device: p.Prop("ro.product.device"), Model: p.Prop("ro.product.model"), Brand: brand,
		MIUIVersion: p.fw.Version, Android: p.fw.Android, AndroidID: p.androidID, IMEI: p.imei,
		AppVersions: p.fw.Apps,
	}
}

// Serial is the phone's adb serial once started ("127.0.0.1:PORT").
func (p *Phone) Serial() string { return p.Addr() }

// Addr is where the phone's adbd listens ("" for a phone built with New).
func (p *Phone) Addr() string {
	if p.srv == nil {
		return ""
	}
	return p.srv.Addr()
}

// Flush waits until the phone's queued telemetry has been sent or given up on.
func (p *Phone) Flush(ctx context.Context) error {
	if p.tel == nil {
		return nil
	}
	return p.tel.Flush(ctx)
}

// Close stops the phone: adbd and telemetry.
func (p *Phone) Close() error {
	var err error
	if p.srv != nil {
		err = p.srv.Close()
	}
	if p.tel != nil {
		p.tel.Close()
	}
	return err
}
