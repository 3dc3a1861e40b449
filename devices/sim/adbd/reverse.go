package adbd

import (
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// reverseRule is one `adb reverse LOCAL REMOTE`: connections to LOCAL on the
// device are carried to REMOTE on the host.
type reverseRule struct {
	local, remote string
}

// reverseService answers reverse:forward, list-forward, killforward and
// killforward-all with adbd's reply framing: "OKAY", "FAIL%04x%s", and a
// bare "%04x%s" list. The change is applied here, in the reader loop, and
// only the reply waits for the service goroutine: adb 29 drops a rule from
// its allow-list as it forwards the request, so the phone must stop opening
// that target before it handles anything else from the host. (A device OPEN
// already on the wire when the host forgets the rule still kills adb 29; a
// real phone has the same race, so remove rules while the phone is quiet.)
func (c *conn) reverseService(req string) func(*stream) {
	reply, err := c.reverse(req)
	if err != nil {
		reply = "FAIL" + lengthPrefixed(err.Error())
	}
	return func(s *stream) { io.WriteString(s, reply) }
}

func lengthPrefixed(msg string) string { return fmt.Sprintf("%04x%s", len(msg), msg) }

func (c *conn) reverse(req string) (string, error) {
	c.revMu.Lock()
	defer c.revMu.Unlock()
	switch {
	case req == "list-forward":
		var b strings.Builder
		for _, r := range c.rules {
			fmt.Fprintf(&b, "host-%d %s %s\n", c.id, r.local, r.remote)
		}
		return lengthPrefixed(b.String()), nil
	case req == "killforward-all":
		c.rules = nil
		return "OKAY", nil
	case strings.HasPrefix(req, "killforward:"):
		local := strings.TrimPrefix(req, "killforward:")
		i := slices.IndexFunc(c.rules, func(r reverseRule) bool { return r.local == local })
		if i < 0 {
			return "", fmt.Errorf("listener '%s' not found", local)
		}
		c.rules = slices.Delete(c.rules, i, i+1)
		return "OKAY", nil
	case strings.HasPrefix(req, "forward:"):
		return c.addRule(strings.TrimPrefix(req, "forward:"))
	}
	return "", fmt.Errorf("unknown reverse request '%s'", req)
}

// addRule installs "[norebind:]LOCAL;REMOTE". c.revMu is held.
func (c *conn) addRule(spec string) (string, error) {
	spec, norebind := strings.CutPrefix(spec, "norebind:")
	local, remote, ok := strings.Cut(spec, ";")
	if !ok {
		return "", fmt.Errorf("bad forward: %s", spec)
	}
	lport, err := checkSocketSpec(local)
	if err != nil {
		return "", fmt.Errorf("cannot bind listener: %w", err)
	}
	if _, err := checkSocketSpec(remote); err != nil {
		return "", fmt.Errorf("cannot bind listener: %w", err)
	}
	reply := "OKAY"
	if lport == 0 && strings.HasPrefix(local, "tcp:") {
		port := c.srv.allocPort(func(p int) bool {
			return slices.ContainsFunc(c.rules, func(r reverseRule) bool { return r.local == "tcp:"+strconv.Itoa(p) })
		})
		local = "tcp:" + strconv.Itoa(port)
		reply += lengthPrefixed(strconv.Itoa(port))
	}
	if i := slices.IndexFunc(c.rules, func(r reverseRule) bool { return r.local == local }); i >= 0 {
		if norebind {
			return "", fmt.Errorf("cannot rebind existing socket")
		}
		c.rules[i].remote = remote
		return reply, nil
	}
	c.rules = append(c.rules, reverseRule{local: local, remote: remote})
	return reply, nil
}

// checkSocketSpec validates an adb socket spec and returns its TCP port
// (-1 for the non-TCP kinds).
func checkSocketSpec(spec string) (int, error) {
	kind, arg, ok := strings.Cut(spec, ":")
	if !ok || arg == "" {
		return 0, fmt.Errorf("unknown socket specification '%s'", spec)
	}
	switch kind {
	case "tcp":
		port, err := strconv.Atoi(arg)
		if err != nil || port < 0 || port > 65535 {
			return 0, fmt.Errorf("invalid port '%s'", arg)
		}
		return port, nil
	case "localabstract", "localreserved", "localfilesystem", "local", "dev", "jdwp":
		return -1, nil
	}
	return 0, fmt.Errorf("unknown socket specification '%s'", spec)
}

// dialReverse opens a device stream to the host side of local's rule on
// this connection. The OPEN goes out under revMu, after the rule was found,
// so it can never name a target this connection has not registered: adb 29
// exits when a device opens an unregistered target.
func (c *conn) dialReverse(ctx context.Context, local string) (net.Conn, error) {
	c.revMu.Lock()
	i := slices.IndexFunc(c.rules, func(r reverseRule) bool { return r.local == local })
	if i < 0 {
		c.revMu.Unlock()
		return nil, ErrNoReverse
	}
	remote := c.rules[i].remote
	s, err := c.newStream(0)
	if err == nil {
		err = c.send(packet{cmd: cmdOPEN, arg0: s.local, arg1: 0, data: []byte(remote + "\x00")})
	}
	c.revMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("adb reverse %s -> %s: %w", local, remote, net.ErrClosed)
	}
	select {
	case <-s.opened:
		return s, nil
	case <-s.done:
		if c.ctx.Err() != nil {
			return nil, fmt.Errorf("adb reverse %s -> %s: adb connection dropped: %w", local, remote, net.ErrClosed)
		}
		return nil, fmt.Errorf("adb reverse %s -> %s: nothing listens on the host side: %w", local, remote, syscall.ECONNREFUSED)
	case <-ctx.Done():
		c.abandon(s.local)
		s.Close()
		return nil, fmt.Errorf("adb reverse %s -> %s: %w", local, remote, ctx.Err())
	}
}
