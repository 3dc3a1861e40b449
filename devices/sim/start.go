package sim

import (
	"context"
	"fmt"
	"log/slog"

	"telltale.dev/devices/sim/adbd"
	"telltale.dev/devices/sim/sdk"
	"telltale.dev/devices/sim/sdk/device"
	"telltale.dev/protocols"
)

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
	ruleset := cfg.Telemetry
	if ruleset == nil {
		rules, err := sdk.DefaultRules()
		if err != nil {
			return nil, fmt.Errorf("sim: %w", err)
		}
		ruleset = sdk.Select(rules, prof.Name, fw.Version)
	}
	timing, err := device.ParseTiming(cfg.TelemetryTiming)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}

	// adbd needs the Device before it listens, and the phone's identity
	// depends on the serial (the listen address): build, listen, then seed.
	p, err := build(prof, fw, cfg)
	if err != nil {
		return nil, err
	}
	srv, err := adbd.Listen(cfg.Addr, p, adbd.WithLogger(log), adbd.WithRebootDowntime(p.downtime))
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	p.srv.Store(srv)
	p.net.SetTunnel(srv)
	seed := cfg.Seed
	if seed == "" {
		seed = srv.Addr()
		androidID, _ := deviceIDs(prof, fw, seed)
		p.settings.Seed(map[string]string{"secure:android_id": androidID})
		p.props.Init("ro.serialno", serialFrom(androidID))
	}
	p.tel, err = sdk.Start(sdk.Config{
		Rules: ruleset, Bus: p.bus, Sources: p.triggerSources(), Clock: p.clock, Files: p.fs, Net: p.net,
		Identity: p.identity(srv.Addr(), seed), Truth: cfg.Truth, Timing: timing, Logger: log, NoiseOff: cfg.NoNoise,
	})
	if err == nil {
		err = p.services.Add(sdk.ServiceName, p.tel)
	}
	if err != nil {
		_ = srv.Close()
		return nil, fmt.Errorf("sim: %w", err)
	}
	log.Info("simulated phone up", "serial", srv.Addr(), "model", prof.Name, "firmware", fw.Version, "telemetry", ruleset != nil)
	return p, nil
}

// triggerSources is what the telemetry's triggers read of the phone.
func (p *Phone) triggerSources() sdk.Sources {
	return sdk.Sources{Packages: p.packages, Network: p.wifi}
}

func (p *Phone) identity(serial, seed string) device.Identity {
	brand := p.Prop("ro.product.brand")
	if brand == "" {
		brand = "Xiaomi"
	}
	androidID, imei := deviceIDs(p.prof, p.fw, seed)
	region := p.Prop("ro.miui.region")
	if region == "" {
		region = protocols.RegionGlobal
	}
	return device.Identity{
		Serial: serial, Device: p.Prop("ro.product.device"), Model: p.Prop("ro.product.model"), Brand: brand,
		MIUIVersion: p.fw.Version, Android: p.fw.Android, AndroidID: androidID, IMEI: imei,
		Region: region, AppVersions: p.fw.Apps,
	}
}

// Serial is the phone's adb serial once started ("127.0.0.1:PORT").
func (p *Phone) Serial() string { return p.Addr() }

// Addr is where the phone's adbd listens ("" for a phone built with New).
func (p *Phone) Addr() string {
	if srv := p.srv.Load(); srv != nil {
		return srv.Addr()
	}
	return ""
}

// Flush waits until the phone's queued telemetry has been sent or given up
// on. With realistic timing that is the SDKs' own pace; events that cannot
// leave (no network) keep it waiting until ctx ends.
func (p *Phone) Flush(ctx context.Context) error {
	if p.tel == nil {
		return nil
	}
	return p.tel.Drain(ctx)
}

// Idle waits until the phone's telemetry is not uploading nor about to: for
// tests on a clock.Fake, after each Advance.
func (p *Phone) Idle(ctx context.Context) error {
	if p.tel == nil {
		return nil
	}
	return p.tel.Idle(ctx)
}

// Close stops the phone: adbd and telemetry.
func (p *Phone) Close() error {
	var err error
	if srv := p.srv.Load(); srv != nil {
		err = srv.Close()
	}
	if p.tel != nil {
		p.tel.Close()
	}
	return err
}
