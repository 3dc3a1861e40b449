// Package adb is a client for the adb host protocol: it talks to an adb
// server (the one `adb start-server` runs, TCP 5037 by default) the way the
// adb command line does, so telltale can drive every phone, emulator and
// simulated phone that server knows. Its API follows goadb's shape; every call
// takes a context and gives up when it ends.
package adb

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DefaultPort is the adb server's port when neither Server.Port nor
// ANDROID_ADB_SERVER_PORT says otherwise.
const DefaultPort = 5037

// Server says where an adb server listens.
type Server struct {
	Host string // "127.0.0.1" when empty
	Port int    // $ANDROID_ADB_SERVER_PORT or 5037 when zero
	// Path is the adb binary StartServer runs ("adb" when empty).
	Path string
}

// Client talks to one adb server. It holds no connection: each call dials
// its own, as the adb command line does, so a Client is safe for concurrent use.
type Client struct {
	host string
	port int
	path string
}

// New returns a client for the server s, filling in defaults.
func New(s Server) *Client {
	c := &Client{host: s.Host, port: s.Port, path: s.Path}
	if c.host == "" {
		c.host = "127.0.0.1"
	}
	if c.port == 0 {
		c.port = DefaultPort
		if p, err := strconv.Atoi(os.Getenv("ANDROID_ADB_SERVER_PORT")); err == nil && p > 0 && p < 65536 {
			c.port = p
		}
	}
	if c.path == "" {
		c.path = "adb"
	}
	return c
}

// ParseServer reads "host:port", "host" or ":port" as a Server.
func ParseServer(addr string) (Server, error) {
	if !strings.Contains(addr, ":") {
		return Server{Host: addr}, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return Server{}, fmt.Errorf("adb server address %q: %w (want host:port, e.g. 127.0.0.1:5037)", addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p <= 0 || p > 65535 {
		return Server{}, fmt.Errorf("adb server address %q: port %q is not a number in 1-65535", addr, port)
	}
	return Server{Host: host, Port: p}, nil
}

// Addr is the server's address, "127.0.0.1:5037".
func (c *Client) Addr() string { return net.JoinHostPort(c.host, strconv.Itoa(c.port)) }

// ServerVersion asks the server for its protocol version (41 for adb 1.0.41).
func (c *Client) ServerVersion(ctx context.Context) (int, error) {
	s, err := c.queryString(ctx, "host:version")
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(s, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("adb server at %s sent version %q: %w", c.Addr(), s, err)
	}
	return int(v), nil
}

// StartServer starts a local adb server on the client's port when none
// answers there. It runs `adb -P PORT start-server`, which returns once the
// server accepts connections.
func (c *Client) StartServer(ctx context.Context) error {
	if _, err := c.ServerVersion(ctx); err == nil {
		return nil
	} else if !errors.Is(err, ErrServerUnavailable) {
		return err
	}
	if ip := net.ParseIP(c.host); c.host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("no adb server at %s and only a local one can be started: start adb on that host", c.Addr())
	}
	cmd := exec.CommandContext(ctx, c.path, "-P", strconv.Itoa(c.port), "start-server")
	// The daemon adb forks keeps no handle on our pipes, but should a build
	// ever leak one, WaitDelay stops Wait from waiting on the daemon forever.
	cmd.WaitDelay = waitDelay
	out, err := cmd.CombinedOutput()
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return fmt.Errorf("%w: %s not found", ErrServerUnavailable, c.path)
		}
		return fmt.Errorf("%s -P %d start-server: %w: %s", c.path, c.port, err, strings.TrimSpace(string(out)))
	}
	_, err = c.ServerVersion(ctx)
	return err
}

// KillServer asks the server to exit. A server that is already gone is not an error.
func (c *Client) KillServer(ctx context.Context) error {
	conn, err := c.dial(ctx)
	if errors.Is(err, ErrServerUnavailable) {
		return nil
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.request("host:kill"); err != nil {
		return err
	}
	// The server closes the connection as it exits, but its listener can
	// outlive that by a moment; waiting until the port refuses makes a
	// following StartServer or ServerVersion on the same port reliable.
	var b [1]byte
	_, _ = conn.Read(b[:])
	var d net.Dialer
	for {
		probe, err := d.DialContext(ctx, "tcp", c.Addr())
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("adb server at %s still accepts connections after kill: %w", c.Addr(), ctx.Err())
			}
			return nil
		}
		probe.Close()
		select {
		case <-ctx.Done():
			return fmt.Errorf("adb server at %s still accepts connections after kill: %w", c.Addr(), ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Connect asks the server to connect to a device listening on hostport
// (`adb connect`). The device may show as "offline" for a moment after.
func (c *Client) Connect(ctx context.Context, hostport string) error {
	msg, err := c.queryString(ctx, "host:connect:"+hostport)
	if err != nil {
		return err
	}
	// The server answers OKAY even when it could not connect; only the
	// message tells.
	if strings.HasPrefix(msg, "connected to") || strings.HasPrefix(msg, "already connected to") {
		return nil
	}
	return &ServerError{Request: "host:connect:" + hostport, Msg: msg}
}

// Disconnect asks the server to drop the device at hostport (`adb disconnect`).
func (c *Client) Disconnect(ctx context.Context, hostport string) error {
	msg, err := c.queryString(ctx, "host:disconnect:"+hostport)
	if err != nil {
		return err
	}
	if strings.HasPrefix(msg, "disconnected") {
		return nil
	}
	return &ServerError{Request: "host:disconnect:" + hostport, Msg: msg}
}

// Device returns a handle on the device with this serial. It does not check
// that the device exists; calls on it report ErrDeviceNotFound.
func (c *Client) Device(serial string) *Device {
	return &Device{c: c, serial: serial}
}

// queryString sends a host request and reads its OKAY and length-prefixed reply.
//
// A connection the server resets is tried again, twice at most: adb 29 has
// been seen resetting fresh host connections while four Ginkgo processes
// queried it at once, and host queries are safe to repeat.
func (c *Client) queryString(ctx context.Context, req string) (string, error) {
	for attempt := 0; ; attempt++ {
		s, err := c.queryStringOnce(ctx, req)
		if attempt == 2 || !errors.Is(err, syscall.ECONNRESET) {
			return s, err
		}
		select {
		case <-ctx.Done():
			return "", err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *Client) queryStringOnce(ctx context.Context, req string) (string, error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if err := conn.request(req); err != nil {
		return "", err
	}
	return conn.readString()
}

// command sends a host request whose answer is a bare OKAY.
func (c *Client) command(ctx context.Context, req string) error {
	conn, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.request(req)
}
