// Package mitm is the recording proxy: an HTTP proxy that intercepts TLS
// with the run's CA, answers locally (sinkhole) or forwards upstream, and
// appends every completed exchange to a capture.LogWriter the moment it
// completes.
package mitm

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/http2"

	"telltale.dev/harness/ca"
	"telltale.dev/harness/capture"
)

// Mode says who answers intercepted requests.
type Mode string

const (
	// Sinkhole answers every request locally with a plausible reply, so a
	// run never reaches the internet. The default.
	Sinkhole Mode = "sinkhole"
	// Forward sends requests to their real (or mapped) upstream.
	Forward Mode = "forward"
)

// ParseMode checks a mode name from a flag or option.
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case Sinkhole, Forward:
		return Mode(s), nil
	case "":
		return Sinkhole, nil
	}
	return "", fmt.Errorf("mitm: unknown mode %q (want sinkhole or forward)", s)
}

// DefaultBodyLimit is how much of each body is stored; the rest is counted.
const DefaultBodyLimit = 4 << 20

const (
	idleTimeout      = 2 * time.Minute
	handshakeTimeout = 15 * time.Second
	maxHeaderBytes   = 256 << 10
)

// Config is what a Server needs. CA and Log are required.
type Config struct {
	CA   *ca.CA
	Log  *capture.LogWriter
	Mode Mode
	// UpstreamMap sends "host" or "host:port" to another address in forward
	// mode, so tests can stand in for real servers.
	UpstreamMap map[string]string
	// UpstreamInsecure skips verification of upstream certificates (test
	// upstreams have self-signed ones).
	UpstreamInsecure bool
	BodyLimit        int64
	Logger           *slog.Logger
	// AppDir is where OpenApp makes the Unix sockets of per-app
	// listeners; "" refuses OpenApp.
	AppDir string
}

// Server is the proxy. One Server can serve several listeners.
type Server struct {
	cfg       Config
	log       *slog.Logger
	transport *http.Transport
	h2        *http2.Server
	h2stop    *http.Server // reaches h2's graceful shutdown; see goAwayH2
	started   time.Time
	stats     counters

	// base is the context of every handler: cancelled by Close (and once
	// Shutdown is done), it aborts upstream requests.
	base       context.Context
	cancel     context.CancelFunc
	inShutdown atomic.Bool
	running    group // accept loops and connection handlers

	mu        sync.Mutex
	conns     map[*clientConn]struct{}
	listeners map[net.Listener]struct{}
	apps      map[int]string // uid -> its listener's socket, see OpenApp
}

type counters struct {
	flows, marks, tlsFailures, websockets  atomic.Int64
	connections, active, badInput, logErrs atomic.Int64
}

// New checks cfg and makes a Server.
func New(cfg Config) (*Server, error) {
	if cfg.CA == nil || cfg.Log == nil {
		return nil, errors.New("mitm: Config needs CA and Log")
	}
	if cfg.Mode == "" {
		cfg.Mode = Sinkhole
	}
	if _, err := ParseMode(string(cfg.Mode)); err != nil {
		return nil, err
	}
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = DefaultBodyLimit
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, log: cfg.Logger, started: time.Now(),
		conns: map[*clientConn]struct{}{}, listeners: map[net.Listener]struct{}{}, apps: map[int]string{}}
	s.base, s.cancel = context.WithCancel(context.Background())
	s.h2 = &http2.Server{IdleTimeout: idleTimeout, MaxReadFrameSize: 1 << 20}
	s.h2stop = &http.Server{}
	if err := http2.ConfigureServer(s.h2stop, s.h2); err != nil {
		return nil, fmt.Errorf("mitm: HTTP/2 server: %w", err)
	}
	if cfg.Mode == Forward {
		s.transport = s.newTransport()
	}
	return s, nil
}

func (s *Server) newTransport() *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, s.upstreamAddr(addr))
		},
		TLSClientConfig: &tls.Config{InsecureSkipVerify: s.cfg.UpstreamInsecure}, //nolint:gosec // opt-in for test upstreams
		// HTTP/1.1 upstream: a pool of connections costs less CPU per
		// request in Go than multiplexing everything over one h2 connection
		// (measured with bench/proxy.sh).
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		// Bodies pass through as sent: the client's own Accept-Encoding is
		// forwarded, so the transport never decompresses.
		DisableCompression:    true,
		ResponseHeaderTimeout: 60 * time.Second,
	}
}

// upstreamAddr applies the upstream map to a dial address "host:port".
func (s *Server) upstreamAddr(addr string) string {
	if a, ok := s.cfg.UpstreamMap[addr]; ok {
		return a
	}
	host, _, err := net.SplitHostPort(addr)
	if err == nil {
		if a, ok := s.cfg.UpstreamMap[host]; ok {
			return a
		}
	}
	return addr
}

// ServeProxy accepts clients on ln until Shutdown or Close, and then
// returns ErrServerClosed. A client may use it as its HTTP proxy (CONNECT,
// absolute-form requests) or reach it redirected, with no proxy setting
// (TLS routed by its SNI, plain HTTP by its Host header): one port on the
// phone's side of adb reverse serves both, so apps that obey the proxy
// setting and apps whose connections iptables redirects meet there.
func (s *Server) ServeProxy(ln net.Listener) error {
	return s.serve(ln, nil, s.handleProxyConn)
}

// ServeApp is ServeProxy for a listener that only app's connections reach
// (iptables sends each app uid's traffic to a port of its own): every flow
// recorded from it carries the app.
func (s *Server) ServeApp(ln net.Listener, app capture.App) error {
	return s.serve(ln, &app, s.handleProxyConn)
}

// ServeTransparent accepts connections redirected without a proxy setting
// only: TLS routed by its SNI, or plain HTTP routed by its Host header. It
// returns as ServeProxy does.
func (s *Server) ServeTransparent(ln net.Listener) error {
	return s.serve(ln, nil, func(ctx context.Context, c *clientConn) {
		br := getReader(c)
		defer c.release(br)
		c.route = capture.RouteRedirect
		s.handleTunnel(ctx, c, br, "")
	})
}

func (s *Server) serve(ln net.Listener, app *capture.App, handle func(context.Context, *clientConn)) error {
	if !s.running.enter() {
		ln.Close()
		return ErrServerClosed
	}
	defer s.running.exit()
	if !s.addListener(ln) {
		ln.Close()
		return ErrServerClosed
	}
	defer s.removeListener(ln)
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.inShutdown.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) {
				// Out of file descriptors or similar: back off, do not spin.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return fmt.Errorf("mitm: accept on %s: %w", ln.Addr(), err)
		}
		delay = 0
		cc := s.track(c)
		if cc == nil {
			c.Close()
			continue
		}
		cc.app = app
		go func() {
			defer s.running.exit()
			defer s.untrack(cc)
			defer cc.Close()
			defer func() {
				// A bug in one connection's handling must not take down
				// the proxy and every other connection's recording.
				if r := recover(); r != nil {
					s.stats.badInput.Add(1)
					s.log.Error("connection handler panicked", "client", cc.RemoteAddr().String(), "panic", r)
				}
			}()
			handle(s.base, cc)
		}()
	}
}

// addListener registers ln for Shutdown to close; false once stop began.
func (s *Server) addListener(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inShutdown.Load() {
		return false
	}
	s.listeners[ln] = struct{}{}
	return true
}

func (s *Server) removeListener(ln net.Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.listeners, ln)
}

// track registers a new connection and its handler with the running group.
func (s *Server) track(c net.Conn) *clientConn {
	if !s.running.enter() {
		return nil
	}
	cc := &clientConn{Conn: c, s: s}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns[cc] = struct{}{}
	s.stats.connections.Add(1)
	s.stats.active.Add(1)
	return cc
}

func (s *Server) untrack(cc *clientConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, cc)
	s.stats.active.Add(-1)
}

// handleProxyConn reads proxy requests: absolute-form for plain HTTP, or
// CONNECT, after which the connection becomes a tunnel. A connection that
// opens with a TLS handshake, or an origin-form request, was redirected to
// the proxy by the phone and is routed by its SNI or Host header.
func (s *Server) handleProxyConn(ctx context.Context, c *clientConn) {
	br := getReader(c)
	defer c.release(br)
	if !c.await(br) {
		return
	}
	if first, _ := br.Peek(1); first[0] == tlsHandshake {
		c.route = capture.RouteRedirect
		s.intercept(ctx, c, &bufConn{Conn: c, r: br}, "")
		return
	}
	req, err := readRequest(br)
	if err != nil {
		s.rejectRequest(c, err)
		return
	}
	c.route = capture.RouteProxy
	if req.method != http.MethodConnect {
		if strings.HasPrefix(req.target, "/") {
			c.route = capture.RouteRedirect
		}
		// Plain HTTP: through the proxy every request carries its own
		// absolute URL; redirected, its Host header names the server.
		h := &h1conn{s: s, cc: c, conn: c, br: br, scheme: "http"}
		h.serve(ctx, req)
		return
	}
	target := req.target
	if _, _, err := net.SplitHostPort(target); err != nil {
		s.stats.badInput.Add(1)
		io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
		return
	}
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection Established\r\n\r\n"); err != nil {
		return
	}
	s.handleTunnel(ctx, c, br, target)
}

// tlsHandshake is the content type of a TLS record carrying a handshake,
// the first byte a TLS client sends.
const tlsHandshake = 0x16

// handleTunnel looks at the first byte of a tunnel: a TLS handshake is
// intercepted, anything else is read as HTTP/1.
func (s *Server) handleTunnel(ctx context.Context, c *clientConn, br *bufio.Reader, target string) {
	if !c.await(br) {
		return
	}
	if first, _ := br.Peek(1); first[0] == tlsHandshake {
		s.intercept(ctx, c, &bufConn{Conn: c, r: br}, target)
		return
	}
	h := &h1conn{s: s, cc: c, conn: c, br: br, scheme: "http", authority: target}
	h.serve(ctx, nil)
}

// rejectRequest answers a request that could not be parsed, when the client
// is still there to hear it.
func (s *Server) rejectRequest(c net.Conn, err error) {
	if errors.Is(err, io.EOF) || isNetClosed(err) {
		return
	}
	s.stats.badInput.Add(1)
	status := "400 Bad Request"
	if errors.Is(err, errHeaderTooLarge) {
		status = "431 Request Header Fields Too Large"
	}
	s.log.Debug("bad request", "client", c.RemoteAddr().String(), "err", err)
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "HTTP/1.1 "+status+"\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
}

func isNetClosed(err error) bool {
	var ne net.Error
	return errors.Is(err, net.ErrClosed) || errors.As(err, &ne) && ne.Timeout() ||
		strings.Contains(err.Error(), "connection reset")
}

// record appends a completed flow to the log.
func (s *Server) record(f *capture.Flow) {
	if err := s.cfg.Log.Append(f); err != nil {
		s.stats.logErrs.Add(1)
		s.log.Error("flow not recorded", "err", err)
		return
	}
	switch f.Kind {
	case capture.KindMark:
		s.stats.marks.Add(1)
	case capture.KindTLSFailure:
		s.stats.tlsFailures.Add(1)
	case capture.KindWebSocket:
		s.stats.websockets.Add(1)
	default:
		s.stats.flows.Add(1)
	}
}

// Mark appends a named mark to the flow sequence and returns it with its seq.
func (s *Server) Mark(name string) (capture.Flow, error) {
	if name == "" || len(name) > 512 {
		return capture.Flow{}, errors.New("mitm: mark name must be 1 to 512 bytes")
	}
	now := time.Now()
	f := capture.Flow{Kind: capture.KindMark, Start: now, End: now, Mark: name}
	if err := s.cfg.Log.Append(&f); err != nil {
		s.stats.logErrs.Add(1)
		return capture.Flow{}, err
	}
	s.stats.marks.Add(1)
	return f, nil
}

// Stats is a snapshot of the counters served on /stats.
type Stats struct {
	Mode              Mode    `json:"mode"`
	LastSeq           int64   `json:"lastSeq"`
	Flows             int64   `json:"flows"`
	Marks             int64   `json:"marks"`
	TLSFailures       int64   `json:"tlsFailures"`
	WebSockets        int64   `json:"websockets"`
	Connections       int64   `json:"connections"`
	ActiveConnections int64   `json:"activeConnections"`
	BadInput          int64   `json:"badInput"`
	LogErrors         int64   `json:"logErrors"`
	UptimeSeconds     float64 `json:"uptimeSeconds"`
}

// Stats returns the current counters.
func (s *Server) Stats() Stats {
	return Stats{
		Mode: s.cfg.Mode, LastSeq: s.cfg.Log.Seq(),
		Flows: s.stats.flows.Load(), Marks: s.stats.marks.Load(),
		TLSFailures: s.stats.tlsFailures.Load(), WebSockets: s.stats.websockets.Load(),
		Connections: s.stats.connections.Load(), ActiveConnections: s.stats.active.Load(),
		BadInput: s.stats.badInput.Load(), LogErrors: s.stats.logErrs.Load(),
		UptimeSeconds: time.Since(s.started).Seconds(),
	}
}

// bufConn is a connection whose first bytes were already read into r.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufConn) Read(p []byte) (int, error) { return b.r.Read(p) }

var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 16<<10) }}

func getReader(r io.Reader) *bufio.Reader {
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(r)
	return br
}

func putReader(br *bufio.Reader) {
	br.Reset(nil)
	readerPool.Put(br)
}
