package mitm

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"telltale.dev/harness/capture"
)

// ErrServerClosed is what ServeProxy and ServeTransparent return once
// Shutdown or Close has begun.
var ErrServerClosed = errors.New("mitm: server closed")

// DefaultDrainTimeout is how long stopping waits for exchanges in flight
// before closing their connections: inside the 10 s that `docker stop` and
// testcontainers' Terminate give a container between SIGTERM and SIGKILL,
// with room left to close the log and exit.
const DefaultDrainTimeout = 8 * time.Second

// closeWait bounds how long a WebSocket peer has to answer a close frame
// (RFC 6455 5.5.1) before its connection is dropped.
const closeWait = 5 * time.Second

// Connection states, as Shutdown sees them (the states of net/http's
// ConnState that matter here).
const (
	// connIdle: waiting for the first byte of a request or handshake.
	// Stopping closes such a connection at once.
	connIdle int32 = iota
	// connActive: an exchange (or its TLS handshake) is in progress and is
	// left to finish; the connection closes after it.
	connActive
	// connH2: served by x/net/http2, which drains with GOAWAY.
	connH2
)

// clientConn is an accepted connection as Shutdown sees it.
type clientConn struct {
	net.Conn
	s     *Server
	state atomic.Int32
	// app is the app the connection's listener belongs to (nil: the
	// shared listener, which cannot tell apps apart); route is how the
	// connection came, set once its first bytes are read.
	app   *capture.App
	route string

	mu     sync.Mutex
	onStop func() // a WebSocket's close frame, sent when stop begins
}

// flow starts a record of an exchange on this connection, saying who sent
// it: the client address, and the app and route when known.
func (c *clientConn) flow(kind capture.Kind, start time.Time, tls *capture.TLSInfo) *capture.Flow {
	return &capture.Flow{Kind: kind, Start: start, Client: c.RemoteAddr().String(), App: c.app, Route: c.route, TLS: tls}
}

// await waits, as an idle connection, for the first byte of the peer's next
// request or handshake, and marks the connection active when it comes. It
// reports false when the connection should close instead: stop has begun,
// the peer went away, or it stayed silent for idleTimeout.
//
// Marking idle and then checking for stop (while Shutdown announces stop and
// then closes idle connections) means one of the two always sees the other:
// no connection is left waiting once stop began.
func (c *clientConn) await(br *bufio.Reader) bool {
	c.state.Store(connIdle)
	if c.s.inShutdown.Load() {
		return false
	}
	c.SetReadDeadline(time.Now().Add(idleTimeout))
	if _, err := br.Peek(1); err != nil {
		return false
	}
	c.state.Store(connActive)
	return true
}

// release returns the connection's reader to the pool, unless HTTP/2 served
// the connection: x/net/http2's frame reading goroutine can still be inside
// a Read through br after ServeConn has returned, so that reader is left to
// the garbage collector.
func (c *clientConn) release(br *bufio.Reader) {
	if c.state.Load() != connH2 {
		putReader(br)
	}
}

// switchProtocols sends the 101 that makes the connection a WebSocket
// (flush) and registers onStop, the close frames a stopping proxy sends.
// onStop is registered before the 101 goes out and held off (by the client
// peer's write lock) until it has: a client that has its 101 when stop
// begins always gets a close frame, even when the drain has no time left.
func (c *clientConn) switchProtocols(client *wsPeer, flush func() error, onStop func()) error {
	client.mu.Lock()
	c.mu.Lock()
	c.onStop = onStop
	c.mu.Unlock()
	err := flush()
	client.mu.Unlock()
	if c.s.inShutdown.Load() {
		c.stop()
	}
	return err
}

// stop is what Shutdown does to each connection: an idle one is closed, an
// active one is told (when it asked to be) and left to finish.
func (c *clientConn) stop() {
	if c.state.Load() == connIdle {
		c.Close()
		return
	}
	c.mu.Lock()
	f := c.onStop
	c.onStop = nil
	c.mu.Unlock()
	if f != nil {
		f()
	}
}

// group counts goroutines that may still record flows: accept loops,
// connection handlers, HTTP/2 stream handlers. Unlike a sync.WaitGroup it
// turns late arrivals away once drained: x/net/http2 runs each stream's
// handler in a goroutine that can start after ServeConn has returned, and
// such a handler (whose connection is gone) must not touch a log that is
// about to close.
type group struct {
	mu      sync.Mutex
	n       int
	done    chan struct{} // made by drained; closed when n reaches 0 after that
	drained bool
}

func (g *group) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.drained {
		return false
	}
	g.n++
	return true
}

func (g *group) exit() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
	g.check()
}

// wait returns a channel closed once no member is left; from then on enter
// refuses.
func (g *group) wait() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.done == nil {
		g.done = make(chan struct{})
	}
	g.check()
	return g.done
}

func (g *group) check() {
	if g.done != nil && g.n == 0 && !g.drained {
		g.drained = true
		close(g.done)
	}
}

// Shutdown stops the proxy the way net/http's Server.Shutdown stops a
// server: it closes the listeners, closes idle connections at once, sends
// HTTP/2 connections a GOAWAY and WebSockets a close frame, and waits for
// the exchanges in flight to finish, each recorded as it completes. When ctx
// ends first, what is left is closed as Close does (those flows are recorded
// with the error that cut them short) and the error says so. Either way
// Shutdown returns only once no handler is left, so the caller can close the
// log.
func (s *Server) Shutdown(ctx context.Context) error {
	lnErr := s.beginStop()
	s.mu.Lock()
	conns := make([]*clientConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.stop()
	}
	select {
	case <-s.running.wait():
		s.finish()
		return lnErr
	case <-ctx.Done():
	}
	n := s.stats.active.Load()
	s.Close()
	return fmt.Errorf("mitm: %d connections still busy when the drain ended (%w): they were closed and their exchanges recorded with an error; allow a longer drain timeout if they were needed", n, ctx.Err())
}

// Close stops the proxy at once: listeners and connections closed, upstream
// requests cancelled. It returns once no handler is left.
func (s *Server) Close() error {
	lnErr := s.beginStop()
	s.cancel()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	<-s.running.wait()
	s.finish()
	return lnErr
}

// beginStop announces stop (before anything looks at a connection's state;
// see clientConn.await) and closes the listeners.
func (s *Server) beginStop() error {
	s.inShutdown.Store(true)
	s.mu.Lock()
	var err error
	for ln := range s.listeners {
		if cerr := ln.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) && err == nil {
			err = fmt.Errorf("mitm: close listener %s: %w", ln.Addr(), cerr)
		}
	}
	s.mu.Unlock()
	s.goAwayH2()
	return err
}

// finish releases what the handlers shared once they are all gone: the
// upstream connection pool, and long-polls of the control API (which then
// answer with everything recorded).
func (s *Server) finish() {
	s.cancel()
	if s.transport != nil {
		s.transport.CloseIdleConnections()
	}
}

// goAwayH2 starts x/net/http2's graceful shutdown of every HTTP/2
// connection it serves: a GOAWAY, the streams in flight finish, then the
// connection closes. The hook is only reachable through the http.Server
// that http2.ConfigureServer tied to s.h2; that server serves nothing else,
// so its Shutdown returns at once after starting the hook.
func (s *Server) goAwayH2() {
	s.h2stop.Shutdown(context.Background())
}

// h2conn is a connection handed to x/net/http2. Its first write tells that
// http2 has registered the connection (it does before writing SETTINGS); a
// connection registered after stop began missed the GOAWAY and is sent one
// then.
type h2conn struct {
	*tls.Conn
	s     *Server
	wrote atomic.Bool
}

func (c *h2conn) Write(p []byte) (int, error) {
	if !c.wrote.Load() && !c.wrote.Swap(true) && c.s.inShutdown.Load() {
		c.s.goAwayH2()
	}
	return c.Conn.Write(p)
}
