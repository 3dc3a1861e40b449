package adbd

import (
	"context"
	"io"
	"net"
	"strings"
	"time"
)

// dialTimeout bounds a Device's connect to one of its sockets; adbd's own
// connect to a local socket answers at once.
const dialTimeout = 5 * time.Second

// isSocketService reports whether name is a socket the host wants
// connected to: tcp:PORT (or tcp:HOST:PORT) and the local socket kinds.
func isSocketService(name string) bool {
	for _, prefix := range []string{"tcp:", "localabstract:", "localreserved:", "localfilesystem:", "local:"} {
		if strings.HasPrefix(name, prefix) && len(name) > len(prefix) {
			return true
		}
	}
	return false
}

// openSocket connects a host OPEN for a socket service to the Device's
// socket. The dial runs beside the reader loop; the host sends nothing on
// the stream before our OKAY, and a refusal is CLSE(0, id) as for an
// unknown service.
func (c *conn) openSocket(remote uint32, name string) {
	d, ok := c.srv.dev.(Sockets)
	if !ok {
		c.log.Info("refusing socket service: the device has no sockets", "service", name)
		c.send(packet{cmd: cmdCLSE, arg0: 0, arg1: remote})
		return
	}
	c.srv.services.Go(func() {
		ctx, cancel := context.WithTimeout(c.ctx, dialTimeout)
		nc, err := d.DialSocket(ctx, name)
		cancel()
		if err != nil {
			c.log.Info("refusing socket service", "service", name, "err", err)
			c.send(packet{cmd: cmdCLSE, arg0: 0, arg1: remote})
			return
		}
		s, err := c.newStream(remote)
		if err != nil {
			nc.Close()
			return
		}
		signal(s.ready)
		if c.send(packet{cmd: cmdOKAY, arg0: s.local, arg1: remote}) != nil {
			nc.Close()
			s.Close()
			return
		}
		splice(s, nc)
	})
}

// splice copies both ways until either side ends, then closes both: adb
// streams have no half-close.
func splice(s *stream, nc net.Conn) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(nc, s)
		nc.Close()
	}()
	io.Copy(s, nc)
	s.Close()
	nc.Close()
	<-done
}
