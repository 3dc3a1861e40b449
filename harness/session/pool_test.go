package session_test

import (
	"context"
	"regexp"
	"testing"
	"time"

	"telltale.dev/devices/adb/adbtest"
	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim"
	"telltale.dev/harness/session"
)

// TestDiscoverMatchesAndFilters lists phones on two real adb servers,
// matches each to its profile and firmware by build properties, and
// applies the model, firmware and serial filters.
func TestDiscoverMatchesAndFilters(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	profs, err := profiles.Load()
	if err != nil {
		t.Fatal(err)
	}
	a, b := adbtest.StartServer(t), adbtest.StartServer(t)
	start := func(model, fw string) *sim.Phone {
		p, err := sim.Start(ctx, sim.Config{Model: model, Firmware: fw})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return p
	}
	redmi := start("redmi-note-8", "V11.0.3.0")
	mi9t := start("mi-9t", "V12.0.2.0")
	emu := start("aosp-emulator", "")
	adbtest.Connect(t, a, redmi.Serial())
	adbtest.Connect(t, a, mi9t.Serial())
	adbtest.Connect(t, b, emu.Serial())
	servers := []string{a.Addr(), b.Addr()}

	leases, skipped, err := session.Discover(ctx, servers, profs, session.Filter{})
	if err != nil || len(skipped) != 0 {
		t.Fatalf("Discover: %v, skipped %v", err, skipped)
	}
	got := map[string]string{}
	for _, l := range leases {
		got[l.Serial] = l.Profile + " " + l.Firmware + " @" + l.Server
	}
	want := map[string]string{
		redmi.Serial(): "redmi-note-8 V11.0.3.0.PCOMIXM @" + a.Addr(),
		mi9t.Serial():  "mi-9t " + mi9t.Firmware().Version + " @" + a.Addr(),
		emu.Serial():   "aosp-emulator sdk_gphone64_x86_64-14 @" + b.Addr(),
	}
	for s, w := range want {
		if got[s] != w {
			t.Errorf("%s: leased as %q, want %q", s, got[s], w)
		}
	}
	for _, c := range []struct {
		name string
		f    session.Filter
		want string
	}{
		{"model by codename", session.Filter{Models: []string{"davinci"}}, mi9t.Serial()},
		{"model by display name", session.Filter{Models: []string{"Redmi Note 8"}}, redmi.Serial()},
		{"short firmware", session.Filter{Firmware: "V12.0.2.0"}, mi9t.Serial()},
		{"serial regex", session.Filter{Serial: regexp.MustCompile(regexp.QuoteMeta(emu.Serial()) + "$")}, emu.Serial()},
	} {
		l, _, err := session.Discover(ctx, servers, profs, c.f)
		if err != nil || len(l) != 1 || l[0].Serial != c.want {
			t.Errorf("%s: %v %v, want only %s", c.name, l, err, c.want)
		}
	}
	if _, _, err := session.Discover(ctx, []string{"127.0.0.1:1"}, profs, session.Filter{}); err == nil {
		t.Error("no error for an adb server that does not answer")
	}
}
