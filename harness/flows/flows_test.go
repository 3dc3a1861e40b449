package flows_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"telltale.dev/devices/adb"
	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/rig/rigtest"
	"telltale.dev/harness/flows"
	"telltale.dev/harness/ui"
)

// phone is a simulated phone on a real adb server, driven only through adb
// (uiautomator dump, input, am), with what its apps did kept from its bus
// to check against.
type phone struct {
	sim    *sim.Phone
	dev    *adb.Device
	prof   *profiles.Profile
	fw     *profiles.Firmware
	mu     sync.Mutex
	events []event.Event
}

func start(t testing.TB, model, firmware string, cfg sim.Config) *phone {
	t.Helper()
	profs, err := profiles.Load()
	if err != nil {
		t.Fatal(err)
	}
	p := &phone{prof: profiles.ByName(profs, model)}
	if p.fw, err = p.prof.FindFirmware(firmware); err != nil {
		t.Fatal(err)
	}
	r := rigtest.New(t)
	cfg.Profile, cfg.Firmware, cfg.NoNoise = p.prof, p.fw.Version, true
	p.sim = rigtest.Phone(t, r, cfg)
	p.dev = r.Client().Device(p.sim.Serial())
	t.Cleanup(p.sim.Subscribe(func(e event.Event) {
		p.mu.Lock()
		p.events = append(p.events, e)
		p.mu.Unlock()
	}))
	return p
}

func (p *phone) runner() *flows.Runner {
	return flows.New(flows.Phone{UI: ui.New(p.dev, ui.Options{}), Shell: p.dev.RunCommand},
		p.prof.FlowsFor(p.fw), map[string]string{"browser": p.prof.Actions.Browser.Component})
}

// seen returns the events of type E the phone published so far.
func seen[E event.Event](p *phone) []E {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []E
	for _, e := range p.events {
		if v, ok := e.(E); ok {
			out = append(out, v)
		}
	}
	return out
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestBrowserFlows runs the Mi Browser flows of the MIUI library on a
// simulated Redmi Note 8: browsing and searching in an incognito tab
// opened from the menu, twice (the second finds incognito already on and
// must not turn it off), and the in-app switch read and set on its page.
func TestBrowserFlows(t *testing.T) {
	p := start(t, "redmi-note-8", "V12.0.2.0", sim.Config{})
	ctx, r := ctxFor(t), p.runner()
	for _, u := range []string{"https://amber-flow.example/one", "https://birch-flow.example/two"} {
		if err := r.Run(ctx, profiles.ActionBrowseIncognito, map[string]string{"url": u}); err != nil {
			t.Fatal(err)
		}
		loads := seen[event.PageLoaded](p)
		if len(loads) == 0 || loads[len(loads)-1].URL != u || !loads[len(loads)-1].Incognito {
			t.Fatalf("after browsing %s the browser loaded %+v, want it last and incognito", u, loads)
		}
	}
	if err := r.Run(ctx, profiles.ActionSearch, map[string]string{"phrase": "cobalt dune x7k2"}); err != nil {
		t.Fatal(err)
	}
	if s := seen[event.Searched](p); len(s) != 1 || s[0].Query != "cobalt dune x7k2" || !s[0].Incognito {
		t.Fatalf("searches %+v, want one incognito search for the phrase", s)
	}

	sw := p.prof.Switches[profiles.SwitchEnhancedIncognito]
	if was, err := r.Switch(ctx, sw, "off"); err != nil || !was {
		t.Fatalf("switch: was on %v, %v; want on by default", was, err)
	}
	if was, err := r.Switch(ctx, sw, ""); err != nil || was {
		t.Fatalf("after turning it off the switch reads on=%v, %v", was, err)
	}
	if err := r.Run(ctx, profiles.ActionBrowseIncognito, map[string]string{"url": "https://cobalt-flow.example/three"}); err != nil {
		t.Fatal(err)
	}
	if loads := seen[event.PageLoaded](p); loads[len(loads)-1].Report {
		t.Errorf("with the switch off the browser still reports %+v", loads[len(loads)-1])
	}
}

const failing = `flows:
  open:
    - launch: ${browser}
  broken:
    - run: open
    - tap: [desc=No such button, "text~=^Nowhere$"]
      timeout: 1s
  skip:
    - tap: desc=No such button
      optional: true
      timeout: 500ms
    - tap: text=Nowhere
      if: text=Nowhere
  bad-launch:
    - launch: com.example.absent/.Main
`

// TestStepError: a failing step stops its flow with the step, where it is
// written, its selectors, the screen's hierarchy and a screenshot; optional
// and conditional steps are skipped; a launch that prints "Error:" with
// exit 0 fails.
func TestStepError(t *testing.T) {
	p := start(t, "redmi-note-8", "V11.0.3.0", sim.Config{})
	lib, err := profiles.ParseLibrary("testdata/failing.yaml", []byte(failing))
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t)
	r := flows.New(flows.Phone{UI: ui.New(p.dev, ui.Options{}), Shell: p.dev.RunCommand}, lib.Flows,
		map[string]string{"browser": p.prof.Actions.Browser.Component})
	var log bytes.Buffer
	r.Log = &log
	if err := r.Check("broken"); err != nil {
		t.Fatalf("Check: %v", err)
	}
	err = r.Run(ctx, "broken", nil)
	var se *flows.StepError
	if !errors.As(err, &se) {
		t.Fatalf("error %v, want a *StepError", err)
	}
	var nf *ui.NotFoundError
	if !errors.As(err, &nf) {
		t.Errorf("the step error does not keep the driver's %T: %v", nf, err)
	}
	for _, want := range []string{"flow broken, step 2", "testdata/failing.yaml line 6", `desc=No such button`, "com.mi.globalbrowser"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if se.Screen == nil || !bytes.Contains(se.Screen.XML, []byte("search_hint")) {
		t.Errorf("no hierarchy of the browser's screen kept: %v", se.Evidence)
	}
	if !bytes.HasPrefix(se.Screenshot, []byte("\x89PNG")) {
		t.Errorf("no screenshot kept (%d bytes): %v", len(se.Screenshot), se.Evidence)
	}
	if got := se.Selectors(); len(got) != 2 || got[1] != "text~=^Nowhere$" {
		t.Errorf("selectors %q", got)
	}
	if err := r.Run(ctx, "skip", nil); err != nil {
		t.Errorf("optional and conditional steps: %v", err)
	}
	if !strings.Contains(log.String(), "skipped (optional)") || !strings.Contains(log.String(), "skipped (condition)") {
		t.Errorf("log does not say what was skipped:\n%s", log.String())
	}
	err = r.Run(ctx, "bad-launch", nil)
	if !errors.Is(err, flows.ErrPhone) || !strings.Contains(err.Error(), "Error") {
		t.Errorf("launching a missing app: %v", err)
	}
}

// TestCheck: a flow is checked before it runs: parameters the action does
// not give, selectors that do not parse and missing flows are named with
// their file and line.
func TestCheck(t *testing.T) {
	lib, err := profiles.ParseLibrary("flows/x.yaml", []byte(`flows:
  a:
    - run: {flow: b, params: {address: "${url}"}}
  b:
    - type: ${address}
    - tap: "text~=("
  c:
    - run: nowhere
`))
	if err != nil {
		t.Fatal(err)
	}
	r := flows.New(flows.Phone{}, lib.Flows, nil)
	for _, tc := range []struct {
		flow   string
		params []string
		want   []string
	}{
		{"a", nil, []string{"flows/x.yaml line 3", "${url}"}},
		{"a", []string{"url"}, []string{"flows/x.yaml line 6", "text~=("}},
		{"c", nil, []string{"no flow nowhere"}},
		{"d", nil, []string{"no flow d", "have a, b, c"}},
	} {
		err := r.Check(tc.flow, tc.params...)
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("Check(%s, %v) = %v, want it to say %q", tc.flow, tc.params, err, w)
			}
		}
	}
}

// TestBuiltinFlowsCheck: every built-in profile's flows, on each
// firmware, run with the parameters their actions give.
func TestBuiltinFlowsCheck(t *testing.T) {
	t.Setenv(profiles.EnvDir, "")
	profs, err := profiles.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range profs {
		for i := range p.Firmware {
			r := flows.New(flows.Phone{}, p.FlowsFor(&p.Firmware[i]), map[string]string{"browser": p.Actions.Browser.Component})
			for name, params := range map[string][]string{
				profiles.ActionBrowseIncognito: {"url"}, profiles.ActionSearch: {"phrase"}, profiles.ActionCreateFolder: {"name"},
				"connect-wifi": {"ssid"}, "forget-wifi": {"ssid"},
			} {
				if err := r.Check(name, params...); err != nil {
					t.Errorf("%s %s: %v", p.Name, p.Firmware[i].Version, err)
				}
			}
			for _, s := range p.Actions.Settings {
				if err := r.Check(s.Flow, "value", "percent"); err != nil {
					t.Errorf("%s %s: %v", p.Name, p.Firmware[i].Version, err)
				}
			}
		}
	}
}
