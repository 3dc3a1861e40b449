// Package adbtest gives tests a real adb server of their own: started on a
// free port, never the user's 5037, and killed when the test ends.
package adbtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"telltale.dev/devices/adb"
)

// StartServer runs `adb -P PORT nodaemon server` on a free port as a child
// of the test and returns a client for it. The test fails, not skips, when
// adb is missing: telltale's tests are about the real server.
//
// The server is a child rather than a daemon so that one that stops
// answering (adb 29 sometimes does, after a device drops) is still killed at
// cleanup instead of outliving the test.
func StartServer(t testing.TB) *adb.Client {
	t.Helper()
	path, err := exec.LookPath("adb")
	if err != nil {
		t.Fatalf("adb not found in PATH (%v): install it with `apt-get install adb` (or `make deps`)", err)
	}
	port := freePort(t)
	// A file, not a buffer: the server keeps writing while a failing test reads it.
	logPath := filepath.Join(t.TempDir(), "adb.log")
	log, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("creating the adb server's log: %v", err)
	}
	defer log.Close()
	cmd := exec.Command(path, "-P", strconv.Itoa(port), "nodaemon", "server")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting a test adb server: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	c := adb.New(adb.Server{Host: "127.0.0.1", Port: port, Path: path})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if t.Failed() {
			// The server's own account is what explains a dropped device
			// or a reset connection; the temporary directory goes next.
			out, _ := os.ReadFile(logPath)
			t.Logf("adb server %s log (last 4 KiB):\n%s", c.Addr(), out[max(0, len(out)-4096):])
		}
		killErr := c.KillServer(ctx)
		select {
		case <-exited:
		case <-time.After(3 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Errorf("the test adb server at %s did not exit on kill-server (%v); killed it", c.Addr(), killErr)
		}
	})
	if err := waitVersion(c, exited, 20*time.Second); err != nil {
		out, _ := os.ReadFile(logPath)
		t.Fatalf("test adb server on port %d: %v\n%s", port, err, out)
	}
	return c
}

// waitVersion polls the new server until it answers host:version.
func waitVersion(c *adb.Client, exited <-chan struct{}, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := c.ServerVersion(ctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("adb exited before answering: %w", err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer within %v: %w", limit, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
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
