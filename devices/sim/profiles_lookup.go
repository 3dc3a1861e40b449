package sim

import (
	"fmt"
	"strings"

	"telltale.dev/devices/profiles"
)

// lookupProfile finds a model among the built-in and user profiles.
func lookupProfile(name string) (*profiles.Profile, error) {
	all, err := profiles.Load()
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	if name == "" {
		name = "redmi-note-8"
	}
	p := profiles.ByName(all, name)
	if p == nil {
		return nil, fmt.Errorf("sim: no model %q (known: %s; see `telltale sim --list-models`)", name, strings.Join(profiles.Names(all), ", "))
	}
	return p, nil
}

// resolveFirmware finds a firmware by full or short version; empty gives the
// model's oldest.
func resolveFirmware(prof *profiles.Profile, version string) (*profiles.Firmware, error) {
	if version == "" {
		if len(prof.Firmware) == 0 {
			return nil, fmt.Errorf("sim: profile %s lists no firmware", prof.Name)
		}
		return &prof.Firmware[0], nil
	}
	fw, err := prof.FindFirmware(version)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	return fw, nil
}
