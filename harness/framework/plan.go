package framework

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"telltale.dev/devices/profiles"
	"telltale.dev/harness/lease"
)

// slot is one device of the spec tree. Real devices are leased at tree time
// (every process lists the same servers and gets the same sorted list);
// simulated ones are known by model and firmware and get their serial when
// process 1 starts them.
type slot struct {
	Index    int
	Profile  *profiles.Profile
	Firmware *profiles.Firmware
	Lease    lease.Lease // empty Serial for a simulated phone not yet started
}

func (s slot) title() string {
	serial := s.Lease.Serial
	if serial == "" {
		serial = fmt.Sprintf("sim %d", s.Index+1)
	}
	return fmt.Sprintf("%s %s (%s)", s.Profile.DisplayName, s.Firmware.Version, serial)
}

// errNoDevices is a plan with nothing to run on.
var errNoDevices = errors.New("no device selected: check --adb/TELLTALE_ADB (telltale devices lists what each server has), --model and --firmware")

func isSimSpec(s string) bool { return strings.HasPrefix(strings.TrimSpace(s), "sim:") }

// sims returns the simulated phones the flags ask for: --devices with sim:
// entries, or the built-in default when no adb server is named.
func (f Flags) sims() []string {
	if isSimSpec(f.Devices) {
		var out []string
		for _, d := range strings.Split(f.Devices, ",") {
			if d = strings.TrimSpace(d); d != "" {
				out = append(out, strings.TrimPrefix(d, "sim:"))
			}
		}
		return out
	}
	if f.Devices == "" && f.ADB == "" && os.Getenv(lease.EnvADB) == "" {
		return []string{"redmi-note-8"}
	}
	return nil
}

// filter is the device filter from the flags.
func (f Flags) filter() (lease.Filter, error) {
	flt := lease.Filter{Firmware: f.Firmware}
	for _, m := range strings.Split(f.Model, ",") {
		if m = strings.TrimSpace(m); m != "" {
			flt.Models = append(flt.Models, m)
		}
	}
	if f.Devices != "" && !isSimSpec(f.Devices) {
		re, err := regexp.Compile(f.Devices)
		if err != nil {
			return flt, fmt.Errorf("--devices %q: not a serial regex: %w", f.Devices, err)
		}
		flt.Serial = re
	}
	return flt, nil
}

// plan lists the devices the flags select, in the same order in every
// process; skipped devices are reported to log with the reason.
func (f Flags) plan(ctx context.Context, log io.Writer) ([]slot, error) {
	profs, err := profiles.Load()
	if err != nil {
		return nil, err
	}
	var slots []slot
	if specs := f.sims(); specs != nil {
		for _, spec := range specs {
			p, fw, err := f.findSim(profs, spec)
			if err != nil {
				return nil, err
			}
			slots = append(slots, slot{Index: len(slots), Profile: p, Firmware: fw})
		}
		return slots, nil
	}
	servers, err := lease.Servers(f.ADB)
	if err != nil {
		return nil, err
	}
	flt, err := f.filter()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := lease.ConnectRemote(ctx, servers[0], f.Connect); err != nil {
		return nil, err
	}
	leases, skipped, err := lease.Discover(ctx, servers, profs, flt)
	if err != nil {
		return nil, err
	}
	for _, s := range skipped {
		fmt.Fprintf(log, "telltale: not using %s on %s: %s\n", s.Serial, s.Server, s.Reason)
	}
	if len(leases) == 0 {
		return nil, errNoDevices
	}
	for _, l := range leases {
		p := profiles.ByName(profs, l.Profile)
		fw, err := p.FindFirmware(l.Firmware)
		if err != nil {
			return nil, err
		}
		slots = append(slots, slot{Index: len(slots), Profile: p, Firmware: fw, Lease: l})
	}
	return slots, nil
}

// findSim resolves "MODEL[@FIRMWARE]"; the default firmware is --firmware,
// else the oldest (the leaky one), so the demo shows the 2020 leak.
func (f Flags) findSim(profs []*profiles.Profile, spec string) (*profiles.Profile, *profiles.Firmware, error) {
	model, version, _ := strings.Cut(spec, "@")
	if version == "" {
		version = f.Firmware
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
