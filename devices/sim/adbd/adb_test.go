package adbd_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"telltale.dev/devices/adb/adbtest"
	"telltale.dev/devices/sim/adbd"
)

// rig is one simulated phone connected to a private, real adb server.
type rig struct {
	srv     *adbd.Server
	dev     *testDevice
	adbPort string
	serial  string
	logs    *logBuffer
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// startADB runs a private adb server on a free port and kills it at cleanup.
func startADB(t testing.TB) string {
	t.Helper()
	_, port, _ := net.SplitHostPort(adbtest.StartServer(t).Addr())
	return port
}

// runADB runs the adb client against the server on port.
func runADB(port string, timeout time.Duration, stdin []byte, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "adb", append([]string{"-P", port}, args...)...)
	cmd.Env = append(cmd.Environ(), "ANDROID_ADB_SERVER_PORT="+port)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("adb %s timed out after %v: %w", strings.Join(args, " "), timeout, ctx.Err())
	}
	if err != nil {
		return out.String() + errOut.String(), err
	}
	return out.String(), nil
}

// split runs adb and returns stdout, stderr and the exit code.
func (r *rig) split(t testing.TB, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "adb", append([]string{"-P", r.adbPort, "-s", r.serial}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("adb %v timed out", args)
	case errors.As(err, &ee):
		return out.String(), errOut.String(), ee.ExitCode()
	case err != nil:
		t.Fatalf("adb %v: %v", args, err)
	}
	return out.String(), errOut.String(), 0
}

// adb runs an adb command for the rig's phone and fails the test on error.
func (r *rig) adb(t testing.TB, args ...string) string {
	t.Helper()
	out, err := runADB(r.adbPort, 30*time.Second, nil, append([]string{"-s", r.serial}, args...)...)
	if err != nil {
		t.Fatalf("adb %s: %v\n%s\nadbd log:\n%s", strings.Join(args, " "), err, out, r.logs)
	}
	return out
}

func newRig(t testing.TB, opts ...adbd.Option) *rig {
	t.Helper()
	dev := newTestDevice()
	return newRigServing(t, dev, dev, opts...)
}

// newRigServing connects served, a Device made from dev (dev itself, or a
// wrapper that hides some of its optional interfaces), to a private adb
// server.
func newRigServing(t testing.TB, dev *testDevice, served adbd.Device, opts ...adbd.Option) *rig {
	t.Helper()
	r := &rig{dev: dev, logs: &logBuffer{}}
	logger := slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := adbd.Listen("127.0.0.1:0", served, append([]adbd.Option{adbd.WithLogger(logger)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	r.srv, r.serial = srv, srv.Addr()
	r.adbPort = startADB(t)
	r.connect(t)
	return r
}

// connect attaches the phone to the rig's adb server and waits for state
// device.
func (r *rig) connect(t testing.TB) {
	t.Helper()
	out, err := runADB(r.adbPort, 10*time.Second, nil, "connect", r.serial)
	if err != nil || !strings.Contains(out, "connected to "+r.serial) {
		t.Fatalf("adb connect %s: %v: %q\nadbd log:\n%s", r.serial, err, out, r.logs)
	}
	if out, err := runADB(r.adbPort, 10*time.Second, nil, "-s", r.serial, "wait-for-device"); err != nil {
		t.Fatalf("adb wait-for-device: %v: %s\nadbd log:\n%s", err, out, r.logs)
	}
}

// logBuffer collects adbd's log from many goroutines for failure messages.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
