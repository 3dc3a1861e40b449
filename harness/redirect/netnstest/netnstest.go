// Package netnstest gives tests a network namespace of their own: the real
// kernel's netfilter, driven by the real iptables, standing where a phone's
// kernel stands, with nothing reaching the machine's own network. It needs
// root (CAP_SYS_ADMIN and CAP_NET_ADMIN), as iptables on a phone does.
//
// The namespace has loopback up and a veth pair whose end holds 192.0.2.2/24
// and 2001:db8::2/64 (documentation ranges, RFC 5737 and 3849): connections
// to Remote and Remote6 have a route, so netfilter sees them, and whatever
// netfilter lets out goes into the pair's other end, which has no address,
// and is dropped there.
package netnstest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Remote is the address connections are sent to: routed, and reachable only
// through what netfilter does to them.
const (
	Remote  = "192.0.2.1"
	Remote6 = "2001:db8::1"
)

// NS is one namespace, removed at the end of the test.
type NS struct {
	t    testing.TB
	path string // /proc/PID/ns/net of the process that holds it
}

// New makes a namespace, failing the test (with what to do) when this
// process may not.
func New(t testing.TB) *NS {
	t.Helper()
	for _, tool := range []string{"unshare", "nsenter", "ip", "iptables", "ip6tables", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed to build a network namespace for netfilter tests (util-linux, iproute2, iptables)", tool)
		}
	}
	holder := exec.Command("unshare", "--net", "sleep", "3600")
	holder.Stderr = &bytes.Buffer{}
	if err := holder.Start(); err != nil {
		t.Fatalf("unshare --net: %v", err)
	}
	t.Cleanup(func() {
		holder.Process.Kill()
		holder.Wait()
	})
	ns := &NS{t: t, path: fmt.Sprintf("/proc/%d/ns/net", holder.Process.Pid)}
	// unshare enters the namespace a moment after it starts.
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		if l, err := os.Readlink(ns.path); err == nil && l != self {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("unshare --net made no namespace (it needs root): %s", holder.Stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, cmd := range []string{
		"ip link set lo up",
		"ip link add tt0 type veth peer name tt1",
		"ip addr add 192.0.2.2/24 dev tt0",
		"ip -6 addr add 2001:db8::2/64 dev tt0 nodad",
		"ip link set tt0 up",
		"ip link set tt1 up",
	} {
		if out, err := ns.Run(context.Background(), cmd); err != nil {
			t.Fatalf("set up the namespace: %s: %v\n%s", cmd, err, out)
		}
	}
	return ns
}

// Run runs a shell command line as root inside the namespace: the form of
// redirect.Run. A non-zero exit is an error holding what it printed.
func (ns *NS) Run(ctx context.Context, cmd string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "nsenter", "--net="+ns.path, "sh", "-c", cmd).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// Command runs argv inside the namespace as uid (and gid uid), as an app of
// that uid would.
func (ns *NS) Command(ctx context.Context, uid int, argv ...string) *exec.Cmd {
	id := strconv.Itoa(uid)
	args := append([]string{"--net=" + ns.path, "setpriv", "--reuid=" + id, "--regid=" + id, "--clear-groups", "--"}, argv...)
	return exec.CommandContext(ctx, "nsenter", args...)
}

// Listen opens a listener inside the namespace (on its loopback: the
// phone's side of an adb reverse rule).
func (ns *NS) Listen(network, addr string) net.Listener {
	ns.t.Helper()
	var ln net.Listener
	err := ns.Do(func() error {
		var err error
		ln, err = net.Listen(network, addr)
		return err
	})
	if err != nil {
		ns.t.Fatalf("listen on %s inside the namespace: %v", addr, err)
	}
	ns.t.Cleanup(func() { ln.Close() })
	return ln
}

// Do runs f on a thread moved into the namespace, and moves it back. A
// socket made there stays in the namespace wherever it is used from.
func (ns *NS) Do(f func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return err
	}
	defer self.Close()
	target, err := os.Open(ns.path)
	if err != nil {
		return err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("setns: %w", err)
	}
	ferr := f()
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		// The thread cannot go back: leave it locked, so the runtime ends it
		// instead of handing it to other goroutines.
		runtime.LockOSThread()
		return fmt.Errorf("setns back: %w", err)
	}
	return ferr
}
