package actions_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/actions"
	"telltale.dev/harness/leak"
	"telltale.dev/harness/session"
	"telltale.dev/harness/session/sessiontest"
)

func chains(r *actions.Result) []string {
	var out []string
	for _, f := range r.Report.Findings {
		var steps []string
		for _, s := range f.Chain {
			name, _, _ := strings.Cut(s, ":$")
			steps = append(steps, name)
		}
		out = append(out, f.Host+" "+strings.Join(steps, " > "))
	}
	return out
}

func hasFinding(r *actions.Result, c canary.Canary, want string) bool {
	for i, f := range r.Report.Findings {
		if f.Canary == c.ID && chains(r)[i] == want {
			return true
		}
	}
	return false
}

// TestActionsOnLeakyRedmi drives the actions on a simulated Redmi Note 8 on
// the leaky firmware through the real adb server and the proxy, and checks
// each window's findings (chain and host as behaviour.md says) and the
// device state each action changed.
func TestActionsOnLeakyRedmi(t *testing.T) {
	r := sessiontest.New(t, "redmi-note-8", "V11.0.3.0")
	s := r.Open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := actions.Baseline(ctx, s); err != nil {
		t.Fatal(err)
	}
	gen := canary.NewGenerator(42)
	sa := "sa.api.intl.miui.com form:data_list > base64 > gzip > json"
	ot := "tracking.intl.miui.com onetrack-aes > gzip > json"

	url := gen.URL("u")
	res, err := actions.BrowseIncognito(ctx, s, url)
	if err != nil || !hasFinding(res, url, sa) {
		t.Errorf("browse-incognito: %v, findings %v", err, chains(res))
	}
	if res.Overhead() <= 0 || res.Overhead() > 5*time.Second || res.Settle != s.Settle() {
		t.Errorf("browse-incognito: overhead %s, settle %s", res.Overhead(), res.Settle)
	}
	phrase := gen.Search("q")
	if res, err = actions.Search(ctx, s, phrase); err != nil || !hasFinding(res, phrase, sa) {
		t.Errorf("search: %v, findings %v", err, chains(res))
	}
	folder := gen.Folder("f")
	if res, err = actions.CreateFolder(ctx, s, folder); err != nil || !hasFinding(res, folder, sa) {
		t.Errorf("create-folder: %v, findings %v", err, chains(res))
	}
	if got := r.Shell(t, "ls /sdcard"); !strings.Contains(got, folder.Value) {
		t.Errorf("folder %s not on the device: %s", folder.Value, got)
	}
	v := gen.SettingValue("v")
	if res, err = actions.ChangeSetting(ctx, s, "system", "screen_brightness", v); err != nil || !hasFinding(res, v, sa) {
		t.Errorf("change-setting: %v, findings %v", err, chains(res))
	}
	if got := r.Shell(t, "settings get system screen_brightness"); got != v.Value {
		t.Errorf("screen_brightness %q, want %q", got, v.Value)
	}
	level := gen.Number("n")
	if res, err = actions.Charge(ctx, s, "ac", level); err != nil || !hasFinding(res, level, ot) {
		t.Errorf("charge: %v, findings %v", err, chains(res))
	}
	if res, err = actions.Unplug(ctx, s); err != nil || len(res.Report.Findings) != 0 {
		t.Errorf("unplug: %v, findings %v", err, chains(res))
	}
	if got := r.Shell(t, "dumpsys battery"); !strings.Contains(got, "AC powered: false") {
		t.Errorf("still plugged in after Unplug:\n%s", got)
	}
	pkg := gen.Package("p")
	if res, err = actions.InstallApp(ctx, s, pkg); err != nil || !hasFinding(res, pkg, "api.sec.intl.miui.com gzip > json") {
		t.Errorf("install-app: %v, findings %v", err, chains(res))
	}
	if res, err = actions.OpenApp(ctx, s, pkg); err != nil || !hasFinding(res, pkg, ot) {
		t.Errorf("open-app: %v, findings %v", err, chains(res))
	}
	ssid := gen.SSID("w")
	if res, err = actions.ConnectWifi(ctx, s, ssid, 50); err != nil || len(res.Report.Findings) != 0 {
		t.Errorf("connect-wifi on V11 must not leak the SSID: %v, findings %v", err, chains(res))
	}
	if got := r.Shell(t, "cmd wifi status"); !strings.Contains(got, ssid.Value) {
		t.Errorf("not connected to %s: %s", ssid.Value, got)
	}
	if res, err = actions.LockScreen(ctx, s); err != nil || !contains(res.Diff, "data.mistat.intl.xiaomi.com") {
		t.Errorf("lock-screen: %v, diff %+v", err, res.Diff)
	}
	// The session's Close (test cleanup) must now put all of it back.
}

func contains(d leak.Diff, host string) bool {
	for _, h := range d.Hosts {
		if h == host {
			return true
		}
	}
	return false
}

// TestDeviceLostMidAction: the phone drops off the adb server during an
// action's settle window. The action returns ErrDeviceLost at once instead
// of waiting out the window or a call deadline.
func TestDeviceLostMidAction(t *testing.T) {
	r := sessiontest.New(t, "redmi-note-8", "V11.0.3.0")
	cfg := r.Config(t)
	cfg.Settle = 20 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := session.Open(ctx, r.Lease, cfg)
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(time.Second, func() { r.Phone.Close() })
	start := time.Now()
	_, err = actions.BrowseIncognito(ctx, s, canary.NewGenerator(1).URL("u"))
	if !errors.Is(err, session.ErrDeviceLost) {
		t.Fatalf("error %v, want ErrDeviceLost", err)
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("took %s to notice the lost device", d)
	}
	if s.Lost() == nil {
		t.Error("session does not report the loss")
	}
	// Close cannot restore a gone phone; it must say so and how to finish.
	if err := s.Close(ctx); !errors.Is(err, session.ErrDeviceLost) || !strings.Contains(err.Error(), "telltale restore") {
		t.Errorf("Close on a lost device: %v", err)
	}
}
