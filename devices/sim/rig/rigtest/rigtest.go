// Package rigtest gives tests simulated phones on a real adb server of their
// own (adbtest.StartServer), stopped when the test ends.
package rigtest

import (
	"context"
	"testing"
	"time"

	"telltale.dev/devices/adb/adbtest"
	"telltale.dev/devices/sim"
	"telltale.dev/devices/sim/rig"
)

// New returns a rig on a fresh test adb server; its phones stop, and any
// failure to stop them fails the test, when the test ends.
func New(t testing.TB) *rig.Rig {
	t.Helper()
	r := rig.On(adbtest.StartServer(t))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := r.Close(ctx); err != nil {
			t.Errorf("rig: %v", err)
		}
	})
	return r
}

// Phone starts a phone on r and fails the test when it cannot.
func Phone(t testing.TB, r *rig.Rig, cfg sim.Config) *sim.Phone {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := r.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
