package activity_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/internal/cmdtest"
	"telltale.dev/devices/sim/system/activity"
	"telltale.dev/devices/sim/system/logd"
)

var (
	home    = content.ComponentName{Package: "com.miui.home", Class: "com.miui.home.launcher.Launcher"}
	browser = content.ComponentName{Package: "com.mi.globalbrowser", Class: "com.android.browser.BrowserActivity"}
	app     = content.ComponentName{Package: "com.canary", Class: "android.app.Activity"}
)

// resolver knows three apps: HOME, a browser for web pages, and an app
// with a launcher activity.
type resolver struct{}

func (resolver) Resolve(in content.Intent) (content.ComponentName, error) {
	switch {
	case !in.Component.IsZero():
		return in.Component, nil
	case in.HasCategory(content.CategoryHome):
		return home, nil
	case in.Package == "com.canary":
		return app, nil
	case in.Scheme() == "https":
		return browser, nil
	}
	return content.ComponentName{}, errors.New("unresolved")
}

// host records what the manager asks of the apps.
type host struct {
	mu  sync.Mutex
	log []string
}

func (h *host) Resume(r activity.Record, in *content.Intent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.log = append(h.log, fmt.Sprintf("resume %s seq=%d intent=%v", r.Component.ShortString(), r.Seq, in != nil))
}

func (h *host) Destroy(tokens []int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.log = append(h.log, fmt.Sprintf("destroy %v", tokens))
}

func (h *host) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.log
	h.log = nil
	return out
}

type rig struct {
	m      *activity.Manager
	h      *host
	bus    *event.Bus
	events []string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{h: &host{}, bus: &event.Bus{}}
	r.bus.Subscribe(func(ev event.Event) {
		switch e := ev.(type) {
		case event.ActivityStarted:
			r.events = append(r.events, fmt.Sprintf("started %s home=%v", e.Package, e.Home))
		case event.AppBackgrounded:
			r.events = append(r.events, "background "+e.Package)
		}
	})
	r.m = activity.New(activity.Config{Bus: r.bus, Log: logd.New(clock.Real()), Resolver: resolver{}})
	r.m.Attach(r.h)
	r.m.Boot()
	return r
}

func (r *rig) front(t *testing.T) string {
	t.Helper()
	rec, ok := r.m.Front()
	if !ok {
		return ""
	}
	return rec.Component.ShortString()
}

func TestTaskStack(t *testing.T) {
	r := newRig(t)
	if got := r.front(t); got != "com.miui.home/.launcher.Launcher" {
		t.Fatalf("after boot: %q", got)
	}
	if _, err := r.m.Start(content.Intent{Action: content.ActionView, Data: "https://a.example/"}, 2000); err != nil {
		t.Fatal(err)
	}
	// The same activity on top gets the next intent as onNewIntent.
	if _, err := r.m.Start(content.Intent{Action: content.ActionView, Data: "https://b.example/"}, 2000); err != nil {
		t.Fatal(err)
	}
	if _, err := r.m.Start(content.Intent{Package: "com.canary"}, 2000); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"resume com.miui.home/.launcher.Launcher seq=1 intent=true",
		"resume com.mi.globalbrowser/com.android.browser.BrowserActivity seq=2 intent=true",
		"resume com.mi.globalbrowser/com.android.browser.BrowserActivity seq=3 intent=true",
		"resume com.canary/android.app.Activity seq=4 intent=true",
	}
	if got := r.h.take(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("host calls\n got %q\nwant %q", got, want)
	}
	// Back finishes the app; the browser's task comes back without an intent.
	r.m.Back()
	if got := r.h.take(); fmt.Sprint(got) != "[destroy [3] resume com.mi.globalbrowser/com.android.browser.BrowserActivity seq=5 intent=false]" {
		t.Fatalf("after back: %q", got)
	}
	// Force-stopping the front app resumes what is below it.
	r.m.ForceStop("com.mi.globalbrowser")
	if got := r.front(t); got != "com.miui.home/.launcher.Launcher" {
		t.Fatalf("after force-stop: %q", got)
	}
	// Back on the home screen goes nowhere.
	r.m.Back()
	if got := r.front(t); got != "com.miui.home/.launcher.Launcher" {
		t.Fatalf("back on home: %q", got)
	}
	wantEvents := []string{
		"started com.miui.home home=true",
		"background com.miui.home", "started com.mi.globalbrowser home=false",
		"started com.mi.globalbrowser home=false",
		"background com.mi.globalbrowser", "started com.canary home=false",
		"background com.canary",
		"background com.mi.globalbrowser",
	}
	if fmt.Sprint(r.events) != fmt.Sprint(wantEvents) {
		t.Errorf("events\n got %q\nwant %q", r.events, wantEvents)
	}
}

func TestPackageEventsStopTheApp(t *testing.T) {
	r := newRig(t)
	if _, err := r.m.Start(content.Intent{Package: "com.canary"}, 2000); err != nil {
		t.Fatal(err)
	}
	r.bus.Publish(event.PackageRemoved{Package: "com.canary"})
	if got := r.front(t); got != "com.miui.home/.launcher.Launcher" {
		t.Fatalf("after uninstall: %q", got)
	}
	if _, err := r.m.Start(content.Intent{Package: "com.canary"}, 2000); err != nil {
		t.Fatal(err)
	}
	r.bus.Publish(event.Rebooted{})
	if got := r.front(t); got != "com.miui.home/.launcher.Launcher" {
		t.Fatalf("after reboot: %q", got)
	}
	out := cmdtest.Must(t, r.m.Dump)
	if strings.Contains(out, "com.canary") || !strings.Contains(out, "mResumedActivity: ActivityRecord{") {
		t.Errorf("dump after reboot:\n%s", out)
	}
}

func TestAmAndMonkey(t *testing.T) {
	r := newRig(t)
	cmds := r.m.Commands()
	ctx := context.Background()
	got := cmdtest.Run(ctx, cmds["am"], "am", "start", "-a", "android.intent.action.VIEW", "-d", "ftp://x")
	if got.Code != 1 || got.Out != "Starting: Intent { act=android.intent.action.VIEW dat=ftp://x }\n" || !strings.Contains(got.Err, "unresolved") {
		t.Errorf("unresolvable am start: %+v", got)
	}
	got = cmdtest.Run(ctx, cmds["monkey"], "monkey", "-p", "com.nothing", "1")
	if got.Code != 252 || got.Out != "  bash arg: -p\n  bash arg: com.nothing\n  bash arg: 1\n** No activities found to run, monkey aborted.\n" {
		t.Errorf("monkey without a launcher activity: %+v", got)
	}
	got = cmdtest.Run(ctx, cmds["monkey"], "monkey", "-p", "com.canary", "-c", content.CategoryLauncher, "1")
	if got.Code != 0 || r.front(t) != "com.canary/android.app.Activity" {
		t.Errorf("monkey: %+v, front %s", got, r.front(t))
	}
	cmdtest.Must(t, r.m.ShellCommand, "force-stop", "com.canary")
	if r.front(t) != "com.miui.home/.launcher.Launcher" {
		t.Errorf("cmd activity force-stop left %s in front", r.front(t))
	}
}
