package adbd

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// conn is one adb server's TCP connection: the adbd side of a transport.
type conn struct {
	srv *Server
	nc  net.Conn
	id  int
	log *slog.Logger

	ctx    context.Context // cancelled when the connection drops
	cancel context.CancelFunc

	wmu     sync.Mutex
	maxData atomic.Uint32 // largest payload we may send: min(host, ours); 0 before CNXN

	mu      sync.Mutex
	streams map[uint32]*stream
	nextID  uint32
	// abandoned holds device OPENs given up before the host answered.
	abandoned map[uint32]bool

	// revMu guards rules and is held while a device OPEN for a rule is sent,
	// so a killforward we process never races an OPEN for the same rule.
	revMu sync.Mutex
	rules []reverseRule

	closeOnce sync.Once
}

func newConn(s *Server, nc net.Conn, id int) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	return &conn{
		srv: s, nc: nc, id: id, ctx: ctx, cancel: cancel,
		log:       s.log.With("conn", id, "peer", nc.RemoteAddr().String()),
		streams:   make(map[uint32]*stream),
		abandoned: make(map[uint32]bool),
	}
}

func (c *conn) maxSend() uint32 {
	if n := c.maxData.Load(); n != 0 {
		return n
	}
	return minPayload
}

// writeTimeout drops an adb server that stops reading (frozen, or gone
// without a FIN) instead of blocking every stream behind it forever.
const writeTimeout = 30 * time.Second

// send writes one packet. A failed write closes the socket, and the reader
// loop then tears the connection down: send is called with locks held that
// close takes.
func (c *conn) send(p packet) error {
	buf := p.encode()
	c.wmu.Lock()
	c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := c.nc.Write(buf)
	c.wmu.Unlock()
	if err != nil {
		c.nc.Close()
	}
	return err
}

// close drops the connection; every stream ends and reverse rules vanish
// with it, as they do on a real device.
func (c *conn) close() {
	c.closeOnce.Do(func() {
		c.cancel()
		c.nc.Close()
		c.reset()
	})
}

// reset ends every stream and forgets every reverse rule of the session.
func (c *conn) reset() {
	c.revMu.Lock()
	c.rules = nil
	c.revMu.Unlock()
	c.mu.Lock()
	streams := make([]*stream, 0, len(c.streams))
	for _, s := range c.streams {
		streams = append(streams, s)
	}
	clear(c.abandoned)
	c.mu.Unlock()
	for _, s := range streams {
		s.hostClosed()
	}
}

func (c *conn) forget(local uint32) {
	c.mu.Lock()
	delete(c.streams, local)
	c.mu.Unlock()
}

func (c *conn) abandon(local uint32) {
	c.mu.Lock()
	c.abandoned[local] = true
	c.mu.Unlock()
}

func (c *conn) takeAbandoned(local uint32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ok := c.abandoned[local]
	delete(c.abandoned, local)
	return ok
}

func (c *conn) lookup(local uint32) *stream {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.streams[local]
}

// newStream registers a stream under a fresh id. Ids are never reused, so
// late packets for a closed stream find nothing.
func (c *conn) newStream(remote uint32) (*stream, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx.Err() != nil {
		return nil, net.ErrClosed
	}
	c.nextID++
	s := newStream(c, c.nextID, remote)
	c.streams[s.local] = s
	return s, nil
}

func (c *conn) serve() {
	defer c.close()
	c.log.Debug("connected")
	connected := false
	for {
		p, err := readPacket(c.nc, maxPayload)
		if err != nil {
			switch {
			case errors.Is(err, errMalformed):
				c.log.Warn("closing connection on malformed packet", "err", err)
			case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), c.ctx.Err() != nil:
				c.log.Debug("connection closed", "err", err)
			default:
				c.log.Info("connection lost", "err", err)
			}
			return
		}
		switch p.cmd {
		case cmdCNXN:
			connected = true
			c.handshake(p)
		case cmdOPEN:
			if !connected {
				c.log.Warn("OPEN before CNXN ignored", "packet", p.String())
				continue
			}
			c.open(p)
		case cmdOKAY:
			if p.arg0 == 0 {
				continue
			}
			if s := c.lookup(p.arg1); s != nil {
				s.hostOkay(p.arg0)
			} else if c.takeAbandoned(p.arg1) {
				// The host accepted a device OPEN we gave up waiting
				// for: end its side too.
				c.send(packet{cmd: cmdCLSE, arg0: p.arg1, arg1: p.arg0})
			}
		case cmdWRTE:
			if s := c.lookup(p.arg1); s != nil {
				s.deliver(p.data)
			}
		case cmdCLSE:
			if s := c.lookup(p.arg1); s != nil {
				s.hostClosed()
			}
		default:
			// AUTH, SYNC and STLS are valid commands that a no-auth,
			// no-TLS adbd never needs from adb 29.
			c.log.Debug("ignoring packet", "packet", p.String())
		}
	}
}

// handshake answers CNXN with the device banner. A repeated CNXN is the
// host starting over: every stream and reverse rule of the old session ends.
func (c *conn) handshake(p packet) {
	c.reset()
	maxData := min(max(p.arg1, minPayload), maxPayload)
	c.maxData.Store(maxData)
	version := min(p.arg0, protocolVersion)
	c.log.Debug("handshake", "host", string(bytes.TrimRight(p.data, "\x00")), "version", version, "maxdata", maxData)
	c.send(packet{cmd: cmdCNXN, arg0: version, arg1: maxPayload, data: []byte(c.srv.dev.Banner())})
}

// open starts the service a host OPEN names, or refuses it with CLSE(0, id).
func (c *conn) open(p packet) {
	name := string(bytes.TrimRight(p.data, "\x00"))
	if p.arg0 == 0 {
		c.log.Warn("OPEN with stream id 0 ignored", "service", name)
		return
	}
	if isSocketService(name) {
		c.openSocket(p.arg0, name)
		return
	}
	run := c.service(name)
	if run == nil {
		c.log.Info("refusing unknown service", "service", name)
		c.send(packet{cmd: cmdCLSE, arg0: 0, arg1: p.arg0})
		return
	}
	s, err := c.newStream(p.arg0)
	if err != nil {
		return
	}
	signal(s.ready) // the device may write as soon as it has answered OPEN
	if c.send(packet{cmd: cmdOKAY, arg0: s.local, arg1: p.arg0}) != nil {
		return
	}
	c.srv.services.Go(func() {
		defer s.Close()
		// A bug in the Device must cost one stream, not the process, as
		// net/http treats a panicking handler.
		defer func() {
			if v := recover(); v != nil {
				c.log.Error("service panicked", "service", name, "panic", v, "stack", string(debug.Stack()))
			}
		}()
		run(s)
	})
}
