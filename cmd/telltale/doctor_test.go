package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim"
	"telltale.dev/devices/sim/rig/rigtest"
	"telltale.dev/harness/doctor"
	"telltale.dev/harness/journal"
	"telltale.dev/reports/run"
)

// TestDoctorCommand: `telltale doctor` on a research phone exits 0 and its
// --json says how it gets root; on a stock phone it exits 1 and names the
// toggles to turn on; usage errors exit 2.
func TestDoctorCommand(t *testing.T) {
	r := rigtest.New(t)
	research := rigtest.Phone(t, r, sim.Config{Model: "mi-9t", Firmware: "V12.0.2.0"})
	stock := rigtest.Phone(t, r, sim.Config{Model: "mi-9t", Firmware: "V12.0.2.0", Kind: sim.KindStock})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var out, errOut syncBuffer
	if code := runDoctor(ctx, []string{"--adb", r.Client().Addr(), "--device", research.Serial(), "--json"}, &out, &errOut); code != 0 {
		t.Fatalf("research phone: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	var rep doctor.Report
	if err := json.Unmarshal([]byte(out.String()), &rep); err != nil || rep.Root != "su -c" || rep.Profile != "mi-9t" {
		t.Errorf("--json: %v %+v", err, rep)
	}

	var text, textErr syncBuffer
	if code := runDoctor(ctx, []string{"--adb", r.Client().Addr(), "--device", stock.Serial()}, &text, &textErr); code != 1 {
		t.Fatalf("stock phone: exit %d, want 1\n%s", code, text.String())
	}
	for _, want := range []string{`FAIL  USB debugging (Security settings)`, `turn on "USB debugging (Security settings)"`, `turn on "Install via USB"`} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("stock phone report lacks %q:\n%s", want, text.String())
		}
	}

	var usage syncBuffer
	for _, args := range [][]string{{"extra"}, {"--nope"}} {
		if code := runDoctor(ctx, args, &usage, &usage); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	var two syncBuffer
	if code := runDoctor(ctx, []string{"--adb", r.Client().Addr()}, &two, &two); code != 1 || !strings.Contains(two.String(), "pick one with --device") {
		t.Errorf("two phones and no --device: exit %d, %s", code, two.String())
	}
}

// TestRunStopsAtPreflight: `telltale run` on a stock phone stops before it
// changes anything, saying which toggle to turn on; the phone's settings
// are as they were, no reverse rule was made and the journal holds nothing
// to undo.
func TestRunStopsAtPreflight(t *testing.T) {
	r := rigtest.New(t)
	ph := startConfigured(t, r, sim.Config{Model: "redmi-note-8", Firmware: "V11.0.3.0", Kind: sim.KindStock})
	dir := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	code, out := runSuite(t, ctx, "--adb="+r.Client().Addr(), "--label-filter=lock-screen", "--in-process-proxy", "--out="+dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, tail(out, 60))
	}
	if !strings.Contains(out, `turn on "USB debugging (Security settings)"`) || !strings.Contains(out, "nothing was changed on it") {
		t.Errorf("the run does not say which toggle to turn on:\n%s", tail(out, 60))
	}
	res, err := run.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if res.Manifest.Status != run.StatusFailed {
		t.Errorf("run.json status %q", res.Manifest.Status)
	}
	if entries, err := journal.Read(dir); err == nil && len(entries) > 0 {
		t.Errorf("the journal holds changes: %+v", entries)
	}
	ph.checkRestored(t)
}

// TestRunKeepsAFailedStep: a flow step that fails on the phone fails its
// spec with the step and where it is written, and the run keeps the
// screen's hierarchy and a screenshot in the device's flow-failures
// directory, named in the spec's report entries.
func TestRunKeepsAFailedStep(t *testing.T) {
	builtin, err := os.ReadFile(filepath.Join("..", "..", "devices", "profiles", "redmi-note-8.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	profs := t.TempDir()
	broken := string(builtin) + "flows:\n  browse-incognito:\n    - launch: ${browser}\n    - tap: desc=No such button\n      timeout: 1s\n"
	if err := os.WriteFile(filepath.Join(profs, "redmi-note-8.yaml"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(profiles.EnvDir, profs)
	r := rigtest.New(t)
	startPhone(t, r, "redmi-note-8", "V11.0.3.0")
	dir := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	code, out := runSuite(t, ctx, "--adb="+r.Client().Addr(), "--label-filter=browse-incognito", "--in-process-proxy", "--out="+dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, tail(out, 60))
	}
	if !strings.Contains(out, "redmi-note-8.yaml line") || !strings.Contains(out, "desc=No such button") {
		t.Errorf("the failure does not name the step:\n%s", tail(out, 60))
	}
	kept, _ := filepath.Glob(filepath.Join(dir, "devices", "*", "flow-failures", "*"))
	var xml, png bool
	for _, f := range kept {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		xml = xml || strings.HasSuffix(f, ".xml") && strings.Contains(string(b), "<hierarchy")
		png = png || strings.HasSuffix(f, ".png") && strings.HasPrefix(string(b), "\x89PNG")
	}
	if !xml || !png {
		t.Errorf("kept %q: want the hierarchy and a screenshot", kept)
	}
	report, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, entry := range []string{`"flow step"`, `"hierarchy"`, `"step screenshot"`, `"selectors"`} {
		if !strings.Contains(string(report), entry) {
			t.Errorf("report.json has no %s entry", entry)
		}
	}
}

// phoneAP is a simulated phone's environment as the rig's access point for
// actions driven by these tests; it follows the phone a fault replaced.
type phoneAP struct{ p *phone }

func (a phoneAP) Add(_ context.Context, ssid string) error {
	a.p.AddNetwork(sim.Network{SSID: ssid, Security: "open"})
	return nil
}

func (a phoneAP) Remove(_ context.Context, ssid string) error {
	a.p.RemoveNetwork(ssid)
	return nil
}
