package adbd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"
)

// Server is a listening simulated adbd. It implements Tunnel for the phone.
type Server struct {
	ln             net.Listener
	dev            Device
	log            *slog.Logger
	rebootDowntime time.Duration

	mu        sync.Mutex
	conns     []*conn // oldest first
	seq       int
	nextPort  int
	downUntil time.Time
	closed    bool
	wg        sync.WaitGroup // accept loop and connection readers
	services  sync.WaitGroup // running services, which end with their streams
}

var _ Tunnel = (*Server)(nil)

// Option configures a Server.
type Option func(*Server)

// WithLogger sets where protocol errors and connection events are logged
// (the default discards them).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithRebootDowntime sets how long the phone stays off the bus after a
// reboot: request (default 2s).
func WithRebootDowntime(d time.Duration) Option { return func(s *Server) { s.rebootDowntime = d } }

// Listen starts serving dev on addr ("127.0.0.1:0" picks a free port). Keep
// it outside 5555-5585: the adb server claims those ports as emulators.
func Listen(addr string, dev Device, opts ...Option) (*Server, error) {
	if dev == nil {
		return nil, errors.New("adbd: Listen needs a Device")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("adbd: listen on %s: %w (pick another port)", addr, err)
	}
	s := &Server{
		ln: ln, dev: dev,
		log:            slog.New(slog.DiscardHandler),
		rebootDowntime: 2 * time.Second,
		nextPort:       40000,
	}
	for _, o := range opts {
		o(s)
	}
	s.log = s.log.With("adbd", ln.Addr().String())
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr is the listening address, which is also the serial the adb server
// gives the phone after `adb connect`.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops listening, drops every connection and waits for their
// services to end.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	conns := slices.Clone(s.conns)
	s.mu.Unlock()
	err := s.ln.Close()
	for _, c := range conns {
		c.close()
	}
	s.wg.Wait()
	// Services see their streams end; a Device command that ignores its
	// context must not hang Close forever.
	done := make(chan struct{})
	go func() {
		s.services.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(closeGrace):
		s.log.Warn("closed with services still running: a Device command ignores its context", "waited", closeGrace)
	}
	return err
}

// closeGrace bounds how long Close waits for running services.
const closeGrace = 5 * time.Second

// Disconnect drops every adb connection and refuses new ones for downtime,
// as a rebooting or restarting adbd does. Refused connections are accepted
// and closed at once, so the port stays ours.
func (s *Server) Disconnect(downtime time.Duration) {
	s.mu.Lock()
	s.downUntil = time.Now().Add(downtime)
	conns := slices.Clone(s.conns)
	s.mu.Unlock()
	s.log.Info("disconnecting", "downtime", downtime)
	for _, c := range conns {
		c.close()
	}
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors and the like: back off, keep serving.
			s.log.Warn("accept failed", "err", err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		s.mu.Lock()
		if s.closed || time.Now().Before(s.downUntil) {
			s.mu.Unlock()
			s.log.Debug("refusing connection while down", "peer", nc.RemoteAddr().String())
			nc.Close()
			continue
		}
		s.seq++
		c := newConn(s, nc, s.seq)
		s.conns = append(s.conns, c)
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			c.serve()
			s.mu.Lock()
			s.conns = slices.DeleteFunc(s.conns, func(x *conn) bool { return x == c })
			s.mu.Unlock()
		}()
	}
}

// allocPort picks a device port for `adb reverse tcp:0 ...`.
func (s *Server) allocPort(inUse func(int) bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		p := s.nextPort
		s.nextPort++
		if s.nextPort > 60999 {
			s.nextPort = 40000
		}
		if !inUse(p) {
			return p
		}
	}
}

// ReverseLocals lists the device side of every reverse rule ("tcp:8080"):
// on a phone, adbd listens on each of those ports.
func (s *Server) ReverseLocals() []string {
	s.mu.Lock()
	conns := slices.Clone(s.conns)
	s.mu.Unlock()
	var out []string
	for _, c := range conns {
		c.revMu.Lock()
		for _, r := range c.rules {
			out = append(out, r.local)
		}
		c.revMu.Unlock()
	}
	return out
}

// DialReverse opens a device-side connection to local ("tcp:8080") through
// the newest adb connection that has a reverse rule for it.
func (s *Server) DialReverse(ctx context.Context, local string) (net.Conn, error) {
	s.mu.Lock()
	conns := slices.Clone(s.conns)
	s.mu.Unlock()
	for _, c := range slices.Backward(conns) {
		st, err := c.dialReverse(ctx, local)
		if errors.Is(err, ErrNoReverse) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return st, nil
	}
	return nil, fmt.Errorf("dial %s: %w", local, ErrNoReverse)
}
