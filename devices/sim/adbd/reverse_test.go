package adbd_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"telltale.dev/devices/sim/adbd"
)

// echoListener is a host-side TCP server that echoes each connection.
func echoListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// echoThrough dials local through the reverse tunnel and checks msg comes
// back unchanged.
func echoThrough(srv *adbd.Server, local string, msg []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := srv.DialReverse(ctx, local)
	if err != nil {
		return fmt.Errorf("DialReverse(%s): %w", local, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	go c.Write(msg)
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		return fmt.Errorf("reading the echo through %s: %w", local, err)
	}
	if !bytes.Equal(got, msg) {
		return fmt.Errorf("echo through %s differs from what was sent", local)
	}
	return nil
}

func dialEcho(t *testing.T, srv *adbd.Server, local string, msg []byte) {
	t.Helper()
	if err := echoThrough(srv, local, msg); err != nil {
		t.Fatal(err)
	}
}

func (r *rig) stillUp(t *testing.T) {
	t.Helper()
	if got, _, code := r.split(t, "shell", "echo alive"); got != "alive\n" || code != 0 {
		t.Fatalf("after the test step the adb server or phone is gone: shell gave %q, %d\nadbd log:\n%s", got, code, r.logs)
	}
}

func TestReverseCarriesDeviceConnections(t *testing.T) {
	r := newRig(t)
	hostPort := echoListener(t)
	r.adb(t, "reverse", "tcp:8080", "tcp:"+hostPort)

	msg := []byte(strings.Repeat("telemetry ", 200_000)) // 2 MB: several WRTEs each way
	dialEcho(t, r.srv, "tcp:8080", msg)

	// Several at once, each its own stream.
	errs := make(chan error)
	for i := range 8 {
		go func() { errs <- echoThrough(r.srv, "tcp:8080", []byte(fmt.Sprint("parallel ", i))) }()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}

	list := r.adb(t, "reverse", "--list")
	if !strings.Contains(list, "tcp:8080 tcp:"+hostPort+"\n") {
		t.Errorf("adb reverse --list = %q, want the tcp:8080 rule", list)
	}
	r.adb(t, "reverse", "--remove", "tcp:8080")
	if list := r.adb(t, "reverse", "--list"); strings.TrimSpace(list) != "" {
		t.Errorf("after --remove, reverse --list = %q", list)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := r.srv.DialReverse(ctx, "tcp:8080"); !errors.Is(err, adbd.ErrNoReverse) {
		t.Errorf("DialReverse after --remove: %v, want ErrNoReverse", err)
	}
	r.stillUp(t)
}

func TestUnregisteredReverseNeverReachesServer(t *testing.T) {
	r := newRig(t)
	hostPort := echoListener(t)
	r.adb(t, "reverse", "tcp:8080", "tcp:"+hostPort)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, local := range []string{"tcp:8081", "tcp:" + hostPort, "8080", ""} {
		if c, err := r.srv.DialReverse(ctx, local); !errors.Is(err, adbd.ErrNoReverse) {
			t.Errorf("DialReverse(%q) = %v, %v; want ErrNoReverse", local, c, err)
		}
	}
	// adb 29 exits on an unregistered device OPEN; it must still serve us.
	r.stillUp(t)
	dialEcho(t, r.srv, "tcp:8080", []byte("still works"))
}

func TestReverseToClosedHostPortIsRefused(t *testing.T) {
	r := newRig(t)
	dead := freePort(t)
	r.adb(t, "reverse", "tcp:9000", "tcp:"+dead)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := r.srv.DialReverse(ctx, "tcp:9000")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("DialReverse to a host port nobody listens on: %v, want ECONNREFUSED", err)
	}
	r.stillUp(t)
}

func TestReverseAllocationRebindAndRemoveAll(t *testing.T) {
	r := newRig(t)
	hostPort := echoListener(t)
	out := strings.TrimSpace(r.adb(t, "reverse", "tcp:0", "tcp:"+hostPort))
	port, err := strconv.Atoi(out)
	if err != nil || port <= 0 || port > 65535 {
		t.Fatalf("adb reverse tcp:0 printed %q, want the allocated port", out)
	}
	dialEcho(t, r.srv, "tcp:"+out, []byte("allocated"))

	r.adb(t, "reverse", "tcp:7000", "tcp:"+hostPort)
	if out, err := runADB(r.adbPort, 10*time.Second, nil, "-s", r.serial, "reverse", "--no-rebind", "tcp:7000", "tcp:1"); err == nil ||
		!strings.Contains(out, "cannot rebind") {
		t.Errorf("--no-rebind over an existing rule: %v %q, want a cannot rebind failure", err, out)
	}
	if out, err := runADB(r.adbPort, 10*time.Second, nil, "-s", r.serial, "reverse", "--remove", "tcp:7777"); err == nil ||
		!strings.Contains(out, "listener 'tcp:7777' not found") {
		t.Errorf("--remove of a missing rule: %v %q", err, out)
	}
	r.adb(t, "reverse", "--remove-all")
	if list := r.adb(t, "reverse", "--list"); strings.TrimSpace(list) != "" {
		t.Errorf("after --remove-all, reverse --list = %q", list)
	}
	r.stillUp(t)
}

func TestReverseRulesDieWithTheConnection(t *testing.T) {
	r := newRig(t)
	hostPort := echoListener(t)
	r.adb(t, "reverse", "tcp:8080", "tcp:"+hostPort)
	r.adb(t, "disconnect", r.serial)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := r.srv.DialReverse(ctx, "tcp:8080")
		if errors.Is(err, adbd.ErrNoReverse) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("DialReverse after adb disconnect: %v, want ErrNoReverse", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
