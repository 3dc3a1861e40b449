package session_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/sim"
	"telltale.dev/devices/sim/apps/cronetvideo"
	"telltale.dev/devices/sim/apps/flutternews"
	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/bypass"
	"telltale.dev/harness/capture"
	"telltale.dev/harness/journal"
	"telltale.dev/harness/leak"
	"telltale.dev/harness/session"
	"telltale.dev/harness/session/sessiontest"
	"telltale.dev/harness/ui"
)

// rules is what the phone's netfilter holds, read behind the harness's back.
const rules = "su -c 'iptables -S; iptables -t nat -S; ip6tables -S'"

// On a rooted phone, auto capture is transparent: the app that ignores the
// proxy setting and the one that tries QUIC first are both captured,
// decoded and attributed to their packages; Close puts `iptables -S` back
// as it was and marks every rule undone in the journal.
func TestTransparentCaptureAttributesAppsThatIgnoreTheProxy(t *testing.T) {
	r := sessiontest.New(t, "redmi-note-8", "V11.0.3.0", quiet)
	before := r.Shell(t, rules)
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	cfg := r.Config(t)
	cfg.Capture = session.CaptureAuto
	s, err := session.Open(ctx, r.Lease, cfg)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			s.Close(context.Background())
		}
	})
	if s.Capture() != session.CaptureTransparent {
		t.Fatalf("auto capture on a rooted phone chose %s", s.Capture())
	}
	if during := r.Shell(t, rules); !strings.Contains(during, "-A OUTPUT -j telltale") {
		t.Errorf("no telltale chain hooked into OUTPUT while capturing:\n%s", during)
	}
	mark, err := s.Mark(ctx, "apps")
	if err != nil {
		t.Fatal(err)
	}
	cs := []canary.Canary{{ID: "flutter", Value: token(t), Kind: "text"}, {ID: "cronet", Value: token(t), Kind: "text"}}
	search(ctx, t, r, flutternews.Package, flutternews.Activity, cs[0].Value)
	search(ctx, t, r, cronetvideo.Package, cronetvideo.Activity, cs[1].Value)
	flows := waitFor(ctx, t, s, mark.Seq, func(fl []capture.Flow) bool { return len(leak.New(cs).Scan(fl).Findings) >= 2 })

	want := map[string]struct{ pkg, host string }{"flutter": {flutternews.Package, flutternews.Host}, "cronet": {cronetvideo.Package, cronetvideo.Host}}
	for _, f := range leak.New(cs).Scan(flows).Findings {
		w := want[f.Canary]
		if f.App == nil || f.App.Package != w.pkg || f.Host != w.host || strconv.Itoa(f.App.UID) != uidOf(t, r, w.pkg) {
			t.Errorf("canary %s found at %s sent by %s, want %s from %s", f.Canary, f.Host, f.App, w.host, w.pkg)
		}
		delete(want, f.Canary)
	}
	if len(want) > 0 {
		t.Errorf("canaries never captured: %v", want)
	}
	for _, f := range flows {
		if f.App != nil && (f.App.Package == flutternews.Package || f.App.Package == cronetvideo.Package) && f.Route != capture.RouteRedirect {
			t.Errorf("flow %s from %s came by route %q, want %q", f.Request.URL, f.App, f.Route, capture.RouteRedirect)
		}
	}

	closed = true
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if after := r.Shell(t, rules); after != before {
		t.Errorf("iptables -S after the run:\n%s\nbefore:\n%s", after, before)
	}
	entries, err := journal.Read(r.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	var made int
	for _, e := range entries {
		if e.Op == journal.OpIptables {
			made++
		}
	}
	if made == 0 || len(journal.Pending(entries)) != 0 {
		t.Errorf("journal: %d iptables entries, %d changes left pending", made, len(journal.Pending(entries)))
	}
}

// On a phone without root (Magisk denies the shell) auto capture falls
// back to the proxy setting and says so, transparent capture is refused,
// and the app that ignores the proxy setting goes around the proxy: the
// window's watch, reading the sockets as the shell, reports it with its app
// and remote address.
func TestProxyCaptureReportsTheAppThatGoesAround(t *testing.T) {
	r := sessiontest.New(t, "redmi-note-8", "V11.0.3.0", quiet, func(c *sim.Config) { c.SuPolicy = sim.SuDeny })
	cfg := r.Config(t)
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	cfg.Capture = session.CaptureTransparent
	if _, err := session.Open(ctx, r.Lease, cfg); err == nil || !strings.Contains(err.Error(), "no root") {
		t.Errorf("transparent capture without root: %v, want a refusal naming root", err)
	}
	cfg.Capture = session.CaptureAuto
	s, err := session.Open(ctx, r.Lease, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	if s.Capture() != session.CaptureProxy || !strings.Contains(strings.Join(s.Warnings(), "\n"), "bypassing the proxy") {
		t.Errorf("capture %s, warnings %q: want proxy, saying so", s.Capture(), s.Warnings())
	}
	w, err := s.WatchBypass(ctx)
	if err != nil {
		t.Fatal(err)
	}
	search(ctx, t, r, flutternews.Package, flutternews.Activity, token(t))
	uid, _ := strconv.Atoi(uidOf(t, r, flutternews.Package))
	// The app's connection stays open for Dart's idle timeout: wait until
	// the shell sees it, so the watch's last sample sees it too.
	read := func(ctx context.Context, cmd string) (string, error) { return s.Shell(ctx, cmd) }
	for deadline := time.Now().Add(time.Minute); ; {
		socks, err := bypass.Sample(ctx, read)
		if err != nil {
			t.Fatal(err)
		}
		if hasConn(socks, uid) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no connection of %s (uid %d) in /proc/net/tcp", flutternews.Package, uid)
		}
		time.Sleep(100 * time.Millisecond)
	}
	got, err := w.Stop(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, b := range got {
		if b.App != nil && b.App.UID == uid && b.App.Package == flutternews.Package && b.Proto == "tcp" && strings.HasSuffix(b.Remote, ":443") {
			found = true
		}
	}
	if !found {
		t.Errorf("the watch reported %v, want %s's connection to port 443", got, flutternews.Package)
	}
}

func quiet(c *sim.Config) { c.NoNoise = true }

func token(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "tt" + hex.EncodeToString(b)
}

func uidOf(t *testing.T, r *sessiontest.Rig, pkg string) string {
	t.Helper()
	for line := range strings.Lines(r.Shell(t, "pm list packages -U "+pkg)) {
		if name, uid, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, "package:")), " uid:"); ok && name == pkg {
			return uid
		}
	}
	t.Fatalf("no uid for %s", pkg)
	return ""
}

// search submits query in an app's search box as a person does.
func search(ctx context.Context, t *testing.T, r *sessiontest.Rig, pkg, activity, query string) {
	t.Helper()
	if out := r.Shell(t, "am start -W -n "+pkg+"/"+activity); !strings.Contains(out, "Status: ok") {
		t.Fatalf("am start %s: %s", pkg, out)
	}
	d := ui.New(r.Client.Device(r.Lease.Serial), ui.Options{DumpPath: "/dev/tty"})
	field, err := ui.ParseSelector("class=android.widget.EditText,package=" + pkg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Tap(ctx, field); err != nil {
		t.Fatalf("tap %s's search field: %v", pkg, err)
	}
	if err := d.Type(ctx, query); err != nil {
		t.Fatal(err)
	}
	if err := d.Key(ctx, "66"); err != nil {
		t.Fatal(err)
	}
}

// waitFor reads the session's flows after since until done holds of them.
func waitFor(ctx context.Context, t *testing.T, s *session.Session, since int64, done func([]capture.Flow) bool) []capture.Flow {
	t.Helper()
	var flows []capture.Flow
	for deadline := time.Now().Add(time.Minute); ; {
		more, err := s.WaitFlows(ctx, since, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range more {
			since = max(since, f.Seq)
		}
		flows = append(flows, more...)
		if done(flows) {
			return flows
		}
		if time.Now().After(deadline) {
			t.Fatalf("the flows never showed what was awaited: %s", describe(flows))
		}
	}
}

func describe(flows []capture.Flow) string {
	var b strings.Builder
	for _, f := range flows {
		if f.Request != nil {
			fmt.Fprintf(&b, "\n  %s %s from %s by %q", f.Request.Method, f.Request.URL, f.App, f.Route)
		}
	}
	return b.String()
}

func hasConn(socks []bypass.Socket, uid int) bool {
	for _, s := range socks {
		if s.UID == uid && s.Proto == "tcp" && s.Remote.Port() == 443 && !s.Remote.Addr().IsLoopback() {
			return true
		}
	}
	return false
}
