package session

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"telltale.dev/harness/bypass"
	"telltale.dev/harness/capture"
	"telltale.dev/harness/journal"
	"telltale.dev/harness/redirect"
)

// Capture is how a session gets the phone's traffic to its proxy.
type Capture string

const (
	// CaptureProxy points the phone's global HTTP proxy setting at the
	// proxy. Apps that ignore the setting go around it; the sockets are
	// watched during each window to report them (WatchBypass).
	CaptureProxy Capture = "proxy"
	// CaptureTransparent needs root: iptables sends every outgoing TCP
	// connection to the proxy, each app's to a listener of its own so its
	// flows carry the app, and refuses QUIC so it falls back to TCP.
	CaptureTransparent Capture = "transparent"
	// CaptureAuto is transparent where the phone allows root, else proxy.
	CaptureAuto Capture = "auto"
)

// ParseCapture checks a --capture value ("" is auto).
func ParseCapture(s string) (Capture, error) {
	switch c := Capture(s); c {
	case CaptureProxy, CaptureTransparent, CaptureAuto:
		return c, nil
	case "":
		return CaptureAuto, nil
	}
	return "", fmt.Errorf("capture mode %q: want proxy, transparent or auto", s)
}

// UnmarshalText parses a --capture value.
func (c *Capture) UnmarshalText(b []byte) error {
	v, err := ParseCapture(string(b))
	if err == nil {
		*c = v
	}
	return err
}

// MarshalText is the value's name.
func (c Capture) MarshalText() ([]byte, error) { return []byte(c), nil }

// AppPortBase is where the phone's ports for each app's own listener start
// (AppPortBase+1, +2, ...): below Android's ephemeral range (32768 on).
const AppPortBase = 18100

// bypassInterval is how often a window samples the phone's sockets.
const bypassInterval = 250 * time.Millisecond

// Capture is the mode the session captures in (never auto once open).
func (s *Session) Capture() Capture { return s.capture }

// Apps are the phone's apps by uid, as `pm list packages -U` lists them
// (packages sharing a uid comma separated).
func (s *Session) Apps() map[int]string { return s.apps }

// chooseCapture settles auto (transparent where root runs iptables) and
// refuses transparent where it cannot be had.
func (s *Session) chooseCapture(ctx context.Context, want Capture) error {
	s.capture = CaptureProxy
	if want == CaptureProxy || want == "" {
		return nil
	}
	why := "the phone has no root (adb root, or Magisk's su -c with Shell granted)"
	if s.root != nil {
		_, err := redirect.ReadState(ctx, s.rootRun)
		if err == nil {
			s.capture = CaptureTransparent
			fmt.Fprintf(s.log, "session %s: capture mode transparent\n", s.lease.Serial)
			return nil
		}
		if lost := s.Lost(); lost != nil {
			return err
		}
		why = fmt.Sprintf("iptables does not answer as root (%v)", err)
	}
	if want == CaptureTransparent {
		return fmt.Errorf("session: --capture transparent on %s: %s: use --capture auto or proxy", s.lease.Serial, why)
	}
	s.warn(fmt.Sprintf("capture on %s through the proxy setting only: %s; connections of apps that ignore it are reported as bypassing the proxy", s.lease.Serial, why))
	return nil
}

// readApps lists the phone's packages with their uids. A pm without -U
// (before Android 8) leaves the apps unnamed: flows then carry no app, and
// a bypass names only its uid.
func (s *Session) readApps(ctx context.Context) error {
	out, err := s.Shell(ctx, "pm list packages -U")
	if err != nil {
		if lost := s.Lost(); lost != nil {
			return err
		}
		s.warn(fmt.Sprintf("%s: `pm list packages -U` failed (%v): flows carry no app, connections around the proxy only their uid", s.lease.Serial, err))
		s.apps = map[int]string{}
		return nil
	}
	s.apps = parsePackages(out)
	return nil
}

// parsePackages reads `pm list packages -U` ("package:NAME uid:UID"; on
// phones with several users "uid:10123,1010123", the first being the
// owner's) into uid -> packages, sorted and comma separated.
func parsePackages(out string) map[int]string {
	byUID := map[int][]string{}
	for line := range strings.Lines(out) {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), " uid:")
		name, isPkg := strings.CutPrefix(name, "package:")
		if !ok || !isPkg || name == "" {
			continue
		}
		first, _, _ := strings.Cut(rest, ",")
		uid, err := strconv.Atoi(first)
		if err != nil || uid < 0 {
			continue
		}
		byUID[uid] = append(byUID[uid], name)
	}
	apps := make(map[int]string, len(byUID))
	for uid, names := range byUID {
		slices.Sort(names)
		apps[uid] = strings.Join(slices.Compact(names), ",")
	}
	return apps
}

// rootRun runs a command line as root the way the session found it works.
func (s *Session) rootRun(ctx context.Context, cmd string) (string, error) {
	return s.Shell(ctx, s.root.Command(cmd))
}

// routeTransparent gives every app of the phone a port of its own (an adb
// reverse rule to the app's own listener of the proxy) and has iptables
// send each app's TCP there, the rest to the proxy's port, each rule
// journaled before it is made. The rules as they were before are kept to
// check the restore against.
func (s *Session) routeTransparent(ctx context.Context) error {
	before, err := redirect.ReadState(ctx, s.rootRun)
	if err != nil {
		return err
	}
	if err := before.CheckFree(); err != nil {
		return fmt.Errorf("%s: %w", s.lease.Serial, err)
	}
	if err := writeLines(filepath.Join(s.dir, "iptables-before.txt"), before); err != nil {
		return err
	}
	s.rulesBefore = before
	uids := slices.Sorted(maps.Keys(s.apps))
	fmt.Fprintf(s.log, "session %s: transparent capture: a listener and a phone port for each of %d app uids\n", s.lease.Serial, len(uids))
	plan := redirect.Plan{ProxyPort: ProxyPort}
	for i, uid := range uids {
		app := capture.App{UID: uid, Package: s.apps[uid]}
		target, err := s.proxy.OpenApp(ctx, app)
		if err != nil {
			return err
		}
		port := AppPortBase + i + 1
		if err := s.reverse(ctx, port, target); err != nil {
			return err
		}
		plan.Apps = append(plan.Apps, redirect.AppPort{UID: uid, Port: port})
	}
	if p, _ := s.Shell(ctx, "getprop service.adb.tcp.port"); strings.TrimSpace(p) != "" {
		if n, err := strconv.Atoi(strings.TrimSpace(p)); err == nil && n > 0 {
			plan.KeepSourcePorts = []int{n}
		}
	}
	rules, err := plan.Rules()
	if err != nil {
		return err
	}
	return redirect.Apply(ctx, s.rootRun, rules, func(r redirect.Rule) error {
		return s.Record(journal.Entry{Op: journal.OpIptables, Value: r.Command(), Command: r.UndoCommand(), Su: s.root.Su()})
	})
}

// checkRules compares the phone's rules after the restore with those before
// the run, keeping both for the reader.
func (s *Session) checkRules(ctx context.Context) error {
	after, err := redirect.ReadState(ctx, s.rootRun)
	if err != nil {
		return fmt.Errorf("iptables check after restore: %w", err)
	}
	if err := writeLines(filepath.Join(s.dir, "iptables-after.txt"), after); err != nil {
		return err
	}
	if d := s.rulesBefore.Diff(after); len(d) > 0 {
		return fmt.Errorf("RESTORE INCOMPLETE on %s: iptables -S differs from before the run:\n  %s", s.lease.Serial, strings.Join(d, "\n  "))
	}
	return nil
}

// WatchBypass starts watching the phone's sockets for an action's window:
// stop the watch at the window's end to learn which connections went
// around the proxy (in transparent mode only UDP but QUIC's can). A phone
// whose sockets the shell cannot read fails here; the window goes on
// without the watch, and its "no leak" is weaker.
func (s *Session) WatchBypass(ctx context.Context) (*bypass.Watch, error) {
	read := func(ctx context.Context, cmd string) (string, error) { return s.Shell(ctx, cmd) }
	return bypass.Start(ctx, read, bypass.Rules{Redirected: s.capture == CaptureTransparent, Apps: s.apps}, bypassInterval)
}

func writeLines(path string, st redirect.State) error {
	var b strings.Builder
	for _, t := range redirect.Tables {
		fmt.Fprintf(&b, "# %s -S\n", t)
		for _, l := range st[t] {
			b.WriteString(l + "\n")
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("keep the phone's iptables rules: %w", err)
	}
	return nil
}
