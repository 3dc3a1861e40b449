package adbd

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// stream is one adb stream on a connection, seen from the device. It is an
// io.ReadWriteCloser for services and a net.Conn for reverse connections.
//
// Flow control follows adb 29: the host sends one WRTE and waits for our
// OKAY (see deliver for when we send it); we send one WRTE and wait for the
// host's OKAY before the next.
type stream struct {
	c      *conn
	local  uint32
	ctx    context.Context // cancelled when the stream closes
	cancel context.CancelFunc

	mu     sync.Mutex
	remote uint32
	in     []byte // delivered by the host, not yet read
	acks   int    // host WRTEs to acknowledge once in drains
	closed bool

	dataReady chan struct{} // cap 1: in grew or the stream closed
	ready     chan struct{} // cap 1: the host acked our last WRTE (or our OPEN)
	opened    chan struct{} // closed when the host answers a device OPEN
	done      chan struct{} // closed on close

	wmu    sync.Mutex // one Write at a time, so a v2 packet's WRTEs never interleave
	rd, wd deadline
}

func newStream(c *conn, local, remote uint32) *stream {
	ctx, cancel := context.WithCancel(c.ctx)
	return &stream{
		c: c, local: local, remote: remote, ctx: ctx, cancel: cancel,
		dataReady: make(chan struct{}, 1),
		ready:     make(chan struct{}, 1),
		opened:    make(chan struct{}),
		done:      make(chan struct{}),
		rd:        deadline{expiry: make(chan struct{})},
		wd:        deadline{expiry: make(chan struct{})},
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// deliver hands a host WRTE payload to the stream. It never blocks: the
// reader loop serves every stream of the connection. A payload arriving at
// an empty buffer is acked at once, so the host sends the next one while
// this one is consumed (as adbd acks once data sits in a socket buffer);
// one arriving while data is still buffered is acked only after the reader
// drains it, bounding the buffer to two payloads.
func (s *stream) deliver(data []byte) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	ackNow := len(s.in) == 0
	if ackNow {
		s.in = data // the reader loop allocates each payload afresh
	} else {
		s.acks++
		s.in = append(s.in, data...)
	}
	remote := s.remote
	s.mu.Unlock()
	if ackNow {
		s.c.send(packet{cmd: cmdOKAY, arg0: s.local, arg1: remote})
	}
	signal(s.dataReady)
}

// hostOkay records the host's OKAY: the answer to our OPEN, or the ack of
// our last WRTE.
func (s *stream) hostOkay(remote uint32) {
	s.mu.Lock()
	first := s.remote == 0
	if first {
		s.remote = remote
	}
	s.mu.Unlock()
	if first {
		close(s.opened)
	}
	signal(s.ready)
}

func (s *stream) Read(p []byte) (int, error) {
	for {
		s.mu.Lock()
		if len(s.in) > 0 {
			n := copy(p, s.in)
			s.in = s.in[n:]
			var acks int
			if len(s.in) == 0 {
				s.in = nil
				acks, s.acks = s.acks, 0
			}
			remote := s.remote
			closed := s.closed
			s.mu.Unlock()
			for range acks {
				if closed {
					break
				}
				s.c.send(packet{cmd: cmdOKAY, arg0: s.local, arg1: remote})
			}
			return n, nil
		}
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return 0, io.EOF
		}
		select {
		case <-s.dataReady:
		case <-s.done:
		case <-s.rd.wait():
			return 0, os.ErrDeadlineExceeded
		}
	}
}

func (s *stream) Write(p []byte) (int, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	written := 0
	for len(p) > 0 {
		n := min(len(p), int(s.c.maxSend()))
		select {
		case <-s.ready:
		case <-s.done:
			return written, net.ErrClosed
		case <-s.wd.wait():
			return written, os.ErrDeadlineExceeded
		}
		s.mu.Lock()
		remote, closed := s.remote, s.closed
		s.mu.Unlock()
		if closed {
			return written, net.ErrClosed
		}
		if err := s.c.send(packet{cmd: cmdWRTE, arg0: s.local, arg1: remote, data: p[:n]}); err != nil {
			return written, err
		}
		written += n
		p = p[n:]
	}
	return written, nil
}

// flush waits until the host has acked our last WRTE, so a reply reaches the
// host before a connection drop that follows it.
func (s *stream) flush(timeout time.Duration) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-s.ready:
		signal(s.ready)
	case <-s.done:
	case <-t.C:
	}
}

// Close sends CLSE (once) and forgets the stream; the host's echo of CLSE
// then finds no stream and is ignored.
func (s *stream) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	remote := s.remote
	s.mu.Unlock()
	s.finish()
	if remote != 0 {
		s.c.send(packet{cmd: cmdCLSE, arg0: s.local, arg1: remote})
	}
	return nil
}

// hostClosed handles the host's CLSE: both directions end, no echo is due.
func (s *stream) hostClosed() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	s.finish()
}

func (s *stream) finish() {
	s.c.forget(s.local)
	s.cancel()
	close(s.done)
}

func (s *stream) LocalAddr() net.Addr  { return streamAddr(fmt.Sprintf("adb-stream:%d", s.local)) }
func (s *stream) RemoteAddr() net.Addr { return streamAddr(s.c.nc.RemoteAddr().String()) }
func (s *stream) SetDeadline(t time.Time) error {
	s.rd.set(t)
	s.wd.set(t)
	return nil
}
func (s *stream) SetReadDeadline(t time.Time) error  { s.rd.set(t); return nil }
func (s *stream) SetWriteDeadline(t time.Time) error { s.wd.set(t); return nil }

type streamAddr string

func (a streamAddr) Network() string { return "adb" }
func (a streamAddr) String() string  { return string(a) }

// deadline is a resettable timer exposed as a channel closed at expiry, as
// net.Conn deadlines need.
type deadline struct {
	mu     sync.Mutex
	timer  *time.Timer
	expiry chan struct{}
}

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		<-d.expiry // the timer fired: its func has closed or is closing the channel
	}
	d.timer = nil
	select {
	case <-d.expiry:
		d.expiry = make(chan struct{})
	default:
	}
	if t.IsZero() {
		return
	}
	wait := time.Until(t)
	if wait <= 0 {
		close(d.expiry)
		return
	}
	ch := d.expiry
	d.timer = time.AfterFunc(wait, func() { close(ch) })
}

func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.expiry
}
