package rig_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/sim"
	"telltale.dev/devices/sim/rig"
	"telltale.dev/devices/sim/rig/rigtest"
)

// TestStartServerRunsPhonesAndStopsEverything: a rig with its own adb
// server hands out phones that are online on it, each logging its ground
// truth to its own file; Close stops the phones and the server.
func TestStartServerRunsPhonesAndStopsEverything(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	r, err := rig.StartServer(ctx, rig.WithTruthDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			r.Close(context.Background())
		}
	})
	a, err := r.Start(ctx, sim.Config{Model: "redmi-note-8", NoNoise: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Start(ctx, sim.Config{Model: "mi-9t", NoNoise: true})
	if err != nil {
		t.Fatal(err)
	}
	list, err := r.Client().ListDevices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	online := map[string]string{}
	for _, d := range list {
		online[d.Serial] = d.State
	}
	for _, p := range []*sim.Phone{a, b} {
		if online[p.Serial()] != "device" {
			t.Errorf("%s is %q on the rig's server, want device: %v", p.Serial(), online[p.Serial()], list)
		}
	}
	// The second phone's ground truth goes to the second file: its screen
	// turned off, SystemUI's mistat reports the lock at once (and, with no
	// proxy set, straight to its server).
	if _, err := r.Client().Device(b.Serial()).RunCommand(ctx, "input keyevent KEYCODE_POWER"); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	truth, err := os.ReadFile(filepath.Join(dir, "sim-2-truth.jsonl"))
	if err != nil || !strings.Contains(string(truth), `"event":"screen_lock"`) || !strings.Contains(string(truth), b.Serial()) {
		t.Errorf("second phone's ground truth: %v\n%s", err, truth)
	}
	if first, err := os.ReadFile(filepath.Join(dir, "sim-1-truth.jsonl")); err != nil || strings.Contains(string(first), "screen_lock") {
		t.Errorf("first phone's ground truth: %v\n%s", err, first)
	}
	closed = true
	if err := r.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := r.Client().ServerVersion(ctx); err == nil {
		t.Error("the rig's adb server still answers after Close")
	}
	for _, p := range []*sim.Phone{a, b} {
		l, err := net.Listen("tcp", p.Serial())
		if err != nil {
			t.Errorf("%s still held after Close: %v", p.Serial(), err)
			continue
		}
		l.Close()
	}
}

// TestStartAgainOnAKilledPhonesAddress: a phone killed and started again
// on its address (the soak test's fault) is online again once Start
// returns, though the server still held the old transport.
func TestStartAgainOnAKilledPhonesAddress(t *testing.T) {
	r := rigtest.New(t)
	p := rigtest.Phone(t, r, sim.Config{Model: "redmi-note-8", NoNoise: true})
	serial := p.Serial()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.Connect(ctx, serial); err == nil {
		t.Fatal("Connect to a killed phone succeeded")
	}
	again := rigtest.Phone(t, r, sim.Config{Model: "redmi-note-8", NoNoise: true, Addr: serial})
	out, err := r.Client().Device(again.Serial()).RunCommand(ctx, "getprop ro.product.device")
	if err != nil || strings.TrimSpace(out) != "ginkgo" {
		t.Fatalf("phone started again on %s: %q %v", serial, out, err)
	}
}
