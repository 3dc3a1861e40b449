package doctor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/adb"
	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim"
	"telltale.dev/devices/sim/rig/rigtest"
	"telltale.dev/harness/doctor"
	"telltale.dev/harness/ui"
)

func check(t *testing.T, r *doctor.Report, name string) doctor.Check {
	t.Helper()
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no check %q in %+v", name, r.Checks)
	return doctor.Check{}
}

func run(t *testing.T, cfg sim.Config, opts doctor.Options) (*doctor.Report, *adb.Client, *sim.Phone) {
	t.Helper()
	profs, err := profiles.Load()
	if err != nil {
		t.Fatal(err)
	}
	r := rigtest.New(t)
	p := rigtest.Phone(t, r, cfg)
	opts.Profiles = profs
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return doctor.Run(ctx, r.Client(), p.Serial(), opts), r.Client(), p
}

// TestResearchPhoneIsReady: a rooted research phone (Magisk's Shell grant
// given, both MIUI toggles on) passes every check, with su -c as its root
// and the system CA store; JSON and text say the same.
func TestResearchPhoneIsReady(t *testing.T) {
	rep, _, _ := run(t, sim.Config{Model: "redmi-note-8", Firmware: "V12.0.2.0"}, doctor.Options{})
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	if rep.Root != "su -c" || rep.Profile != "redmi-note-8" || rep.Firmware != "V12.0.2.0.QCOMIXM" || rep.Android != "10" {
		t.Errorf("report %+v", rep)
	}
	for _, name := range []string{"adb authorisation", "root", "USB debugging (Security settings)", "Install via USB", "screen", "CA store", "proxy path", "free storage", "UI flows"} {
		if c := check(t, rep, name); c.Status != doctor.OK {
			t.Errorf("%s: %s %s", name, c.Status, c.Found)
		}
	}
	var j bytes.Buffer
	if err := rep.WriteJSON(&j); err != nil {
		t.Fatal(err)
	}
	var back doctor.Report
	if err := json.Unmarshal(j.Bytes(), &back); err != nil || len(back.Checks) != len(rep.Checks) || back.Root != "su -c" {
		t.Errorf("JSON round trip: %v %+v", err, back)
	}
}

// TestStockPhoneSaysWhichToggle: a retail phone out of the box fails on
// exactly the MIUI toggles, each saying where to turn it on, and has no
// root (a warning: the user CA store).
func TestStockPhoneSaysWhichToggle(t *testing.T) {
	rep, _, p := run(t, sim.Config{Model: "redmi-note-8", Firmware: "V12.5.1.0", Kind: sim.KindStock}, doctor.Options{})
	failed := map[string]doctor.Check{}
	for _, c := range rep.Failed() {
		failed[c.Name] = c
	}
	in, inst := failed["USB debugging (Security settings)"], failed["Install via USB"]
	if len(failed) != 2 || !strings.Contains(in.Fix, `turn on "USB debugging (Security settings)"`) ||
		!strings.Contains(inst.Fix, `turn on "Install via USB"`) || !strings.Contains(in.Fix, "Developer options") {
		t.Errorf("failed checks %+v", failed)
	}
	if c := check(t, rep, "root"); c.Status != doctor.Warn || rep.Root != "" {
		t.Errorf("root: %+v (%q)", c, rep.Root)
	}
	if c := check(t, rep, "CA store"); c.Status != doctor.Warn || !strings.Contains(c.Found, "user store") {
		t.Errorf("CA store: %+v", c)
	}
	err := rep.Err()
	if err == nil || !strings.Contains(err.Error(), "nothing was changed") || !strings.Contains(err.Error(), "USB debugging (Security settings)") {
		t.Errorf("Err = %v", err)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil || !strings.Contains(text.String(), "FAIL  Install via USB") || !strings.Contains(text.String(), "fix: on the phone") {
		t.Errorf("text report (%v):\n%s", err, text.String())
	}
	// The doctor only read: the phone's toggles are as they were.
	if p.Prop("persist.security.adbinput") != "0" {
		t.Errorf("persist.security.adbinput is %q after the doctor", p.Prop("persist.security.adbinput"))
	}
}

// TestMagiskPrompt: on a research phone whose Magisk has not been told
// about Shell, su shows Magisk's prompt; the doctor says so while it
// waits, and reports the answer: a person who taps Grant gets a warning
// (grant Forever), nobody answering gets a failure saying what to tap.
func TestMagiskPrompt(t *testing.T) {
	t.Run("granted", func(t *testing.T) {
		profs, err := profiles.Load()
		if err != nil {
			t.Fatal(err)
		}
		r := rigtest.New(t)
		p := rigtest.Phone(t, r, sim.Config{Model: "redmi-note-8", Firmware: "V11.0.3.0", SuPolicy: sim.SuPrompt})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		// A person at the phone: taps Grant once the prompt shows and the
		// button is enabled (it is not for the first second: tapjacking guard).
		person := make(chan error, 1)
		go func() {
			drv := ui.New(r.Client().Device(p.Serial()), ui.Options{})
			grant, _ := ui.ParseSelector("id~=grant_btn$,enabled=true")
			_, err := drv.Tap(ctx, grant)
			person <- err
		}()
		var progress bytes.Buffer
		rep := doctor.Run(ctx, r.Client(), p.Serial(), doctor.Options{Profiles: profs, Progress: &progress})
		if err := <-person; err != nil {
			t.Fatalf("the person could not tap Grant: %v", err)
		}
		if c := check(t, rep, "root"); c.Status != doctor.Warn || rep.Root != "su -c" || !strings.Contains(c.Fix, "Forever") {
			t.Errorf("root after a grant: %+v (%q)", c, rep.Root)
		}
		if !strings.Contains(progress.String(), "tap Grant") {
			t.Errorf("the doctor did not say what to do while waiting: %q", progress.String())
		}
	})
	t.Run("nobody answers", func(t *testing.T) {
		rep, _, _ := run(t, sim.Config{Model: "redmi-note-8", Firmware: "V11.0.3.0", SuPolicy: sim.SuPrompt}, doctor.Options{})
		c := check(t, rep, "root")
		if c.Status != doctor.Fail || !strings.Contains(c.Found, "Magisk asked") || !strings.Contains(c.Fix, "Grant") || rep.Root != "" {
			t.Errorf("root with nobody at the phone: %+v", c)
		}
	})
}

// TestEmulator: an emulator image has no MIUI toggles and its root is
// AOSP's su (or adb root); its flows are AOSP's.
func TestEmulator(t *testing.T) {
	rep, _, _ := run(t, sim.Config{Model: "aosp-emulator"}, doctor.Options{})
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	if c := check(t, rep, "USB debugging (Security settings)"); c.Status != doctor.Skip {
		t.Errorf("MIUI toggle on an emulator: %+v", c)
	}
	if rep.Root == "" {
		t.Errorf("no root found on a userdebug image: %+v", check(t, rep, "root"))
	}
}

// TestAbsentPhone: a serial the adb server does not list fails the first
// check and skips the others, saying why.
func TestAbsentPhone(t *testing.T) {
	r := rigtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep := doctor.Run(ctx, r.Client(), "127.0.0.1:1", doctor.Options{})
	if c := rep.Checks[0]; c.Status != doctor.Fail || !strings.Contains(c.Fix, "USB debugging") {
		t.Errorf("first check %+v", c)
	}
	if c := rep.Checks[len(rep.Checks)-1]; c.Status != doctor.Skip || !strings.Contains(c.Found, "adb authorisation failed") {
		t.Errorf("last check %+v", c)
	}
}
