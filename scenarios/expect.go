// Package scenarios holds the Ginkgo suites that drive each leased phone
// through user actions and assert which of them leak, against the known
// leaks of the phone's firmware (its profile) or, with --policy strict,
// against none at all. This file is the part of the suite that is plain Go:
// what a spec expects.
package scenarios

import (
	"fmt"
	"strings"

	"telltale.dev/devices/profiles"
)

// Policies.
const (
	// PolicyKnown asserts each firmware's known leaks exactly: a leak that
	// appears, or one that goes away, fails the spec.
	PolicyKnown = "known-leaks"
	// PolicyStrict fails on every leak, for teams that ship firmware.
	PolicyStrict = "strict"
)

// ParsePolicy checks a --policy value.
func ParsePolicy(s string) (string, error) {
	switch s {
	case "", PolicyKnown:
		return PolicyKnown, nil
	case PolicyStrict:
		return PolicyStrict, nil
	}
	return "", fmt.Errorf("--policy %q: want %q or %q", s, PolicyKnown, PolicyStrict)
}

// Setting reads a device setting ("secure", "key"); ok is false when unset.
type Setting func(ns, key string) (value string, ok bool, err error)

// Expected returns the known leaks of fw for action whose condition holds on
// the device now. A condition is "" (always) or "setting:NS:KEY=VALUE";
// "setting:KEY=VALUE" names a key of the profile's browser switch namespace
// (secure) for short.
func Expected(p *profiles.Profile, fw *profiles.Firmware, action string, get Setting) ([]profiles.KnownLeak, error) {
	var out []profiles.KnownLeak
	for _, kl := range fw.KnownLeaks {
		if kl.Action != action {
			continue
		}
		ok, err := holds(p, kl.When, get)
		if err != nil {
			return nil, fmt.Errorf("profile %s firmware %s, known leak %s to %s: %w", p.Name, fw.Version, kl.Action, kl.Host, err)
		}
		if ok {
			out = append(out, kl)
		}
	}
	return out, nil
}

func holds(p *profiles.Profile, when string, get Setting) (bool, error) {
	when = strings.TrimSpace(when)
	if when == "" {
		return true, nil
	}
	cond, ok := strings.CutPrefix(when, "setting:")
	if !ok {
		return false, fmt.Errorf("condition %q: only \"setting:NS:KEY=VALUE\" is understood", when)
	}
	name, want, ok := strings.Cut(cond, "=")
	if !ok {
		return false, fmt.Errorf("condition %q: want setting:NS:KEY=VALUE", when)
	}
	ns, key, ok := strings.Cut(name, ":")
	if !ok {
		ns, key = "secure", name
		if sw := p.Actions.Browser.AggregatedSwitch; sw != "" {
			if swNS, swKey, ok := strings.Cut(sw, ":"); ok && strings.HasSuffix(swKey, key) {
				ns, key = swNS, swKey
			}
		}
	}
	v, set, err := get(ns, key)
	if err != nil {
		return false, err
	}
	if !set {
		// An unset switch takes the firmware's default, which the profile's
		// known leaks describe as the unconditional case: treat as on.
		return want == "1", nil
	}
	return v == want, nil
}
