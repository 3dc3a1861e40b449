package netstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/shell"
)

func errf(sio shell.IO, format string, args ...any) int {
	fmt.Fprintf(sio.Stderr, format+"\n", args...)
	return 1
}

// ncOpts are the toybox netcat options the phone models.
type ncOpts struct {
	wait   time.Duration // -w: the session ends this long after stdin is sent
	listen bool          // -l: accept one connection, then exit
	port   int           // -p: the local port to listen on
	family string        // -4 / -6
	ops    []string
}

func parseNc(args []string) (ncOpts, error) {
	var o ncOpts
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-l":
			o.listen = true
		case a == "-4" || a == "-6":
			o.family = a[1:]
		case (a == "-w" || a == "-q" || a == "-W" || a == "-p") && i+1 < len(args):
			i++
			n, err := strconv.Atoi(args[i])
			if err != nil || n < 0 {
				return o, fmt.Errorf("nc: bad %s '%s'", a, args[i])
			}
			switch a {
			case "-w":
				o.wait = time.Duration(n) * time.Second
			case "-p":
				if n > 65535 {
					return o, fmt.Errorf("nc: bad -p '%s'", args[i])
				}
				o.port = n
			}
		case strings.HasPrefix(a, "-lp"):
			o.listen = true
			n, err := strconv.Atoi(a[3:])
			if err != nil || n < 0 || n > 65535 {
				return o, fmt.Errorf("nc: bad -p '%s'", a[3:])
			}
			o.port = n
		case strings.HasPrefix(a, "-") && a != "-":
			return o, fmt.Errorf("nc: unsupported option %s on the simulated phone (-l -p -w -4 -6 only)", a)
		default:
			o.ops = append(o.ops, a)
		}
	}
	return o, nil
}

// nc is toybox netcat, as the uid that runs it: a client that sends stdin
// and prints what comes back, or with -l a server that takes one
// connection. With -w SECS the session ends SECS after stdin is sent, on
// the phone's clock.
func (s *Stack) nc(ctx context.Context, sio shell.IO, args []string) int {
	o, err := parseNc(args)
	if err != nil {
		return errf(sio, "%v", err)
	}
	if o.wait > 0 {
		// The connect and the whole session are bounded too, on the host's
		// clock, so that a stuck reverse stream cannot hold the shell.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.wait+time.Second)
		defer cancel()
	}
	var conn net.Conn
	if o.listen {
		if conn, err = s.ncAccept(ctx, sio, o); err != nil {
			return errf(sio, "%v", err)
		}
	} else {
		if len(o.ops) != 2 {
			return errf(sio, "usage: nc [-46l] [-w SECS] [-p PORT] HOST PORT")
		}
		if _, err := strconv.Atoi(o.ops[1]); err != nil {
			return errf(sio, "nc: bad port '%s'", o.ops[1])
		}
		conn, err = s.DialAs(ctx, shell.UID(ctx), ncNetwork(o, o.ops[0]), net.JoinHostPort(o.ops[0], o.ops[1]))
		switch {
		case errors.Is(err, syscall.ENETUNREACH):
			return errf(sio, "nc: connect: Network is unreachable")
		case errors.Is(err, syscall.ETIMEDOUT):
			return errf(sio, "nc: connect: Connection timed out")
		case err != nil:
			return errf(sio, "nc: connect: Connection refused")
		}
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	// Both ways at once, as toybox's pollinate does: stdin to the peer,
	// then a half-close (and with -w the session's end SECS later); the
	// peer to stdout until it closes. The session ends when the peer
	// closes or the timeout closes the connection; either way nc has done
	// its job. (The copy from stdin ends when stdin does.)
	var mu sync.Mutex
	var timer clock.Timer
	sent := make(chan error, 1)
	go func() {
		_, err := io.Copy(conn, sio.Stdin)
		if cw, ok := conn.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		if o.wait > 0 {
			mu.Lock()
			timer = s.cfg.Clock.AfterFunc(o.wait, func() { conn.Close() })
			mu.Unlock()
		}
		sent <- err
	}()
	_, _ = io.Copy(sio.Stdout, conn)
	conn.Close()
	mu.Lock()
	if timer != nil {
		timer.Stop()
	}
	mu.Unlock()
	select {
	case err := <-sent:
		if err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, syscall.EPIPE) {
			return errf(sio, "nc: send: %v", err)
		}
	default:
	}
	return 0
}

// ncNetwork is the socket toybox makes: the family of the address
// (getaddrinfo), or the one -4/-6 asks for.
func ncNetwork(o ncOpts, host string) string {
	if o.family == "6" {
		return "tcp6"
	}
	if a, err := netip.ParseAddr(host); (err == nil && a.Is6()) || host == "ip6-localhost" {
		return "tcp6"
	}
	return "tcp4"
}

// ncAccept listens (on every address, IPv4 unless -6) and takes one
// connection. Without -p the kernel picks the port, which toybox prints
// on stderr (modeled wording: the number alone).
func (s *Stack) ncAccept(ctx context.Context, sio shell.IO, o ncOpts) (net.Conn, error) {
	network := "tcp4"
	if o.family == "6" {
		network = "tcp6"
	}
	l, err := s.Listen(shell.UID(ctx), network, ":"+strconv.Itoa(o.port))
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, errors.New("nc: bind: Address already in use")
		}
		return nil, fmt.Errorf("nc: %w", err)
	}
	defer l.Close()
	if o.port == 0 {
		fmt.Fprintln(sio.Stderr, l.Addr().(*net.TCPAddr).Port)
	}
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	c, err := l.Accept()
	if err != nil {
		return nil, fmt.Errorf("nc: accept: %w", ctx.Err())
	}
	return c, nil
}
