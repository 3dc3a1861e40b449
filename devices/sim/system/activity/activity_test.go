package activity_test

import (
	"context"
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
	"telltale.dev/devices/sim/system/packages"
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
	case in.Component == content.ComponentName{Package: "com.canary", Class: "com.canary.Gone"}:
		return content.ComponentName{}, &packages.NoActivityError{Component: in.Component}
	case !in.Component.IsZero():
		return in.Component, nil
	case in.HasCategory(content.CategoryHome):
		return home, nil
	case in.Package == "com.canary":
		return app, nil
	case in.Scheme() == "https":
		return browser, nil
	}
	return content.ComponentName{}, &packages.UnresolvedError{Intent: in}
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
	got := cmdtest.Run(ctx, cmds["monkey"], "monkey", "-p", "com.nothing", "1")
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

// TestAmStartSaysWhatHappened: am start exits 0 whatever became of the
// start; the error or warning goes to stderr, or with -W to stdout with the
// wait result.
func TestAmStartSaysWhatHappened(t *testing.T) {
	r := newRig(t)
	am := r.m.Commands()["am"]
	ctx := context.Background()
	const starting = "Starting: Intent { cmp=com.canary/android.app.Activity }\n"
	for _, c := range []struct {
		args     []string
		out, err string
	}{
		{[]string{"-a", "android.intent.action.VIEW", "-d", "ftp://x"}, "Starting: Intent { act=android.intent.action.VIEW dat=ftp://x }\n",
			"Error: Activity not started, unable to resolve Intent { act=android.intent.action.VIEW dat=ftp://x flg=0x10000000 }\n"},
		{[]string{"-W", "-n", "com.canary/.Gone"}, "Starting: Intent { cmp=com.canary/.Gone }\n" +
			"Error type 3\nError: Activity class {com.canary/com.canary.Gone} does not exist.\n", ""},
		{[]string{"-W", "-n", "com.canary/android.app.Activity"}, starting +
			"Status: ok\nLaunchState: COLD\nActivity: com.canary/android.app.Activity\nTotalTime: 412\nWaitTime: 415\nComplete\n", ""},
		{[]string{"-n", "com.canary/android.app.Activity"}, starting,
			"Warning: Activity not started, intent has been delivered to currently running top-most instance.\n"},
		{[]string{"-W", "-n", home.String()}, "Starting: Intent { cmp=com.miui.home/.launcher.Launcher }\n" +
			"Warning: Activity not started, its current task has been brought to the front\n" +
			"Status: ok\nLaunchState: HOT\nActivity: com.miui.home/.launcher.Launcher\nTotalTime: 54\nWaitTime: 57\nComplete\n", ""},
	} {
		got := cmdtest.Run(ctx, am, append([]string{"am", "start"}, c.args...)...)
		if got.Code != 0 || got.Out != c.out || got.Err != c.err {
			t.Errorf("am start %v:\n%+v\nwant (%q, %q)", c.args, got, c.out, c.err)
		}
	}
	got := cmdtest.Run(ctx, am, "am", "start", "-n")
	if got.Code != 255 || !strings.HasPrefix(got.Err, "\nException occurred while executing:\njava.lang.IllegalArgumentException: Argument expected after \"-n\"\n") {
		t.Errorf("am start with a bad option: %+v", got)
	}
}

// keyguard is a lock screen the test puts up and takes down.
type keyguard struct{ up bool }

func (k *keyguard) Showing() bool { return k.up }

// Sleep stops the front activity without taking it from the front; it
// starts again once the display is on and the keyguard gone. Force-stop
// kills a package's processes whether it has a task or not.
func TestSleepAndForceStopLifecycle(t *testing.T) {
	bus := &event.Bus{}
	var got []string
	bus.Subscribe(func(ev event.Event) {
		switch e := ev.(type) {
		case event.ActivityStopped:
			got = append(got, "stopped "+e.Package)
		case event.ActivityRestarted:
			got = append(got, "restarted "+e.Package)
		case event.PackageRestarted:
			got = append(got, "killed "+e.Package)
		}
	})
	kg := &keyguard{}
	m := activity.New(activity.Config{Bus: bus, Log: logd.New(clock.Real()), Resolver: resolver{}, Keyguard: kg})
	m.Attach(&host{})
	m.Boot()
	if _, err := m.Start(content.Intent{Package: "com.canary"}, 2000); err != nil {
		t.Fatal(err)
	}
	sleep := func(on bool) {
		kg.up = kg.up || !on // the keyguard shows as the display sleeps
		bus.Publish(event.ScreenChanged{On: on})
	}
	sleep(false)
	sleep(true) // KEYCODE_WAKEUP: behind the keyguard, still stopped
	kg.up = false
	bus.Publish(event.KeyguardDismissed{})
	sleep(false)
	kg.up = false
	bus.Publish(event.KeyguardDismissed{}) // dismissed while asleep: starts when the display is on
	sleep(true)
	m.ForceStop("com.canary")
	m.ForceStop("com.mi.globalbrowser") // no task: its process dies all the same
	want := []string{"stopped com.canary", "restarted com.canary", "stopped com.canary", "restarted com.canary",
		"killed com.canary", "killed com.mi.globalbrowser"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events\n got %q\nwant %q", got, want)
	}
}
