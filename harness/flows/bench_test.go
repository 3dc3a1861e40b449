package flows_test

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim"
	"telltale.dev/harness/flows"
	"telltale.dev/harness/ui"
)

// BenchmarkFlowStep times the steps a flow adds to the driver's own
// (harness/ui BenchmarkStep has dump, find, tap): a launch through `am
// start -W`, a toggle that finds its switch beside its label and needs no
// tap, and an erase (find, tap, one keyevent for the whole text), on a
// simulated Redmi Note 8 through the real adb server. Run with
//
//	go test ./harness/flows -run '^$' -bench FlowStep -benchtime 20x
func BenchmarkFlowStep(b *testing.B) {
	p := start(b, "redmi-note-8", "V12.0.2.0", sim.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	lib, err := profiles.ParseLibrary("bench.yaml", []byte(`flows:
  launch:
    - launch: ${browser}
  menu:
    - run: launch
    - tap: desc=Menu
  toggle:
    - toggle: {on: text=Incognito mode, to: "${state}"}
  erase:
    - erase: id=url
  focus:
    - back
    - tap: [id=search_hint, id=url]
    - type: hello
`))
	if err != nil {
		b.Fatal(err)
	}
	all := p.prof.FlowsFor(p.fw)
	maps.Copy(all, lib.Flows)
	r := flows.New(flows.Phone{UI: ui.New(p.dev, ui.Options{}), Shell: p.dev.RunCommand}, all,
		map[string]string{"browser": p.prof.Actions.Browser.Component})
	run := func(b *testing.B, name string, params map[string]string) {
		b.Helper()
		for b.Loop() {
			if err := r.Run(ctx, name, params); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("launch", func(b *testing.B) { run(b, "launch", nil) })
	b.Run("toggle-unchanged", func(b *testing.B) {
		if err := r.Run(ctx, "menu", nil); err != nil {
			b.Fatal(err)
		}
		run(b, "toggle", map[string]string{"state": "off"})
	})
	b.Run("erase", func(b *testing.B) {
		if err := r.Run(ctx, "focus", nil); err != nil {
			b.Fatal(err)
		}
		run(b, "erase", nil)
	})
}

// BenchmarkFlow times each action's flow end to end on the simulated
// phone (no proxy window): what a person's taps cost the harness per
// action.
//
//	go test ./harness/flows -run '^$' -bench 'Flow$' -benchtime 10x
func BenchmarkFlow(b *testing.B) {
	p := start(b, "redmi-note-8", "V12.0.2.0", sim.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	r := p.runner()
	n := 0
	next := func() string { n++; return fmt.Sprintf("bench_%04d", n) }
	for _, c := range []struct {
		flow   string
		params func() map[string]string
	}{
		{profiles.ActionBrowseIncognito, func() map[string]string { return map[string]string{"url": "https://" + next() + ".example/"} }},
		{profiles.ActionSearch, func() map[string]string { return map[string]string{"phrase": "bench " + next()} }},
		{"set-brightness", func() map[string]string { return map[string]string{"value": "128", "percent": "50.20"} }},
		{"set-device-name", func() map[string]string { return map[string]string{"value": next()} }},
		{profiles.ActionCreateFolder, func() map[string]string { return map[string]string{"name": next()} }},
	} {
		b.Run(c.flow, func(b *testing.B) {
			for b.Loop() {
				if err := r.Run(ctx, c.flow, c.params()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("switch-read", func(b *testing.B) {
		sw := p.prof.Switches[profiles.SwitchEnhancedIncognito]
		for b.Loop() {
			if _, err := r.Switch(ctx, sw, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
}
