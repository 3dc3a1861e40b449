package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/adb"
	"telltale.dev/devices/sim"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/rig/rigtest"
	hui "telltale.dev/harness/ui"
)

// Phone is a simulated phone on a real adb server of its own, driven the
// way the harness drives a phone: `uiautomator dump` and `input` through
// telltale.dev/harness/ui's driver. It records the events the phone's apps
// publish that tests ask about.
type Phone struct {
	T   *testing.T
	Sim *sim.Phone
	Dev *adb.Device
	UI  *hui.Driver
	Ctx context.Context

	events Events
}

// StartPhone starts a phone of cfg; it stops with the test.
func StartPhone(t *testing.T, cfg sim.Config) *Phone {
	t.Helper()
	r := rigtest.New(t)
	sp := rigtest.Phone(t, r, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	dev := r.Client().Device(sp.Serial())
	p := &Phone{T: t, Sim: sp, Dev: dev, Ctx: ctx, UI: hui.New(dev, hui.Options{Wait: 5 * time.Second, Poll: 20 * time.Millisecond})}
	t.Cleanup(sp.Subscribe(func(ev event.Event) {
		switch ev.(type) {
		case event.PageLoaded, event.Searched, event.FolderOpened, event.SettingEdited, event.WifiConnected, event.WifiDisconnected:
			p.events.add(ev)
		}
	}))
	return p
}

// Take returns the app events so far, each as %T%+v, and forgets them.
// The phone publishes them before the input command that caused them
// returns.
func (p *Phone) Take() []string { return p.events.Take() }

// Expect checks the events since the last Take.
func (p *Phone) Expect(want ...string) {
	p.T.Helper()
	if got := p.Take(); fmt.Sprint(got) != fmt.Sprint(want) {
		p.T.Errorf("events\n got %q\nwant %q", got, want)
	}
}

// Shell runs a command and returns its stdout; a failure to run it fails
// the test.
func (p *Phone) Shell(cmd string) string {
	p.T.Helper()
	r, err := p.Dev.Shell(p.Ctx, cmd)
	if err != nil {
		p.T.Fatalf("%s: %v", cmd, err)
	}
	return string(r.Stdout)
}

// Start launches an activity as `am start -W` does, checking its report.
func (p *Phone) Start(component string) {
	p.T.Helper()
	if out := p.Shell("am start -W -n " + component); !strings.Contains(out, "Status: ok") {
		p.T.Fatalf("am start %s:\n%s", component, out)
	}
}

func (p *Phone) selectors(sels []string) []hui.Selector {
	p.T.Helper()
	out := make([]hui.Selector, len(sels))
	for i, s := range sels {
		sel, err := hui.ParseSelector(s)
		if err != nil {
			p.T.Fatal(err)
		}
		out[i] = sel
	}
	return out
}

// Tap waits for the first of the selectors that shows and taps it.
func (p *Phone) Tap(sels ...string) *hui.Node {
	p.T.Helper()
	n, err := p.UI.Tap(p.Ctx, p.selectors(sels)...)
	if err != nil {
		p.T.Fatal(err)
	}
	return n
}

// See waits for one of the selectors to show.
func (p *Phone) See(sels ...string) *hui.Node {
	p.T.Helper()
	_, n, err := p.UI.WaitVisible(p.Ctx, 5*time.Second, p.selectors(sels)...)
	if err != nil {
		p.T.Fatal(err)
	}
	return n
}

// Visible says whether one of the selectors matches a visible node now.
func (p *Phone) Visible(sels ...string) bool {
	p.T.Helper()
	sc, err := p.UI.Dump(p.Ctx)
	if err != nil {
		p.T.Fatal(err)
	}
	_, _, ok := sc.FindVisible(p.selectors(sels)...)
	return ok
}

// Absent checks that none of the selectors matches a visible node now.
func (p *Phone) Absent(sels ...string) {
	p.T.Helper()
	if p.Visible(sels...) {
		p.T.Errorf("%v shows", sels)
	}
}

// Scroll swipes the screen's list until a selector shows (down reveals what
// is below) and returns the node.
func (p *Phone) Scroll(down bool, sels ...string) *hui.Node {
	p.T.Helper()
	dir := hui.Down
	if !down {
		dir = hui.Up
	}
	_, n, err := p.UI.ScrollUntilVisible(p.Ctx, dir, 10, p.selectors(sels)...)
	if err != nil {
		p.T.Fatal(err)
	}
	return n
}

// Type types into the focused field.
func (p *Phone) Type(text string) {
	p.T.Helper()
	if err := p.UI.Type(p.Ctx, text); err != nil {
		p.T.Fatal(err)
	}
}

// Key presses keys.
func (p *Phone) Key(keys ...string) {
	p.T.Helper()
	if err := p.UI.Key(p.Ctx, keys...); err != nil {
		p.T.Fatal(err)
	}
}

// RawDump is `uiautomator dump /dev/tty` as the phone prints it.
func (p *Phone) RawDump() []byte {
	p.T.Helper()
	r, err := p.Dev.Shell(p.Ctx, "uiautomator dump /dev/tty")
	if err != nil {
		p.T.Fatal(err)
	}
	return r.Stdout
}

// AgreeWithElementTree has Python's ElementTree (harness/ui's
// testdata/etree_ui.py, an independent reader) read the current screen's
// dump, and checks it finds the same node count and, for each selector,
// the same first match as the harness's parser. Without python3 it fails:
// Debian's python3 is part of the test machine.
func (p *Phone) AgreeWithElementTree(sels ...string) {
	p.T.Helper()
	raw := p.RawDump()
	path := filepath.Join(p.T.TempDir(), "dump.xml")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		p.T.Fatal(err)
	}
	alts := make([][]string, len(sels))
	for i, s := range sels {
		alts[i] = []string{s}
	}
	req, _ := json.Marshal([]map[string]any{{"dump": path, "selectors": alts}})
	_, here, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(here), "../../../../../harness/ui/testdata/etree_ui.py")
	cmd := exec.CommandContext(p.Ctx, "python3", script)
	cmd.Stdin = bytes.NewReader(req)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		p.T.Fatalf("etree_ui.py: %v\n%s", err, stderr.String())
	}
	var answers []struct {
		Nodes []json.RawMessage `json:"nodes"`
		Finds []json.RawMessage `json:"finds"`
	}
	if err := json.Unmarshal(out, &answers); err != nil || len(answers) != 1 {
		p.T.Fatalf("etree_ui.py answered %s: %v", out, err)
	}
	sc, err := hui.Parse(raw)
	if err != nil {
		p.T.Fatal(err)
	}
	if len(answers[0].Nodes) != len(sc.Nodes) {
		p.T.Errorf("ElementTree reads %d nodes, harness/ui %d", len(answers[0].Nodes), len(sc.Nodes))
	}
	for i, s := range sels {
		var found []struct {
			Text   string `json:"text"`
			Bounds []int  `json:"bounds"`
		}
		if err := json.Unmarshal(answers[0].Finds[i], &found); err != nil || len(found) == 0 {
			p.T.Errorf("ElementTree finds nothing for %s: %s", s, answers[0].Finds[i])
			continue
		}
		n, _, ok := sc.FindVisible(p.selectors([]string{s})...)
		if !ok || n.Text() != found[0].Text || fmt.Sprint(found[0].Bounds) != fmt.Sprint([]int{n.Bounds.X1, n.Bounds.Y1, n.Bounds.X2, n.Bounds.Y2}) {
			p.T.Errorf("%s: ElementTree finds %+v, harness/ui %v", s, found[0], n)
		}
	}
}
