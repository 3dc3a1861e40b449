package redirect_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"telltale.dev/harness/redirect"
	"telltale.dev/harness/redirect/netnstest"
)

const (
	appUID   = 10123
	otherUID = 10124
	appPort  = 18081
)

// The rules, made by the real iptables in a namespace of the real kernel,
// send each uid where the plan says, leave loopback alone, refuse QUIC and
// IPv6 TCP at once; their undos, run newest first as a restore does, leave
// `iptables -S` as it was, and can run twice.
func TestRulesRouteEveryConnectionAndUndoToTheSameState(t *testing.T) {
	ctx := t.Context()
	ns := netnstest.New(t)
	serve(t, ns, "127.0.0.1:8080", "proxy")
	serve(t, ns, fmt.Sprintf("127.0.0.1:%d", appPort), "app")
	serve(t, ns, "127.0.0.1:9000", "local")
	before, err := redirect.ReadState(ctx, ns.Run)
	if err != nil {
		t.Fatal(err)
	}
	if err := before.CheckFree(); err != nil {
		t.Fatal(err)
	}
	rules, err := redirect.Plan{ProxyPort: 8080, Apps: []redirect.AppPort{{UID: appUID, Port: appPort}}}.Rules()
	if err != nil {
		t.Fatal(err)
	}
	var journal []redirect.Rule
	if err := redirect.Apply(ctx, ns.Run, rules, func(r redirect.Rule) error { journal = append(journal, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(journal) != len(rules) {
		t.Fatalf("%d rules journaled, %d made", len(journal), len(rules))
	}

	for _, c := range []struct {
		uid       int
		url, want string
	}{
		{appUID, "http://" + netnstest.Remote + "/a", "app " + netnstest.Remote + " /a"},
		{appUID, "http://" + netnstest.Remote + ":5222/xmpp", "app " + netnstest.Remote + ":5222 /xmpp"},
		{otherUID, "http://" + netnstest.Remote + "/b", "proxy " + netnstest.Remote + " /b"},
		{0, "http://" + netnstest.Remote + ":8443/c", "proxy " + netnstest.Remote + ":8443 /c"},
		{appUID, "http://127.0.0.1:9000/d", "local 127.0.0.1:9000 /d"},
	} {
		if got, err := curl(ctx, ns, c.uid, c.url); err != nil || got != c.want {
			t.Errorf("uid %d GET %s: got %q (%v), want %q", c.uid, c.url, got, err, c.want)
		}
	}
	if _, err := curl(ctx, ns, appUID, "http://["+netnstest.Remote6+"]/v6"); err == nil || !strings.Contains(err.Error(), "exit status 7") {
		t.Errorf("IPv6 TCP: %v, want curl's exit 7 (refused at once, so apps move to IPv4)", err)
	}
	// The kernel refuses a datagram REJECT drops in OUTPUT at the send
	// (EPERM), or reports the ICMP error on the connected socket.
	if err := quic(ns); !errors.Is(err, syscall.EPERM) && !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("UDP to port 443: %v, want EPERM or ECONNREFUSED at once so QUIC falls back to TCP", err)
	}

	during, err := redirect.ReadState(ctx, ns.Run)
	if err != nil {
		t.Fatal(err)
	}
	if owned := during.Owned(); len(owned) != 3 || !errors.Is(during.CheckFree(), redirect.ErrChainExists) {
		t.Errorf("while capturing: chain in %v, CheckFree %v", owned, during.CheckFree())
	}
	for range 2 { // a second restore finds nothing left and is fine with it
		for _, r := range slices.Backward(journal) {
			if err := redirect.Undo(ctx, ns.Run, r.UndoCommand()); err != nil {
				t.Fatal(err)
			}
		}
	}
	after, err := redirect.ReadState(ctx, ns.Run)
	if err != nil {
		t.Fatal(err)
	}
	if d := before.Diff(after); len(d) > 0 {
		t.Errorf("iptables -S after the undos differs from before:\n%s", strings.Join(d, "\n"))
	}
	if got, err := curl(ctx, ns, appUID, "http://"+netnstest.Remote+"/a"); err == nil {
		t.Errorf("after the undos a connection to %s still reached %q", netnstest.Remote, got)
	}
}

// An undo that fails for another reason than "already gone" is an error.
func TestUndoReportsRealFailures(t *testing.T) {
	ns := netnstest.New(t)
	for _, cmd := range []string{"iptables -t nat -N " + redirect.Chain, "iptables -t nat -A " + redirect.Chain + " -j RETURN"} {
		if _, err := ns.Run(t.Context(), cmd); err != nil {
			t.Fatal(err)
		}
	}
	// -X of a chain that still holds a rule fails: that must not pass for done.
	if err := redirect.Undo(t.Context(), ns.Run, "iptables -t nat -X "+redirect.Chain); err == nil {
		t.Error("deleting a chain that still holds a rule was taken for done")
	}
	st, err := redirect.ReadState(t.Context(), ns.Run)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CheckFree(); !errors.Is(err, redirect.ErrChainExists) || !strings.Contains(err.Error(), "telltale restore") {
		t.Errorf("CheckFree with a chain left: %v, want ErrChainExists saying how to clear it", err)
	}
}

func TestPlanRefusesClashingPorts(t *testing.T) {
	for _, p := range []redirect.Plan{
		{ProxyPort: 8080, Apps: []redirect.AppPort{{UID: 10001, Port: 8080}}},
		{ProxyPort: 8080, Apps: []redirect.AppPort{{UID: 10001, Port: 18081}, {UID: 10001, Port: 18082}}},
		{ProxyPort: 0},
	} {
		if _, err := p.Rules(); err == nil {
			t.Errorf("plan %+v accepted", p)
		}
	}
}

// serve answers every request inside the namespace with its own name, the
// Host and the path: which listener a redirected connection reached.
func serve(t *testing.T, ns *netnstest.NS, addr, name string) {
	ln := ns.Listen("tcp", addr)
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s %s", name, r.Host, r.URL.Path)
	}), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
}

// curl fetches url with the real curl, run inside the namespace as uid.
func curl(ctx context.Context, ns *netnstest.NS, uid int, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := ns.Command(ctx, uid, "curl", "-sS", "-m", "20", "--noproxy", "*", url).Output()
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		err = fmt.Errorf("%w: %s", err, ee.Stderr)
	}
	return string(out), err
}

// quic sends a datagram to port 443 from inside the namespace and waits for
// the answer.
func quic(ns *netnstest.NS) error {
	var c net.Conn
	if err := ns.Do(func() (err error) {
		c, err = net.Dial("udp", net.JoinHostPort(netnstest.Remote, "443"))
		return err
	}); err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Write([]byte("quic initial")); err != nil {
		return err
	}
	_, err := c.Read(make([]byte, 16))
	return err
}
