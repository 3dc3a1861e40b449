package telemetry

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
)

// Net is the phone's network stack as the sender needs it
// (devices/sim/netstack).
type Net interface {
	// Proxy is the global HTTP proxy ("host:port"), or an error wrapping
	// netstack.ErrNoProxy.
	Proxy() (string, error)
	// Dial connects as an app on the phone does: errors wrap
	// syscall.ENETUNREACH off the phone's loopback and ECONNREFUSED where
	// no adb reverse rule answers.
	Dial(ctx context.Context, addr string) (net.Conn, error)
	// TrustedCAs is the CA pool an app trusts; userStore for apps that opt in.
	TrustedCAs(userStore bool) *x509.CertPool
}

// SendError is a failed delivery with its ground-truth reason.
type SendError struct {
	Reason string
	Err    error
}

func (e *SendError) Error() string { return e.Reason + ": " + e.Err.Error() }
func (e *SendError) Unwrap() error { return e.Err }

func fail(reason string, err error) error { return &SendError{Reason: reason, Err: err} }

// maxReply bounds a reply body the phone reads.
const maxReply = 1 << 20

// Do sends req to https://req.Host through the phone's proxy, the way an app
// on the phone would, and returns the status and the reply body. The network
// stack decides what is reachable: only a proxy on the phone's loopback,
// carried to the host by an adb reverse rule.
func Do(ctx context.Context, n Net, req *http.Request, userCA bool) (int, []byte, error) {
	proxy, err := n.Proxy()
	if err != nil {
		return 0, nil, fail("no-proxy", err)
	}
	raw, err := n.Dial(ctx, proxy)
	switch {
	case errors.Is(err, syscall.ENETUNREACH):
		return 0, nil, fail("proxy-not-loopback", fmt.Errorf("proxy %s is off the phone: %w", proxy, err))
	case err != nil:
		return 0, nil, fail("no-reverse", fmt.Errorf("connect to proxy %s: %w", proxy, err))
	}
	defer raw.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = raw.SetDeadline(dl)
	}
	// Close the connection when ctx ends so no read can outlive the deadline.
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()

	target := req.URL.Host
	if !strings.Contains(target, ":") {
		target += ":443"
	}
	fmt.Fprintf(raw, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: Dalvik/2.1.0 (Linux; U; Android)\r\n\r\n", target, target)
	br := bufio.NewReader(raw)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		return 0, nil, fail("connect", fmt.Errorf("CONNECT %s via %s: %w", target, proxy, err))
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, nil, fail("proxy-refused", fmt.Errorf("CONNECT %s via %s: %s", target, proxy, resp.Status))
	}
	tc := tls.Client(&bufferedConn{Conn: raw, r: br}, &tls.Config{
		ServerName: req.URL.Hostname(),
		RootCAs:    n.TrustedCAs(userCA),
		NextProtos: []string{"http/1.1"},
		MinVersion: tls.VersionTLS12,
	})
	if err := tc.HandshakeContext(ctx); err != nil {
		return 0, nil, fail("tls", fmt.Errorf("TLS to %s: %w", req.URL.Host, err))
	}
	req.Close = true
	if err := req.Write(tc); err != nil {
		return 0, nil, fail("http", fmt.Errorf("send %s %s: %w", req.Method, req.URL, err))
	}
	resp, err = http.ReadResponse(bufio.NewReader(tc), req)
	if err != nil {
		return 0, nil, fail("http", fmt.Errorf("reply to %s %s: %w", req.Method, req.URL, err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return resp.StatusCode, nil, fail("http", fmt.Errorf("read reply to %s: %w", req.URL, err))
	}
	return resp.StatusCode, body, nil
}

// bufferedConn reads what the CONNECT reply reader already buffered first.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// reason extracts the ground-truth reason from a send error.
func reason(err error) string {
	var se *SendError
	if errors.As(err, &se) {
		return se.Reason
	}
	return "http"
}

// newRequest builds a request with a body and length set.
func newRequest(ctx context.Context, method, host, path string, body []byte) (*http.Request, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	return http.NewRequestWithContext(ctx, method, "https://"+host+path, r)
}
