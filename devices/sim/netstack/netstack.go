// Package netstack is the simulated phone's network as its apps and tools
// see it: the global HTTP proxy setting, connections out, and the CA stores
// TLS trusts. The phone has no network of its own: the one rule of the
// house is that a connection reaches the host only through the phone's
// loopback, carried by an `adb reverse` rule, and any other address is
// unreachable. Device-side listeners for `adb forward`, iptables rules and
// /proc/net come here next (issue 10).
package netstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"syscall"

	"telltale.dev/devices/sim/adbd"
	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/vfs"
)

// ErrNoProxy says the global proxy setting names no usable proxy.
var ErrNoProxy = errors.New("no usable global http_proxy")

// Settings is where the proxy setting lives.
type Settings interface {
	Setting(ns, key string) (string, bool)
}

// Config builds a network stack.
type Config struct {
	Settings Settings
	Files    *vfs.FS
	Clock    clock.Clock
	// SDK is the firmware's API level: from 34 the system CA store is the
	// Conscrypt APEX's.
	SDK int
}

// Stack is the phone's network stack.
type Stack struct {
	cfg Config

	mu     sync.Mutex
	tunnel adbd.Tunnel
}

// New returns a stack with no way out until SetTunnel.
func New(cfg Config) *Stack { return &Stack{cfg: cfg} }

// SetTunnel gives the stack the adb transport that carries reverse rules.
func (s *Stack) SetTunnel(t adbd.Tunnel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tunnel = t
}

// Proxy is the global HTTP proxy ("host:port") as ProxyTracker reads
// global:http_proxy: unset, "null", a port of 0 (":0" clears the proxy) or
// a malformed value mean none, with ErrNoProxy.
func (s *Stack) Proxy() (string, error) {
	raw, _ := s.cfg.Settings.Setting("global", "http_proxy")
	host, port, err := net.SplitHostPort(raw)
	if raw == "" || raw == "null" || err != nil || port == "" || port == "0" {
		return "", fmt.Errorf("%w (%q): the network is unreachable", ErrNoProxy, raw)
	}
	return net.JoinHostPort(host, port), nil
}

// Loopback says whether host names the phone itself.
func Loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Dial connects to addr ("host:port") as an app on the phone would. Only the
// phone's loopback is reachable, and a port there answers only when an adb
// reverse rule carries it to the host: otherwise the errors are a real
// socket's, syscall.ENETUNREACH and syscall.ECONNREFUSED.
func (s *Stack) Dial(ctx context.Context, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", addr, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return nil, fmt.Errorf("connect %s: bad port %q", addr, port)
	}
	if !Loopback(host) {
		return nil, fmt.Errorf("connect %s: %w (the simulated phone has no network but adb reverse)", addr, syscall.ENETUNREACH)
	}
	s.mu.Lock()
	t := s.tunnel
	s.mu.Unlock()
	if t == nil {
		return nil, fmt.Errorf("connect %s: %w (no adb transport)", addr, syscall.ECONNREFUSED)
	}
	c, err := t.DialReverse(ctx, "tcp:"+port)
	if errors.Is(err, adbd.ErrNoReverse) {
		return nil, fmt.Errorf("connect %s: %w (no adb reverse rule for tcp:%s)", addr, syscall.ECONNREFUSED, port)
	}
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", addr, err)
	}
	return c, nil
}
