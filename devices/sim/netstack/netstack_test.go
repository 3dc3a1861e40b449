package netstack_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"telltale.dev/devices/sim/adbd"
	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/internal/cmdtest"
	"telltale.dev/devices/sim/netstack"
	"telltale.dev/devices/sim/vfs"
)

type settings map[string]string

func (s settings) Setting(ns, key string) (string, bool) {
	v, ok := s[ns+":"+key]
	return v, ok
}

// tunnel answers reverse dials for tcp:9000 with one end of a pipe whose
// other end greets and then stays open; dials are counted.
type tunnel struct {
	dials atomic.Int32
	peer  chan net.Conn
}

func (t *tunnel) DialReverse(_ context.Context, local string) (net.Conn, error) {
	t.dials.Add(1)
	if local != "tcp:9000" {
		return nil, adbd.ErrNoReverse
	}
	phone, host := net.Pipe()
	t.peer <- host
	return phone, nil
}

func (t *tunnel) Disconnect(time.Duration) {}

func newStack(proxy string, clk clock.Clock) (*netstack.Stack, *tunnel) {
	s := netstack.New(netstack.Config{Settings: settings{"global:http_proxy": proxy}, Files: vfs.New(), Clock: clk, SDK: 29})
	tn := &tunnel{peer: make(chan net.Conn, 1)}
	s.SetTunnel(tn)
	return s, tn
}

func TestProxySetting(t *testing.T) {
	for raw, want := range map[string]string{"127.0.0.1:8080": "127.0.0.1:8080", "[::1]:3128": "[::1]:3128",
		"": "", "null": "", ":0": "", "127.0.0.1": "", "host:": ""} {
		s, _ := newStack(raw, clock.Real())
		got, err := s.Proxy()
		if want == "" {
			if !errors.Is(err, netstack.ErrNoProxy) {
				t.Errorf("%q: %q %v, want ErrNoProxy", raw, got, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", raw, got, err, want)
		}
	}
}

// The one rule of the house: off the phone's loopback nothing is dialed.
func TestOnlyLoopbackThroughAdbReverse(t *testing.T) {
	s, tn := newStack("", clock.Real())
	ctx := context.Background()
	for _, addr := range []string{"93.184.216.34:80", "proxy.example:3128", "10.0.2.2:8080"} {
		if _, err := s.Dial(ctx, addr); !errors.Is(err, syscall.ENETUNREACH) {
			t.Errorf("%s: %v, want ENETUNREACH", addr, err)
		}
	}
	if n := tn.dials.Load(); n != 0 {
		t.Fatalf("%d dials off the loopback", n)
	}
	if _, err := s.Dial(ctx, "localhost:8080"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("a port without a reverse rule: %v", err)
	}
	c, err := s.Dial(ctx, "[::1]:9000")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	(<-tn.peer).Close()
	noTunnel := netstack.New(netstack.Config{Settings: settings{}, Files: vfs.New(), Clock: clock.Real()})
	if _, err := noTunnel.Dial(ctx, "127.0.0.1:9000"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("before the transport is up: %v", err)
	}
}

// nc -w ends the session on the phone's clock: a fake clock advanced past
// the timeout ends it, with no real waiting.
func TestNcTimeoutOnThePhonesClock(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	s, tn := newStack("", clk)
	nc := s.Commands()["nc"]
	done := make(chan cmdtest.Result, 1)
	go func() { done <- cmdtest.Run(context.Background(), nc, "nc", "-w", "30", "127.0.0.1", "9000") }()
	host := <-tn.peer
	defer host.Close()
	if _, err := host.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := clk.WaitTimers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		t.Fatalf("nc ended before its timeout: %+v", r)
	default:
	}
	clk.Advance(30 * time.Second)
	select {
	case r := <-done:
		if r.Code != 0 || r.Out != "hello\n" {
			t.Errorf("nc: %+v", r)
		}
	case <-ctx.Done():
		t.Fatal("nc did not end when the phone's clock passed its timeout")
	}
	for _, c := range []struct{ host, want string }{{"93.184.216.34", "Network is unreachable"}, {"127.0.0.1", "Connection refused"}} {
		port := "80"
		r := cmdtest.Run(context.Background(), nc, "nc", c.host, port)
		if r.Code != 1 || !strings.Contains(r.Err, c.want) {
			t.Errorf("nc %s: %+v", c.host, r)
		}
	}
}
