// Package adbtest gives tests a real adb server of their own: started on a
// free port, never the user's 5037, and killed when the test ends.
package adbtest

import (
	"context"
	"net"
	"os/exec"
	"testing"
	"time"

	"telltale.dev/devices/adb"
)

// StartServer starts `adb -P PORT start-server` on a free port and returns a
// client for it. The test fails, not skips, when adb is missing: telltale's
// tests are about the real server.
func StartServer(t testing.TB) *adb.Client {
	t.Helper()
	path, err := exec.LookPath("adb")
	if err != nil {
		t.Fatalf("adb not found in PATH (%v): install it with `apt-get install adb` (or `make deps`)", err)
	}
	c := adb.New(adb.Server{Host: "127.0.0.1", Port: freePort(t), Path: path})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.StartServer(ctx); err != nil {
		t.Fatalf("starting a test adb server: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.KillServer(ctx); err != nil {
			t.Errorf("killing the test adb server at %s: %v", c.Addr(), err)
		}
	})
	return c
}

// Connect has the server connect to a device listening on addr (as `adb
// connect` does) and waits until it is in state "device".
func Connect(t testing.TB, c *adb.Client, addr string) *adb.Device {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Connect(ctx, addr); err != nil {
		t.Fatalf("adb connect %s: %v", addr, err)
	}
	d := c.Device(addr)
	if err := d.WaitForDevice(ctx); err != nil {
		t.Fatalf("waiting for %s to come online: %v", addr, err)
	}
	return d
}

// freePort finds a port nothing listens on. The kernel hands out ephemeral
// ports above the 5555-5585 range the adb server scans for emulators.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
