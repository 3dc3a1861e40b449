package sim

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"telltale.dev/devices/sim/shell"
)

// cmdToybox runs a toybox applet by name, as `toybox nc ...` does.
func (p *Phone) cmdToybox(ctx context.Context, sio shell.IO, args []string) int {
	if len(args) < 2 {
		fmt.Fprintln(sio.Stdout, "ls mkdir rm cat echo touch cp mv chmod chown chcon id whoami mount umount nsenter pidof grep sleep printf nc")
		return 0
	}
	return p.sh.Exec(ctx, sio, args[1:])
}

// cmdPrintf handles the escapes and %s/%d/%% conversions scripts use.
func (p *Phone) cmdPrintf(_ context.Context, sio shell.IO, args []string) int {
	if len(args) < 2 {
		return errf(sio, "printf: Needs 1 argument")
	}
	format, rest := args[1], args[2:]
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		switch {
		case c == '\\' && i+1 < len(format):
			i++
			if r, ok := map[byte]string{'n': "\n", 'r': "\r", 't': "\t", '\\': "\\", '0': "\x00"}[format[i]]; ok {
				b.WriteString(r)
			} else {
				b.WriteByte('\\')
				b.WriteByte(format[i])
			}
		case c == '%' && i+1 < len(format):
			i++
			switch format[i] {
			case '%':
				b.WriteByte('%')
			case 's', 'd':
				if len(rest) > 0 {
					b.WriteString(rest[0])
					rest = rest[1:]
				}
			default:
				return errf(sio, "printf: %%%c: unsupported conversion", format[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	fmt.Fprint(sio.Stdout, b.String())
	return 0
}

// cmdNc is toybox nc as a client: it connects to a port on the phone's
// loopback, which reaches the host only through an `adb reverse` rule, sends
// stdin and prints what comes back. Other addresses are unreachable: the
// simulated phone has no network of its own.
func (p *Phone) cmdNc(ctx context.Context, sio shell.IO, args []string) int {
	wait := 0 * time.Second
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
	if ops[0] != "127.0.0.1" && ops[0] != "localhost" {
		return errf(sio, "nc: connect: Network is unreachable")
	}
	if _, err := strconv.Atoi(ops[1]); err != nil {
		return errf(sio, "nc: bad port '%s'", ops[1])
	}
	if wait > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, wait+time.Second)
		defer cancel()
	}
	conn, err := p.DialReverse(ctx, "tcp:"+ops[1])
	if err != nil {
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
		_ = conn.SetReadDeadline(time.Now().Add(wait))
	}
	if _, err := io.Copy(sio.Stdout, conn); err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return 0 // -w: idle for the timeout ends the session
		}
	}
	return 0
}
