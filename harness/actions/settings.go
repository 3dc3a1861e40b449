package actions

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"telltale.dev/devices/profiles"
	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/session"
)

// SettingCanary makes the canary a setting target takes: a whole number
// for settings the system validates as integers (screen_brightness, set
// with a slider that only reaches 0..Max), else text.
func SettingCanary(g *canary.Generator, id string, t profiles.SettingTarget) canary.Canary {
	if t.Canary == profiles.CanaryNumber {
		return g.Number(id)
	}
	return g.SettingValue(id)
}

// ChangeSetting changes the setting ns:key to the canary's value in the
// Settings app, which is what reports a change (the profile's flow for the
// setting, with ${value} and, for a slider, ${percent}); a shell `settings
// put` reports nothing. It reads the value back, and journals the old one,
// which teardown puts back.
func ChangeSetting(ctx context.Context, s *session.Session, ns, key string, value canary.Canary) (*Result, error) {
	p := phoneOf(s)
	t, err := p.target(ns, key, value)
	if err != nil {
		return nil, err
	}
	return window(ctx, s, profiles.ActionChangeSetting, []canary.Canary{value}, func(ctx context.Context) error {
		if err := p.ready(ctx); err != nil {
			return err
		}
		if err := s.RecordSetting(ctx, ns, key, value.Value); err != nil {
			return err
		}
		if t.Canary != profiles.CanaryNumber {
			if err := p.flow(ctx, t.Flow, map[string]string{"value": value.Value}); err != nil {
				return err
			}
			return p.expectSetting(ctx, ns, key, value.Value)
		}
		return p.slide(ctx, t, value.Value)
	})
}

// target is the profile's entry for ns:key, checked against the canary.
func (p *phone) target(ns, key string, value canary.Canary) (profiles.SettingTarget, error) {
	for _, t := range p.profile().Actions.Settings {
		if t.Namespace != ns || t.Key != key {
			continue
		}
		if t.Flow == "" {
			return t, fmt.Errorf("change-setting %s:%s: profile %s names no flow for it (actions.settings flow:)", ns, key, p.profile().Name)
		}
		if n, err := strconv.Atoi(value.Value); t.Canary == profiles.CanaryNumber && (err != nil || n < 0 || n > t.Max) {
			return t, fmt.Errorf("change-setting %s:%s takes a whole number from 0 to %d (actions.SettingCanary makes one), not %q", ns, key, t.Max, value.Value)
		}
		return t, nil
	}
	return profiles.SettingTarget{}, fmt.Errorf("change-setting %s:%s: profile %s does not list it under actions.settings", ns, key, p.profile().Name)
}

// slide sets a number setting with its slider as a person watching the
// number does: a tap at the value's fraction of the track, then taps
// between the closest readings below and above (the track's ends read 0
// and Max), since a real SeekBar's padding puts values a little off its
// bounds' fractions. The Illinois variant of regula falsi keeps a reading
// stuck on one side from slowing the search; every whole number from 12 to
// Max-12 is reached within slideTries on tracks from 480 to 1440 px.
func (p *phone) slide(ctx context.Context, t profiles.SettingTarget, value string) error {
	want, _ := strconv.Atoi(value)
	// f is the reading minus want at a percent; the ends aim half a value
	// out, so the first bracketed tap aims at the middle of want's step.
	lo, flo := 0.0, -float64(want)-0.5
	hi, fhi := 100.0, float64(t.Max-want)+0.5
	side := 0
	percent := 100 * float64(want) / float64(t.Max)
	var got int
	for try := 0; try < slideTries; try++ {
		if err := p.flow(ctx, t.Flow, map[string]string{"value": value, "percent": strconv.FormatFloat(percent, 'f', 2, 64)}); err != nil {
			return err
		}
		v, err := p.s.Setting(ctx, t.Namespace, t.Key)
		if err != nil {
			return err
		}
		if v == nil {
			return fmt.Errorf("change-setting %s:%s: the slider left it unset", t.Namespace, t.Key)
		}
		if got, err = strconv.Atoi(strings.TrimSpace(*v)); err != nil {
			return fmt.Errorf("change-setting %s:%s: the phone reports %q, not a number", t.Namespace, t.Key, *v)
		}
		if got == want {
			return nil
		}
		if f := float64(got - want); f < 0 {
			lo, flo = percent, f
			if side < 0 {
				fhi /= 2
			}
			side = -1
		} else {
			hi, fhi = percent, f
			if side > 0 {
				flo /= 2
			}
			side = 1
		}
		percent = lo - flo*(hi-lo)/(fhi-flo)
	}
	return fmt.Errorf("change-setting %s:%s: the slider set %d, not %d, after %d tries: check the flow's slider selector", t.Namespace, t.Key, got, want, slideTries)
}

// slideTries bounds slide's taps.
const slideTries = 5

// expectSetting checks that the app wrote the value.
func (p *phone) expectSetting(ctx context.Context, ns, key, want string) error {
	v, err := p.s.Setting(ctx, ns, key)
	if err != nil {
		return err
	}
	if v == nil || *v != want {
		got := "unset"
		if v != nil {
			got = strconv.Quote(*v)
		}
		return fmt.Errorf("change-setting %s:%s: after the flow it is %s, not %q: the flow did not reach the setting", ns, key, got, want)
	}
	return nil
}
