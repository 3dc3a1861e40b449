package netstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"telltale.dev/devices/sim/shell"
)

// Commands is nc.
func (s *Stack) Commands() map[string]shell.Func { return map[string]shell.Func{"nc": s.nc} }

func errf(sio shell.IO, format string, args ...any) int {
	fmt.Fprintf(sio.Stderr, format+"\n", args...)
	return 1
}

// nc is toybox nc as a client: it connects, sends stdin and prints what
// comes back. With -w SECS the session ends SECS after stdin is sent.
func (s *Stack) nc(ctx context.Context, sio shell.IO, args []string) int {
	wait := time.Duration(0)
	var ops []string
	for i := 1; i < len(args); i++ {
		switch a := args[i]; {
		case (a == "-w" || a == "-q" || a == "-W") && i+1 < len(args):
			i++
			n, err := strconv.Atoi(args[i])
			if err != nil || n < 0 {
				return errf(sio, "nc: bad timeout '%s'", args[i])
			}
			if a == "-w" {
				wait = time.Duration(n) * time.Second
			}
		case strings.HasPrefix(a, "-"):
			return errf(sio, "nc: unsupported option %s on the simulated phone (client mode only)", a)
		default:
			ops = append(ops, a)
		}
	}
	if len(ops) != 2 {
		return errf(sio, "usage: nc [-w SECS] HOST PORT")
	}
	if _, err := strconv.Atoi(ops[1]); err != nil {
		return errf(sio, "nc: bad port '%s'", ops[1])
	}
	if wait > 0 {
		// The connect and the whole session are bounded too, on the host's
		// clock, so that a stuck reverse stream cannot hold the shell.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, wait+time.Second)
		defer cancel()
	}
	conn, err := s.Dial(ctx, net.JoinHostPort(ops[0], ops[1]))
	switch {
	case errors.Is(err, syscall.ENETUNREACH):
		return errf(sio, "nc: connect: Network is unreachable")
	case err != nil:
		return errf(sio, "nc: connect: Connection refused")
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if _, err := io.Copy(conn, sio.Stdin); err != nil {
		return errf(sio, "nc: send: %v", err)
	}
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	if wait > 0 {
		t := s.cfg.Clock.AfterFunc(wait, func() { conn.Close() })
		defer t.Stop()
	}
	// The session ends when the peer closes or the timeout closes the
	// connection; either way nc has done its job.
	_, _ = io.Copy(sio.Stdout, conn)
	return 0
}
