package netstack

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// sockBuf is how much one direction of a connection between two sockets on
// the phone holds before the writer waits (modeled on Linux's default
// tcp_rmem, 128 KiB).
const sockBuf = 128 << 10

// half is one direction of an in-phone connection: a bounded buffer the
// writer fills and the reader drains.
type half struct {
	mu      sync.Mutex
	buf     []byte
	eof     bool // the writer shut down its side (FIN)
	gone    bool // the reader closed: writes fail (EPIPE)
	changed chan struct{}
}

func newHalf() *half { return &half{changed: make(chan struct{})} }

// wake tells every waiter to look again; h.mu is held.
func (h *half) wake() {
	close(h.changed)
	h.changed = make(chan struct{})
}

// pipeEnd is one socket's end of a connection between two sockets on the
// phone: it reads one half and writes the other, with deadlines and
// half-close, as a TCP socket does.
type pipeEnd struct {
	in, out       *half
	local, remote net.Addr

	mu       sync.Mutex
	rd, wd   time.Time
	closed   bool
	deadline chan struct{} // closed and replaced when a deadline changes
}

// newPipe returns two connected ends; a's addresses are given, b's are
// their mirror.
func newPipe(aLocal, aRemote net.Addr) (a, b *pipeEnd) {
	x, y := newHalf(), newHalf()
	a = &pipeEnd{in: x, out: y, local: aLocal, remote: aRemote, deadline: make(chan struct{})}
	b = &pipeEnd{in: y, out: x, local: aRemote, remote: aLocal, deadline: make(chan struct{})}
	return a, b
}

var errTimeout = os.ErrDeadlineExceeded

// wait blocks until changed fires, the deadline passes, or the deadline is
// moved; it reports a timeout.
func (p *pipeEnd) wait(changed <-chan struct{}, write bool) error {
	p.mu.Lock()
	dl, moved, closed := p.rd, p.deadline, p.closed
	if write {
		dl = p.wd
	}
	p.mu.Unlock()
	if closed {
		return net.ErrClosed
	}
	return await(changed, moved, dl)
}

// await blocks until changed or moved fires (nil) or the deadline dl
// passes (a timeout); a zero dl never passes. Deadlines are the host's
// time, as on any net.Conn.
func await(changed, moved <-chan struct{}, dl time.Time) error {
	var expired <-chan time.Time
	if !dl.IsZero() {
		d := time.Until(dl)
		if d <= 0 {
			return errTimeout
		}
		t := time.NewTimer(d)
		defer t.Stop()
		expired = t.C
	}
	select {
	case <-changed:
	case <-moved:
	case <-expired:
		return errTimeout
	}
	return nil
}

func (p *pipeEnd) Read(b []byte) (int, error) {
	for {
		if p.isClosed() {
			return 0, net.ErrClosed
		}
		h := p.in
		h.mu.Lock()
		if len(h.buf) > 0 {
			n := copy(b, h.buf)
			h.buf = h.buf[n:]
			h.wake()
			h.mu.Unlock()
			return n, nil
		}
		if h.eof {
			h.mu.Unlock()
			return 0, io.EOF
		}
		changed := h.changed
		h.mu.Unlock()
		if err := p.wait(changed, false); err != nil {
			return 0, err
		}
	}
}

func (p *pipeEnd) Write(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		if p.isClosed() {
			return n, net.ErrClosed
		}
		h := p.out
		h.mu.Lock()
		switch {
		case h.gone:
			h.mu.Unlock()
			return n, syscall.EPIPE
		case h.eof:
			h.mu.Unlock()
			return n, syscall.EPIPE // written after shutdown(SHUT_WR)
		case len(h.buf) < sockBuf:
			k := min(len(b)-n, sockBuf-len(h.buf))
			h.buf = append(h.buf, b[n:n+k]...)
			n += k
			h.wake()
			h.mu.Unlock()
			continue
		}
		changed := h.changed
		h.mu.Unlock()
		if err := p.wait(changed, true); err != nil {
			return n, err
		}
	}
	return n, nil
}

// CloseWrite is shutdown(SHUT_WR): the peer reads EOF once it has read
// what was written.
func (p *pipeEnd) CloseWrite() error {
	h := p.out
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.eof {
		h.eof = true
		h.wake()
	}
	return nil
}

func (p *pipeEnd) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return net.ErrClosed
	}
	p.closed = true
	close(p.deadline)
	p.deadline = make(chan struct{})
	p.mu.Unlock()
	_ = p.CloseWrite()
	h := p.in
	h.mu.Lock()
	h.gone, h.buf = true, nil
	h.wake()
	h.mu.Unlock()
	return nil
}

func (p *pipeEnd) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

func (p *pipeEnd) LocalAddr() net.Addr  { return p.local }
func (p *pipeEnd) RemoteAddr() net.Addr { return p.remote }

func (p *pipeEnd) SetDeadline(t time.Time) error {
	return p.setDeadlines(&t, &t)
}
func (p *pipeEnd) SetReadDeadline(t time.Time) error  { return p.setDeadlines(&t, nil) }
func (p *pipeEnd) SetWriteDeadline(t time.Time) error { return p.setDeadlines(nil, &t) }

func (p *pipeEnd) setDeadlines(r, w *time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r != nil {
		p.rd = *r
	}
	if w != nil {
		p.wd = *w
	}
	close(p.deadline)
	p.deadline = make(chan struct{})
	return nil
}
