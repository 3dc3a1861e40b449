package lease_test

import (
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim"
	"telltale.dev/devices/sim/rig/rigtest"
	"telltale.dev/harness/lease"
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
	a, b := rigtest.New(t), rigtest.New(t)
	redmi := rigtest.Phone(t, a, sim.Config{Model: "redmi-note-8", Firmware: "V11.0.3.0"})
	mi9t := rigtest.Phone(t, a, sim.Config{Model: "mi-9t", Firmware: "V12.0.2.0"})
	emu := rigtest.Phone(t, b, sim.Config{Model: "aosp-emulator"})
	servers := []string{a.Client().Addr(), b.Client().Addr()}

	leases, skipped, err := lease.Discover(ctx, servers, profs, lease.Filter{})
	if err != nil || len(skipped) != 0 {
		t.Fatalf("Discover: %v, skipped %v", err, skipped)
	}
	got := map[string]string{}
	for _, l := range leases {
		got[l.Serial] = l.Profile + " " + l.Firmware + " @" + l.Server
	}
	want := map[string]string{
		redmi.Serial(): "redmi-note-8 V11.0.3.0.PCOMIXM @" + servers[0],
		mi9t.Serial():  "mi-9t " + mi9t.Firmware().Version + " @" + servers[0],
		emu.Serial():   "aosp-emulator sdk_gphone64_x86_64-14 @" + servers[1],
	}
	for s, w := range want {
		if got[s] != w {
			t.Errorf("%s: leased as %q, want %q", s, got[s], w)
		}
	}
	for _, c := range []struct {
		name string
		f    lease.Filter
		want string
	}{
		{"model by codename", lease.Filter{Models: []string{"davinci"}}, mi9t.Serial()},
		{"model by display name", lease.Filter{Models: []string{"Redmi Note 8"}}, redmi.Serial()},
		{"short firmware", lease.Filter{Firmware: "V12.0.2.0"}, mi9t.Serial()},
		{"serial regex", lease.Filter{Serial: regexp.MustCompile(regexp.QuoteMeta(emu.Serial()) + "$")}, emu.Serial()},
	} {
		l, _, err := lease.Discover(ctx, servers, profs, c.f)
		if err != nil || len(l) != 1 || l[0].Serial != c.want {
			t.Errorf("%s: %v %v, want only %s", c.name, l, err, c.want)
		}
	}
	if _, _, err := lease.Discover(ctx, []string{"127.0.0.1:1"}, profs, lease.Filter{}); err == nil {
		t.Error("no error for an adb server that does not answer")
	}
}

// TestAcquireHoldsAPhoneForOneHolder: a second Acquire of a held phone
// fails at once, naming the holder; after Release it succeeds.
func TestAcquireHoldsAPhoneForOneHolder(t *testing.T) {
	l := lease.Lease{Server: "127.0.0.1:1", Serial: "lease-test-" + t.Name() + time.Now().Format("150405.000000")}
	first, err := lease.Acquire(l)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lease.Acquire(l); !errors.Is(err, lease.ErrLeased) {
		t.Fatalf("second Acquire: %v, want ErrLeased", err)
	}
	first.Release()
	again, err := lease.Acquire(l)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	again.Release()
}

func TestFirmwareMatches(t *testing.T) {
	for _, c := range []struct {
		full, want string
		ok         bool
	}{
		{"V11.0.3.0.PCOMIXM", "V11.0.3.0", true},
		{"V11.0.3.0.PCOMIXM", "v11.0.3.0.pcomixm", true},
		{"V11.0.3.0.PCOMIXM", "V11.0.3", false}, // a short form is four parts
		{"V11.0.30.0.PCOMIXM", "V11.0.3.0", false},
		{"V12.0.2.0.QCOMIXM", "V11.0.3.0", false},
	} {
		if got := lease.FirmwareMatches(c.full, c.want); got != c.ok {
			t.Errorf("FirmwareMatches(%q, %q) = %v, want %v", c.full, c.want, got, c.ok)
		}
	}
}
