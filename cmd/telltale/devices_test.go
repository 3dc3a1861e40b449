package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim"
	"telltale.dev/devices/sim/rig/rigtest"
)

func TestDevicesCommand(t *testing.T) {
	t.Setenv(profiles.EnvDir, "")
	profs, err := profiles.Load()
	if err != nil {
		t.Fatal(err)
	}
	r := rigtest.New(t)
	c := r.Client()
	note8 := rigtest.Phone(t, r, sim.Config{Profile: profiles.ByName(profs, "redmi-note-8"), Firmware: "V12.0.2.0", NoNoise: true}).Serial()
	// A model no profile knows: the sim runs any profile, so give it one
	// that only this test has.
	unknown := *profiles.ByName(profs, "mi-10")
	unknown.Name, unknown.Devices = "pixel-2", []string{"walleye"}
	unknown.Props = map[string]string{"ro.product.device": "walleye", "ro.product.model": "Pixel 2"}
	pixel := rigtest.Phone(t, r, sim.Config{Profile: &unknown, NoNoise: true}).Serial()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()

	ctx := context.Background()
	var out, errOut bytes.Buffer
	code := runDevices(ctx, []string{"--adb", c.Addr() + "," + dead}, &out, &errOut)
	if code != 1 {
		t.Errorf("exit code %d with one server down, want 1", code)
	}
	if !strings.Contains(errOut.String(), dead) || !strings.Contains(errOut.String(), "apt-get install adb") {
		t.Errorf("stderr lacks the dead server and the hint:\n%s", errOut.String())
	}
	table := out.String()
	for _, want := range []string{
		"SERVER", note8, "Redmi Note 8", "redmi-note-8", "V12.0.2.0.QCOMIXM",
		pixel, "Pixel 2", "no profile: add one in $TELLTALE_PROFILES",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}

	out.Reset()
	errOut.Reset()
	if code := runDevices(ctx, []string{"--adb", c.Addr(), "--json"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var got []serverRows
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v:\n%s", err, out.String())
	}
	if len(got) != 1 || got[0].Server != c.Addr() || len(got[0].Devices) != 2 {
		t.Fatalf("json = %+v", got)
	}
	want := deviceRow{Serial: note8, State: "device", Model: "Redmi Note 8", Device: "ginkgo", Profile: "redmi-note-8",
		Firmware: "V12.0.2.0.QCOMIXM", Android: "10", MIUI: "V12.0.2.0.QCOMIXM"}
	var found bool
	for _, d := range got[0].Devices {
		if d.Serial == note8 {
			found = true
			if d != want {
				t.Errorf("device = %+v\nwant %+v", d, want)
			}
		}
	}
	if !found {
		t.Errorf("%s missing from %+v", note8, got[0].Devices)
	}

	// A user profile for the unknown model is picked up without rebuilding.
	dir := t.TempDir()
	yaml := "display_name: Pixel 2\ndevices: [walleye]\nfirmware:\n  - {version: QQ3A.200805.001, android: \"10\", sdk: 29}\n"
	if err := os.WriteFile(filepath.Join(dir, "pixel-2.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(profiles.EnvDir, dir)
	t.Setenv("TELLTALE_ADB", c.Addr())
	out.Reset()
	if code := runDevices(ctx, nil, &out, &errOut); code != 0 || !strings.Contains(out.String(), "pixel-2") || strings.Contains(out.String(), "no profile") {
		t.Errorf("with a user profile: exit %d\n%s%s", code, out.String(), errOut.String())
	}
}

func TestDevicesCommandUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	for _, args := range [][]string{{"--bogus"}, {"extra"}, {"--adb", "host:notaport"}, {"--adb", ","}} {
		errOut.Reset()
		if code := runDevices(context.Background(), args, &out, &errOut); code != 2 || errOut.Len() == 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut.String())
		}
	}
}
