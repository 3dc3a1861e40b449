package settings

import (
	"fmt"
	"sync"
	"time"

	"telltale.dev/devices/sim/app"
	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/ui"
	"telltale.dev/devices/sim/ui/widget"
)

// Security's activity that guards "USB debugging (Security settings)".
const (
	securityPackage  = "com.miui.securitycenter"
	AdbInputActivity = "com.miui.permcenter.install.AdbInputApplyActivity"
)

// developerRows is MIUI's Developer options as far as adb users meet it:
// "USB debugging" (global:adb_enabled), "Install via USB" and "USB
// debugging (Security settings)" with their summaries (XEU strings,
// miui-ui.md section 5). Turning "Install via USB" on or either toggle off
// goes straight to the security service, which may refuse (no Mi Account,
// say); turning "USB debugging (Security settings)" on opens Security's
// three-step warning first.
func (s *screen) developerRows(t func(string) string) []widget.Row {
	adb, _ := s.env.Settings.Setting("global", "adb_enabled")
	usb := adb == "1"
	sec := s.env.Security
	install, input := sec.AdbInstall(), sec.AdbInput()
	toggle := func(set func(bool) error, to bool) func() {
		return func() {
			if err := set(to); err != nil {
				s.fail(err)
			}
		}
	}
	turnInput := toggle(sec.SetAdbInput, false)
	if !input {
		turnInput = s.startAdbInputApply
	}
	return []widget.Row{
		{Title: t("usb_debugging"), Switch: &usb, OnClick: func() { s.put("global", "adb_enabled", flag(!usb)) }},
		{Title: t("usb_install"), Summary: t("usb_install_desc"), Switch: &install, OnClick: toggle(sec.SetAdbInstall, !install)},
		{Title: t("usb_input"), Summary: t("usb_input_desc"), Switch: &input, OnClick: turnInput},
	}
}

func (s *screen) startAdbInputApply() {
	in := content.Intent{Component: content.ComponentName{Package: securityPackage, Class: AdbInputActivity}}
	if _, err := s.env.Activities.Start(in, s.env.UID); err != nil {
		s.fail(err)
	}
}

// adbInputApply is Security's AdbInputApplyActivity as a decompiled copy
// shows it (code-index id 41034646402; texts from XEU SecurityCenter,
// miui-ui.md section 5): a full-screen warning (warning_info) in three
// steps, each holding its "accept" button disabled for five seconds while
// it counts down ("Next step (5)" ... then "Next", and "Accept (5)" ...
// "Accept" on the last); "reject" turns the toggle off and leaves; BACK is
// ignored. Accepting the last step turns the toggle on through the
// security service (the real activity first verifies the Mi Account, which
// is the service's call here). The countdown reads the phone's clock.
type adbInputApply struct {
	env app.Env

	mu    sync.Mutex
	step  int
	since time.Time
	err   string
}

// NewAdbInputApply is the warning activity of env's package (Security).
func NewAdbInputApply(env app.Env) app.Activity {
	return &adbInputApply{env: env, step: 1, since: env.Clock.Now()}
}

var adbInputSteps = [...]string{
	"This might lead to leaks and loss of private information. We don't recommend doing this unless you're a developer.",
	"Developers can use special software to imitate gestures, change settings, and grant permissions via USB.",
	"Allow now?",
}

const stepWait = 5 * time.Second

func (a *adbInputApply) OnIntent(content.Intent) {}

// Key swallows BACK (onBackPressed does nothing).
func (a *adbInputApply) Key(code int) bool { return code == widget.KeyBack }

func (a *adbInputApply) Screen(r ui.Rect) *ui.Node {
	k := widget.For(a.env.Package, r)
	a.mu.Lock()
	step, left, fault := a.step, stepWait-a.env.Clock.Since(a.since), a.err
	a.mu.Unlock()
	secs := int((left + time.Second - 1) / time.Second)
	// button_text_next_step_timer, button_text_next_step,
	// button_text_accept_timer, button_text_accept.
	counting, done := "Next step (%d)", "Next"
	if step == len(adbInputSteps) {
		counting, done = "Accept (%d)", "Accept"
	}
	label := done
	if secs > 0 {
		label = fmt.Sprintf(counting, secs)
	}
	top := r.Top + k.StatusBar()
	buttons := ui.R(r.Left+k.Dp(24), r.Bottom-k.Dp(96), r.Right-k.Dp(24), r.Bottom-k.Dp(40))
	half := buttons.Width() / 2
	accept := k.Button("accept", label, "", ui.R(buttons.Left+half+k.Dp(8), buttons.Top, buttons.Right, buttons.Bottom), a.accept)
	accept.Disabled = secs > 0
	views := []*ui.Node{
		k.Label("warning_info", adbInputSteps[step-1], ui.R(r.Left+k.Dp(32), top+k.Dp(160), r.Right-k.Dp(32), top+k.Dp(300))),
		k.Linear("", buttons, k.Button("reject", "Reject", "", ui.R(buttons.Left, buttons.Top, buttons.Left+half-k.Dp(8), buttons.Bottom), a.reject), accept),
	}
	if fault != "" {
		views = append(views, k.Label("", fault, ui.R(r.Left+k.Dp(32), top+k.Dp(320), r.Right-k.Dp(32), top+k.Dp(360))))
	}
	return k.Decor(k.Linear("", r, views...))
}

func (a *adbInputApply) accept() {
	a.mu.Lock()
	if a.env.Clock.Since(a.since) < stepWait {
		a.mu.Unlock()
		return
	}
	if a.step < len(adbInputSteps) {
		a.step, a.since = a.step+1, a.env.Clock.Now()
		a.mu.Unlock()
		return
	}
	a.mu.Unlock()
	a.finishWith(a.env.Security.SetAdbInput(true))
}

func (a *adbInputApply) reject() { a.finishWith(a.env.Security.SetAdbInput(false)) }

// finishWith leaves, or stays saying why the toggle did not change.
func (a *adbInputApply) finishWith(err error) {
	if err != nil {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.err = err.Error()
		return
	}
	a.env.Activities.Back()
}

// flag is a boolean as settings store it.
func flag(on bool) string {
	if on {
		return "1"
	}
	return "0"
}
