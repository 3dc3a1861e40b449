package cronetvideo_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/sim/apps/cronetvideo"
	"telltale.dev/devices/sim/apps/internal/apptest"
	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/netstack"
	"telltale.dev/devices/sim/shell"
)

type noProxy struct{}

func (noProxy) Setting(string, string) (string, bool) { return "", false }

// search types a query into the app and returns its upload.
func search(t *testing.T, scr apptest.Screen, got chan event.Uploaded, q string) event.Uploaded {
	t.Helper()
	scr.Tap(apptest.ID("search_src_text"))
	for scr.Key(67) { // clear the last query
		if f := scr.Top().Focus(); f == nil || f.Text == "Search videos" {
			break
		}
	}
	scr.Type(q)
	scr.Key(66)
	select {
	case u := <-got:
		return u
	case <-time.After(20 * time.Second):
		t.Fatalf("no upload for %q", q)
		return event.Uploaded{}
	}
}

// QUIC first; a failure falls back to TCP at once and keeps QUIC off for
// five minutes of the phone's time, as Chromium marks a broken alternative
// service.
func TestQUICFallbackAndBrokenMark(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	env := apptest.NewEnv(t, cronetvideo.Package, 10123)
	stack := netstack.New(netstack.Config{Settings: noProxy{}, Files: env.Files, Clock: clk, SDK: 29})
	env.Env.Net, env.Env.Clock = stack, clk
	got := make(chan event.Uploaded, 4)
	event.On(env.Bus, func(u event.Uploaded) { got <- u })
	scr := apptest.Screen{T: t, Act: cronetvideo.New(env.Env).NewActivity(cronetvideo.Activity)}
	iptables := func(args ...string) {
		t.Helper()
		sio := shell.IO{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard}
		if code := stack.Commands()["iptables"](shell.WithUID(context.Background(), 0), sio, append([]string{"iptables"}, args...)); code != 0 {
			t.Fatalf("iptables %v: exit %d", args, code)
		}
	}

	if u := search(t, scr, got, "first"); u.Transport != "quic" || u.Route != "outside" || !u.Delivered {
		t.Fatalf("QUIC with nothing in the way: %+v", u)
	}
	iptables("-A", "OUTPUT", "-p", "udp", "--dport", "443", "-j", "REJECT")
	if u := search(t, scr, got, "second"); u.Transport != "tcp" || u.Route != "outside" || !u.Delivered ||
		u.Values["search_word"] != "second" {
		t.Fatalf("QUIC rejected: %+v", u)
	}
	iptables("-D", "OUTPUT", "-p", "udp", "--dport", "443", "-j", "REJECT")
	if u := search(t, scr, got, "third"); u.Transport != "tcp" {
		t.Errorf("QUIC should stay off while marked broken: %+v", u)
	}
	clk.Advance(5 * time.Minute)
	if u := search(t, scr, got, "fourth"); u.Transport != "quic" {
		t.Errorf("QUIC again after five minutes: %+v", u)
	}
}
