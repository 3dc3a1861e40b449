// Package expect says what a spec expects of a phone under a leak policy:
// the routes each planted canary takes on its firmware (the profile's known
// leaks whose condition holds now), and, for actions that plant nothing,
// the endpoints and events the firmware sends for them. It is plain Go: the
// framework turns its answers into assertions.
package expect

import (
	"fmt"
	"slices"
	"strings"

	"telltale.dev/devices/profiles"
	"telltale.dev/harness/matchers"
)

// Policy is what a run asserts.
type Policy string

const (
	// KnownLeaks asserts each firmware's known leaks exactly: a leak that
	// appears (a new host, a new chain) or one that goes away fails the
	// spec, and so does a change in what an action without a canary sends.
	KnownLeaks Policy = "known-leaks"
	// Strict fails on every leak, for teams that ship firmware.
	Strict Policy = "strict"
)

// Policies lists the policies, the default first.
var Policies = []Policy{KnownLeaks, Strict}

// ParsePolicy checks a --policy value; "" is the default.
func ParsePolicy(s string) (Policy, error) {
	if s == "" {
		return KnownLeaks, nil
	}
	if p := Policy(s); slices.Contains(Policies, p) {
		return p, nil
	}
	return "", fmt.Errorf("--policy %q: want %q or %q", s, KnownLeaks, Strict)
}

// State reads what a known leak's condition names on the device.
type State struct {
	// Setting reads an Android setting ("secure", "key"); ok is false when
	// it is unset.
	Setting func(ns, key string) (value string, ok bool, err error)
	// Switch reads one of the profile's in-app switches (profiles.Switch)
	// as the app shows it: on or off.
	Switch func(name string) (on bool, err error)
}

// Leaks returns the known leaks of fw for action whose condition holds on
// the device now. A condition is "" (always), "switch:NAME=on|off" (an
// in-app switch of the profile) or "setting:NS:KEY=VALUE".
func Leaks(p *profiles.Profile, fw *profiles.Firmware, action string, st State) ([]profiles.KnownLeak, error) {
	var out []profiles.KnownLeak
	for _, kl := range fw.KnownLeaks {
		if kl.Action != action {
			continue
		}
		ok, err := holds(kl.When, st)
		if err != nil {
			return nil, fmt.Errorf("profile %s firmware %s, known leak %s to %s: %w", p.Name, fw.Version, kl.Action, kl.Host, err)
		}
		if ok {
			out = append(out, kl)
		}
	}
	return out, nil
}

// Routes are the routes of known leaks, for matchers.LeakExactly.
func Routes(leaks []profiles.KnownLeak) []matchers.Route {
	out := make([]matchers.Route, 0, len(leaks))
	for _, kl := range leaks {
		out = append(out, matchers.Route{Host: kl.Host, Via: kl.Via})
	}
	return out
}

// Conditional says whether one of fw's known leaks of action has a
// condition: the firmware has a switch for it, worth a spec of its own.
func Conditional(fw *profiles.Firmware, action string) bool {
	return slices.ContainsFunc(fw.KnownLeaks, func(kl profiles.KnownLeak) bool { return kl.Action == action && kl.When != "" })
}

func holds(when string, st State) (bool, error) {
	when = strings.TrimSpace(when)
	if when == "" {
		return true, nil
	}
	if cond, ok := strings.CutPrefix(when, "switch:"); ok {
		name, want, ok := strings.Cut(cond, "=")
		if !ok || want != "on" && want != "off" {
			return false, fmt.Errorf("condition %q: want switch:NAME=on|off", when)
		}
		if st.Switch == nil {
			return false, fmt.Errorf("condition %q: this harness cannot read the switch %s", when, name)
		}
		on, err := st.Switch(name)
		if err != nil {
			return false, fmt.Errorf("condition %q: read the switch: %w", when, err)
		}
		return on == (want == "on"), nil
	}
	cond, ok := strings.CutPrefix(when, "setting:")
	if !ok {
		return false, fmt.Errorf("condition %q: only switch:NAME=on|off and setting:NS:KEY=VALUE are understood", when)
	}
	name, want, ok := strings.Cut(cond, "=")
	ns, key, ok2 := strings.Cut(name, ":")
	if !ok || !ok2 {
		return false, fmt.Errorf("condition %q: want setting:NS:KEY=VALUE", when)
	}
	if st.Setting == nil {
		return false, fmt.Errorf("condition %q: this harness cannot read settings", when)
	}
	v, set, err := st.Setting(ns, key)
	if err != nil {
		return false, err
	}
	return set && v == want, nil
}

// Traffic is what fw sends for action beyond the idle phone's traffic, and
// what it may send at any time (the background), from the profile's sends.
func Traffic(fw *profiles.Firmware, action string) (want, background matchers.Traffic) {
	for _, s := range fw.Sends {
		switch s.Action {
		case action:
			want.Endpoints = append(want.Endpoints, s.Endpoint)
			want.Events = append(want.Events, s.Events...)
		case profiles.ActionBackground:
			background.Endpoints = append(background.Endpoints, s.Endpoint)
			background.Events = append(background.Events, s.Events...)
		}
	}
	return want, background
}

// String is the policy's flag value.
func (p Policy) String() string { return string(p) }

// MarshalText makes a Policy a flag.TextVar value.
func (p Policy) MarshalText() ([]byte, error) { return []byte(p), nil }

// UnmarshalText checks a --policy value.
func (p *Policy) UnmarshalText(b []byte) error {
	v, err := ParsePolicy(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}
