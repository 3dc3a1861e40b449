package androidca_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/sim"
	"telltale.dev/devices/sim/rig/rigtest"
	"telltale.dev/harness/androidca"
	"telltale.dev/harness/ca"
	"telltale.dev/harness/journal"
)

// TestSystemStoreThroughSuAndBack: on a Magisk-rooted phone su takes -c;
// the recipe journals each change before making it, the certificate is in
// the system store afterwards next to the phone's own, and the recorded
// unmount takes it out again.
func TestSystemStoreThroughSuAndBack(t *testing.T) {
	r := rigtest.New(t)
	p := rigtest.Phone(t, r, sim.Config{Model: "redmi-note-8", NoNoise: true})
	dev := r.Client().Device(p.Serial())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	authority, err := ca.New("androidca test CA")
	if err != nil {
		t.Fatal(err)
	}
	before := ls(t, dev, androidca.SystemDir)

	root, ok, err := androidca.FindSu(ctx, dev)
	if err != nil || !ok || root.Su() != "-c" {
		t.Fatalf("FindSu: %q %v %v, want Magisk's -c", root.Su(), ok, err)
	}
	var recorded []journal.Entry
	record := func(e journal.Entry) error {
		// Journaled before it is made: the store is still the phone's own.
		if e.Op == journal.OpCASystem && strings.Contains(ls(t, dev, androidca.SystemDir), authority.AndroidName()) {
			t.Errorf("%s journaled after the certificate was in place", e.Describe())
		}
		recorded = append(recorded, e)
		return nil
	}
	if err := androidca.InstallSystem(ctx, dev, authority, root, p.Firmware().SDK, record); err != nil {
		t.Fatal(err)
	}
	after := ls(t, dev, androidca.SystemDir)
	if !strings.Contains(after, authority.AndroidName()) || len(strings.Fields(after)) != len(strings.Fields(before))+1 {
		t.Fatalf("system store after install:\n%s\nbefore:\n%s", after, before)
	}
	var mounts []journal.Entry
	for _, e := range recorded {
		if e.Op == journal.OpCASystem {
			mounts = append(mounts, e)
		}
	}
	if len(mounts) != 1 || mounts[0].Su != "-c" {
		t.Fatalf("journaled %+v, want one system-store mount made through su -c", recorded)
	}
	if err := androidca.Unmount(ctx, dev, mounts[0]); err != nil {
		t.Fatal(err)
	}
	if got := ls(t, dev, androidca.SystemDir); got != before {
		t.Errorf("system store after Unmount:\n%s\nwant as before:\n%s", got, before)
	}
}

// TestUnrootedPhoneHasNoSu: without su, FindSu says so (no error), and the
// CA can only be offered for the user store.
func TestUnrootedPhoneHasNoSu(t *testing.T) {
	r := rigtest.New(t)
	p := rigtest.Phone(t, r, sim.Config{Model: "redmi-note-8", NoNoise: true, Unrooted: true})
	dev := r.Client().Device(p.Serial())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, ok, err := androidca.FindSu(ctx, dev); ok || err != nil {
		t.Fatalf("FindSu on an unrooted phone: %v %v", ok, err)
	}
	authority, err := ca.New("androidca test CA")
	if err != nil {
		t.Fatal(err)
	}
	path, err := androidca.InstallUser(ctx, dev, authority, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(path, androidca.UserDir+"/") || !strings.Contains(ls(t, dev, androidca.UserDir), authority.AndroidName()) {
		t.Errorf("user-store copy at %s not on the phone", path)
	}
}

func ls(t *testing.T, dev androidca.Device, dir string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := dev.Shell(ctx, "ls "+dir)
	if err != nil || res.Err() != nil {
		t.Fatalf("ls %s: %v %v", dir, err, res.Err())
	}
	return strings.TrimSpace(string(res.Stdout))
}
