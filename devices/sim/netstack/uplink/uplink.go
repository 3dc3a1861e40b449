// Package uplink is HTTPS as software on the simulated phone speaks it over
// the phone's sockets (devices/sim/netstack): the telemetry SDKs (as
// Android's HttpURLConnection does: the global proxy when one is set, else
// straight to the server) and the apps with network stacks of their own,
// which pick their socket and route and use Connect and Exchange. Every
// failure carries its ground-truth reason; every success says which way
// the phone's network carried it (netstack.Route).
package uplink

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/netstack"
)

// Net is the phone's network stack as a client needs it
// (devices/sim/netstack).
type Net interface {
	// Proxy is the global HTTP proxy ("host:port"), or an error wrapping
	// netstack.ErrNoProxy.
	Proxy() (string, error)
	// DialAs connects a socket of uid as an app on the phone does: a
	// loopback port answers through a listener or an adb reverse rule
	// (ECONNREFUSED without one); the OUTPUT chains may redirect, drop or
	// reject; any other address is the modeled outside; no route fails
	// with ENETUNREACH.
	DialAs(ctx context.Context, uid uint32, network, addr string) (net.Conn, error)
	// TrustedCAs is the CA pool an app trusts; userStore for apps that opt in.
	TrustedCAs(userStore bool) *x509.CertPool
}

// RouteProxy is the route of a request sent through the global proxy
// (a CONNECT tunnel), beside netstack's routes for direct connections.
const RouteProxy netstack.Route = "proxy"

// Reply is a server's answer and the way the request went.
type Reply struct {
	Status int
	Body   []byte
	Route  netstack.Route
}

// SendError is a failed request with its ground-truth reason
// (groundtruth.Record.Reason) and, when the connection was made, its route.
type SendError struct {
	Reason string
	Route  netstack.Route
	Err    error
}

func (e *SendError) Error() string { return e.Reason + ": " + e.Err.Error() }
func (e *SendError) Unwrap() error { return e.Err }

// Fail wraps err with a ground-truth reason.
func Fail(reason string, err error) error { return &SendError{Reason: reason, Err: err} }

// Reason is the ground-truth reason of an error ("http" for errors that
// carry none).
func Reason(err error) string {
	var se *SendError
	if errors.As(err, &se) {
		return se.Reason
	}
	return "http"
}

// RouteOf is the route of a failed request's connection ("" when none was
// made).
func RouteOf(err error) netstack.Route {
	var se *SendError
	if errors.As(err, &se) {
		return se.Route
	}
	return ""
}

// DialFailure words a failed connect: no route (ENETUNREACH), a loopback
// port nothing holds (ECONNREFUSED: a proxy or redirect port without its
// adb reverse rule), or any other connect failure.
func DialFailure(err error) error {
	switch {
	case errors.Is(err, syscall.ENETUNREACH):
		return Fail("unreachable", err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return Fail("no-reverse", err)
	}
	return Fail("connect", err)
}

// maxReply bounds a reply body the phone reads.
const maxReply = 1 << 20

// bounded closes conn when ctx ends, so no read outlives the request.
func bounded(ctx context.Context, conn net.Conn) (stop func() bool) {
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	return context.AfterFunc(ctx, func() { conn.Close() })
}

// Connect asks the HTTP proxy at the other end of conn for a tunnel to
// host (port 443 unless it names one) and returns the tunnel.
func Connect(ctx context.Context, conn net.Conn, host, userAgent string) (net.Conn, error) {
	stop := bounded(ctx, conn)
	defer stop()
	target := withPort(host)
	fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n\r\n", target, target, userAgent)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		return nil, &SendError{Reason: "connect", Route: RouteProxy, Err: fmt.Errorf("CONNECT %s: %w", target, err)}
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &SendError{Reason: "proxy-refused", Route: RouteProxy, Err: fmt.Errorf("CONNECT %s: %s", target, resp.Status)}
	}
	return &bufferedConn{Conn: conn, r: br}, nil
}

func withPort(host string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), "443")
}

// bufferedConn reads what the CONNECT reply reader already buffered first.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// Exchange sends req over conn and reads the reply: inside TLS to
// req.URL's host, trusting roots, wherever conn leads (a proxy's tunnel, a
// REDIRECT to the harness, a listener on the phone). On a connection to
// the modeled outside, which stands for the real server, the request goes
// in the clear: the phone's client would speak TLS to the real server,
// whose certificate the system store trusts, and the modeled outside has
// no such certificate to show (modeled; what matters is that the request
// left the phone and nothing on the way saw it). conn must be what
// netstack's DialAs returned, or a tunnel through a proxy.
func Exchange(ctx context.Context, conn net.Conn, roots *x509.CertPool, req *http.Request) (Reply, error) {
	stop := bounded(ctx, conn)
	defer stop()
	route, direct := netstack.RouteOf(conn)
	if !direct {
		route = RouteProxy
	}
	fail := func(reason string, err error) error { return &SendError{Reason: reason, Route: route, Err: err} }
	rw := conn
	if route != netstack.RouteOutside {
		tc := tls.Client(conn, &tls.Config{ServerName: req.URL.Hostname(), RootCAs: roots,
			NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12})
		if err := tc.HandshakeContext(ctx); err != nil {
			return Reply{Route: route}, fail("tls", fmt.Errorf("TLS to %s: %w", req.URL.Host, err))
		}
		rw = tc
	}
	if err := req.Write(rw); err != nil {
		return Reply{Route: route}, fail("http", fmt.Errorf("send %s %s: %w", req.Method, req.URL, err))
	}
	resp, err := http.ReadResponse(bufio.NewReader(rw), req)
	if err != nil {
		return Reply{Route: route}, fail("http", fmt.Errorf("reply to %s %s: %w", req.Method, req.URL, err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return Reply{Status: resp.StatusCode, Route: route}, fail("http", fmt.Errorf("read reply to %s: %w", req.URL, err))
	}
	return Reply{Status: resp.StatusCode, Body: body, Route: route}, nil
}

// Do sends req from a Java socket of the app's uid as Android's
// HttpURLConnection does (ProxySelector.getDefault() reads the global
// proxy that ProxyTracker publishes): through the global proxy when one is
// set; otherwise straight to the server on port 443, so the phone's
// iptables rules apply (a transparent capture's REDIRECT) and anything
// they let through reaches the modeled outside. The connection is closed
// after the reply.
func Do(ctx context.Context, n Net, uid uint32, req *http.Request, userCA bool) (Reply, error) {
	req.Close = true
	var conn net.Conn
	proxy, err := n.Proxy()
	if err == nil {
		raw, err := n.DialAs(ctx, uid, "tcp", proxy)
		if err != nil {
			return Reply{}, DialFailure(fmt.Errorf("connect to proxy %s: %w", proxy, err))
		}
		defer raw.Close()
		if conn, err = Connect(ctx, raw, req.URL.Host, req.UserAgent()); err != nil {
			return Reply{Route: RouteProxy}, err
		}
	} else {
		if conn, err = n.DialAs(ctx, uid, "tcp", withPort(req.URL.Host)); err != nil {
			return Reply{}, DialFailure(fmt.Errorf("connect to %s: %w", req.URL.Host, err))
		}
		defer conn.Close()
	}
	return Exchange(ctx, conn, n.TrustedCAs(userCA), req)
}

// Send is Do for an app that trusts only the system CA store, with a reply
// status outside 200-299 a failure of reason "rejected", as both SDKs judge
// their HttpURLConnection replies (sa-sdk-android AnalyticsMessages
// sendHttpRequest; OneTrack reads a body only from a successful reply).
func Send(ctx context.Context, n Net, uid uint32, req *http.Request) (Reply, error) {
	r, err := Do(ctx, n, uid, req, false)
	if err == nil && (r.Status < 200 || r.Status >= 300) {
		err = &SendError{Reason: "rejected", Route: r.Route, Err: fmt.Errorf("%s%s answered %d", req.URL.Host, req.URL.Path, r.Status)}
	}
	return r, err
}

// NewRequest builds a request to https://host+path with a body and its
// length set.
func NewRequest(ctx context.Context, method, host, path string, body []byte) (*http.Request, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	return http.NewRequestWithContext(ctx, method, "https://"+host+path, r)
}

// Keep ends a connection as a client's pool does: closed at once after a
// failure, kept open for idle after a success and then closed (modeled:
// nobody reuses it; each request opens its own), on the phone's clock.
func Keep(clk clock.Clock, conn io.Closer, err error, idle time.Duration) {
	if err != nil {
		conn.Close()
		return
	}
	clk.AfterFunc(idle, func() { conn.Close() })
}
