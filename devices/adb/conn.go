package adb

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"
)

// waitDelay bounds how long a child process's pipes are waited on after it exits.
const waitDelay = 5 * time.Second

// maxReply bounds a length-prefixed reply (the length is 4 hex digits, so
// this is also the protocol's own limit).
const maxReply = 0xffff

// conn is one connection to the adb server, bound to a context: the context's
// deadline becomes the socket's, and the socket is closed the moment the
// context ends, so no read or write outlives it.
type conn struct {
	nc   net.Conn
	r    *bufio.Reader
	ctx  context.Context
	stop func() bool
	addr string
	req  string // the latest request, for error messages
}

func (c *Client) dial(ctx context.Context) (*conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", c.Addr())
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("adb server %s: %w", c.Addr(), context.Cause(ctx))
		}
		return nil, fmt.Errorf("%w (%s: %v)", ErrServerUnavailable, c.Addr(), err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	return &conn{
		nc:   nc,
		r:    bufio.NewReaderSize(nc, 8*1024),
		ctx:  ctx,
		stop: context.AfterFunc(ctx, func() { _ = nc.Close() }),
		addr: c.Addr(),
	}, nil
}

// bulk gives the connection a read buffer sized for file transfers, so a
// pull takes a few large reads instead of one per sync header.
func (c *conn) bulk() { c.r = bufio.NewReaderSize(c.r, bulkBuffer) }

// bulkBuffer holds several 64 KiB DATA chunks.
const bulkBuffer = 2 << 20

// peek returns the next n bytes without consuming them; n must not exceed
// the read buffer (bulk's, for sync data).
func (c *conn) peek(n int) ([]byte, error) {
	b, err := c.r.Peek(n)
	if err != nil && len(b) < n {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, c.wrap(err)
	}
	return b, nil
}

// discard consumes n bytes already returned by peek.
func (c *conn) discard(n int) { _, _ = c.r.Discard(n) }

func (c *conn) Close() error {
	c.stop()
	return c.nc.Close()
}

func (c *conn) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	return n, c.wrap(err)
}

func (c *conn) Write(p []byte) (int, error) {
	n, err := c.nc.Write(p)
	return n, c.wrap(err)
}

// wrap turns an I/O error into one that says what was going on, and into the
// context's error when the context is why the socket failed.
func (c *conn) wrap(err error) error {
	switch {
	case err == nil:
		return nil
	case c.ctx.Err() != nil:
		return fmt.Errorf("adb %s: %w", c.req, context.Cause(c.ctx))
	case errors.Is(err, os.ErrDeadlineExceeded):
		// The socket carries the context's deadline and may fire a hair
		// before the context's own timer does.
		return fmt.Errorf("adb %s: %w", c.req, context.DeadlineExceeded)
	case errors.Is(err, io.EOF):
		// EOF stays recognisable: shell output and sync replies end with it.
		return err
	}
	return fmt.Errorf("adb %s (server %s): %w", c.req, c.addr, err)
}

// request sends one host-protocol request and reads its status.
func (c *conn) request(req string) error {
	c.req = req
	msg, err := encodeRequest(req)
	if err != nil {
		return err
	}
	if _, err := c.Write(msg); err != nil {
		return err
	}
	return c.readStatus()
}

// readStatus reads OKAY, or FAIL and its message as a *ServerError.
func (c *conn) readStatus() error {
	var st [4]byte
	if _, err := io.ReadFull(c, st[:]); err != nil {
		return c.unexpected(err)
	}
	switch string(st[:]) {
	case "OKAY":
		return nil
	case "FAIL":
		msg, err := c.readString()
		if err != nil {
			return err
		}
		return &ServerError{Request: c.req, Msg: msg}
	}
	return fmt.Errorf("adb %s: server sent %q, want OKAY or FAIL: is %s an adb server?", c.req, st[:], c.addr)
}

// readString reads a reply of 4 hex digits of length and then the text.
func (c *conn) readString() (string, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return "", c.unexpected(err)
	}
	n, err := parseHexLen(hdr[:])
	if err != nil {
		return "", fmt.Errorf("adb %s: %w", c.req, err)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		return "", c.unexpected(err)
	}
	return string(b), nil
}

// unexpected names an early end of the reply for what it usually is.
func (c *conn) unexpected(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("adb %s: server closed the connection mid-reply (device gone or server exiting): %w", c.req, io.ErrUnexpectedEOF)
	}
	return err
}

// encodeRequest frames a host-protocol request: 4 hex digits of length, then the text.
func encodeRequest(req string) ([]byte, error) {
	if len(req) > maxReply {
		return nil, fmt.Errorf("adb request of %d bytes exceeds the protocol's %d: shorten the command", len(req), maxReply)
	}
	return fmt.Appendf(nil, "%04x%s", len(req), req), nil
}

// parseHexLen reads the 4 hex digit length prefix of a reply.
func parseHexLen(b []byte) (int, error) {
	n, err := strconv.ParseUint(string(b), 16, 16)
	if err != nil || len(b) != 4 {
		return 0, fmt.Errorf("reply length %q is not 4 hex digits: protocol out of step", b)
	}
	return int(n), nil
}
