package bypass

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"telltale.dev/harness/capture"
)

// Bypass is a connection to the outside that the proxy could not see.
type Bypass struct {
	Proto  string `json:"proto"`  // "tcp" or "udp"
	Remote string `json:"remote"` // "203.0.113.7:443"
	// App owns the socket; nil when the kernel no longer said (a socket
	// seen only once closed, in TIME_WAIT, which has no owner).
	App   *capture.App `json:"app,omitempty"`
	State string       `json:"state"` // as last seen
}

// String is "com.example.app (uid 10123) -> 203.0.113.7:443/tcp".
func (b Bypass) String() string { return fmt.Sprintf("%s -> %s/%s", b.App, b.Remote, b.Proto) }

// Reader runs a command line on the phone as the adb shell user.
type Reader func(ctx context.Context, cmd string) (string, error)

// Rules say which sockets count as bypassing the proxy.
type Rules struct {
	// Redirected says the phone's TCP is sent to the proxy by iptables and
	// UDP 443 refused (transparent capture): then only other UDP bypasses.
	Redirected bool
	// Apps names the uids, as `pm list packages -U` does.
	Apps map[int]string
}

// tables are the /proc/net files sampled, with their protocol.
var tables = []struct{ file, proto string }{{"tcp", "tcp"}, {"tcp6", "tcp"}, {"udp", "udp"}, {"udp6", "udp"}}

// Command prints the four tables, each after a "## NAME" line; a table the
// phone lacks (no IPv6) or the shell may not read prints nothing.
const Command = `for f in tcp tcp6 udp udp6; do echo "## $f"; cat /proc/net/$f 2>/dev/null; done; true`

// Sample reads the phone's sockets once.
func Sample(ctx context.Context, read Reader) ([]Socket, error) {
	out, err := read(ctx, Command)
	if err != nil {
		return nil, fmt.Errorf("bypass: read the phone's sockets: %w", err)
	}
	sections := map[string]string{}
	name := ""
	for line := range strings.Lines(out) {
		if n, ok := strings.CutPrefix(strings.TrimSpace(line), "## "); ok {
			name = n
			continue
		}
		sections[name] += line
	}
	if !strings.Contains(sections["tcp"], "local_address") {
		return nil, errors.New("bypass: the adb shell cannot read /proc/net/tcp on this phone, so connections around the proxy cannot be seen")
	}
	var all []Socket
	for _, t := range tables {
		s, err := ParseProcNet(sections[t.file], t.proto)
		if err != nil {
			return nil, err
		}
		all = append(all, s...)
	}
	return all, nil
}

// key is a connection: protocol and both ends.
type key struct {
	proto         string
	local, remote netip.AddrPort
}

// Watch samples a phone's sockets while an action's window is open.
type Watch struct {
	read   Reader
	rules  Rules
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	before map[key]bool    // open when the window began
	owner  map[key]int     // the uid last seen owning each connection
	found  map[key]*Bypass // the connections that count, as last seen
	order  []key           // found, in the order first seen
	// failed counts the samples that could not be read; err is the first.
	failed int
	err    error
}

// Start takes a first sample (what was open before the window: only
// connections opened after it count) and then samples every interval until
// Stop. A phone whose sockets cannot be read fails here.
func Start(ctx context.Context, read Reader, rules Rules, interval time.Duration) (*Watch, error) {
	first, err := Sample(ctx, read)
	if err != nil {
		return nil, err
	}
	w := &Watch{read: read, rules: rules, done: make(chan struct{}),
		before: map[key]bool{}, owner: map[key]int{}, found: map[key]*Bypass{}}
	for _, s := range first {
		k := key{s.Proto, s.Local, s.Remote}
		w.before[k] = true
		w.owner[k] = s.UID
	}
	ctx, w.cancel = context.WithCancel(ctx)
	go w.loop(ctx, interval)
	return w, nil
}

func (w *Watch) loop(ctx context.Context, interval time.Duration) {
	defer close(w.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.sample(ctx)
		}
	}
}

// sample reads the sockets once and keeps what counts. A failed read is
// kept for Stop to report, unless it was the watch being stopped.
func (w *Watch) sample(ctx context.Context) {
	socks, err := Sample(ctx, w.read)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			w.failed++
			w.err = cmp.Or(w.err, err)
		}
		return
	}
	listening := map[uint16]bool{}
	for _, s := range socks {
		if s.State == "LISTEN" {
			listening[s.Local.Port()] = true
		}
	}
	for _, s := range socks {
		k := key{s.Proto, s.Local, s.Remote}
		// A closed socket in TIME_WAIT shows uid 0: it has no owner left.
		if s.State != "TIME_WAIT" {
			w.owner[k] = s.UID
		}
		if w.before[k] || listening[s.Local.Port()] || !w.counts(s) {
			continue
		}
		b := w.found[k]
		if b == nil {
			b = &Bypass{Proto: s.Proto, Remote: s.Remote.String()}
			w.found[k] = b
			w.order = append(w.order, k)
		}
		b.State = s.State
		if uid, ok := w.owner[k]; ok {
			b.App = &capture.App{UID: uid, Package: w.rules.Apps[uid]}
		}
	}
}

// counts says whether a socket is a connection to the outside that the
// proxy did not get. Name resolution (port 53) never goes through an HTTP
// proxy and is left out; an accepted connection (its local port listening)
// came in, as adbd's over Wi-Fi does, and is left out too.
func (w *Watch) counts(s Socket) bool {
	r := s.Remote.Addr()
	switch {
	case !r.IsValid() || r.IsUnspecified() || s.Remote.Port() == 0 || s.State == "LISTEN":
		return false
	case r.IsLoopback() || r == s.Local.Addr():
		return false
	case s.Remote.Port() == 53:
		return false
	case w.rules.Redirected && (s.Proto == "tcp" || s.Remote.Port() == 443):
		return false
	}
	return true
}

// Stop ends the sampling, takes a last sample (a connection opened in the
// window's last moment counts too) and returns the connections that
// bypassed the proxy, in the order first seen. Samples that failed are
// counted in an error beside what the others found.
func (w *Watch) Stop(ctx context.Context) ([]Bypass, error) {
	w.cancel()
	<-w.done
	w.sample(ctx)
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Bypass, 0, len(w.order))
	for _, k := range w.order {
		out = append(out, *w.found[k])
	}
	if w.err != nil {
		return out, fmt.Errorf("%d samples of the phone's sockets failed, the first: %w", w.failed, w.err)
	}
	return out, nil
}
