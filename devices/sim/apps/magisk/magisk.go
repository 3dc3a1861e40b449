// Package magisk is the Magisk app as far as the phone's screen goes: its
// manifest, and SuRequestActivity, the prompt MagiskSU shows when an app
// (here the adb shell) asks for root with no stored answer. Texts, ids and
// timing follow topjohnwu/Magisk v23.0 (reference/miui-ui.md section 6).
package magisk

import (
	"context"
	"fmt"
	"time"

	"telltale.dev/devices/sim/apps/dialog"
	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/ui"
)

// Package is the Magisk app's package name (not hidden or repackaged).
const Package = "com.topjohnwu.magisk"

// requestActivity is SuRequestActivity's class (Magisk app
// ui/surequest/SuRequestActivity.kt).
const requestActivity = Package + ".ui.surequest.SuRequestActivity"

// Manifest is what the Magisk app declares: its launcher activity (class
// name modeled) and the request activity.
var Manifest = content.Manifest{Package: Package, Label: "Magisk", VersionName: "23.0", VersionCode: 23000,
	Activities: []content.ActivityInfo{
		{Name: Package + ".ui.MainActivity", Filters: []content.Filter{content.Launcher}},
		{Name: requestActivity},
	}}

// countdown is SuRequestViewModel's timer: Config.suDefaultTimeout is 10
// s, the deny button reads "Deny (N)" with N = remaining seconds + 1, so
// 10 first, one less each second, and the request is denied when it ends.
var countdown = dialog.Countdown{From: 10, FirstTick: time.Second, Tick: time.Second}

// grantDelay keeps Grant disabled at first, against tapjacking
// (SuRequestViewModel grantEnabled).
const grantDelay = time.Second

// request is who asks for root.
type request struct{ label, pkg string }

// Prompt is SuRequestActivity on the screen.
type Prompt struct{ d *dialog.Dialog[request] }

// dialogLayer puts the prompt above app windows (modeled: a newly started
// activity is on top).
const dialogLayer = 3

// New returns the prompt, counting down on clk.
func New(clk clock.Clock) *Prompt {
	win := dialog.Window{Package: Package, Title: Package + "/" + requestActivity, Layer: dialogLayer}
	return &Prompt{d: dialog.New(clk, countdown, win, draw)}
}

// AskSu shows the prompt for the app label (package pkg) and waits for
// Grant (true), Deny, BACK or the countdown's end (false), or ctx.
func (p *Prompt) AskSu(ctx context.Context, label, pkg string) (bool, error) {
	return p.d.Ask(ctx, request{label: label, pkg: pkg})
}

// Showing says whether the prompt is on the screen.
func (p *Prompt) Showing() bool { return p.d.Showing() }

// Windows is the prompt's window while it asks (window.Source).
func (p *Prompt) Windows() []*ui.Window { return p.d.Windows() }

// Strings of the Magisk app (app/src/main/res/values/strings.xml) and the
// first entry of its allow_timeout array.
const (
	titleText   = "Superuser Request"
	warningText = "Grants full access to your device.\nDeny if you're not sure!"
	grantText   = "Grant"
	denyText    = "Deny"
	foreverText = "Forever"
)

// draw lays out activity_request.xml: a card with the title, the
// requester's icon, name and package, the scope spinner (id timeout), the
// warning, and the deny_btn/grant_btn pair. Ids other than timeout,
// deny_btn and grant_btn, and all positions, are modeled.
func draw(v dialog.View[request], b ui.Rect) *ui.Node {
	l := dialog.Layout{Package: Package, Screen: b}
	s := l.Px
	id := func(name string) string { return Package + ":id/" + name }
	left, right := b.Left+s(60), b.Right-s(60)
	top := b.Top + b.Height()/2 - s(520)
	row := func(i, h int) ui.Rect { return ui.R(left+s(48), top+s(i), right-s(48), top+s(i+h)) }

	spinner := l.Node("android.widget.Spinner", id("timeout"), row(460, 140),
		l.Text("android.widget.TextView", "android:id/text1", foreverText, row(460, 140)))
	spinner.Clickable, spinner.Focusable = true, true

	buttons := ui.R(left, top+s(900), right, top+s(1040))
	mid := (buttons.Left + buttons.Right) / 2
	deny := l.Button(id("deny_btn"), fmt.Sprintf("%s (%d)", denyText, v.Left), ui.R(buttons.Left, buttons.Top, mid, buttons.Bottom),
		func() { v.Answer(false) })
	grant := l.Button(id("grant_btn"), grantText, ui.R(mid, buttons.Top, buttons.Right, buttons.Bottom), func() { v.Answer(true) })
	grant.Disabled = v.Elapsed < grantDelay

	return l.Node("android.widget.FrameLayout", "", b,
		l.Node("android.widget.LinearLayout", "", ui.R(left, top, right, top+s(1040)),
			l.Text("android.widget.TextView", "", titleText, row(40, 120)),
			l.Node("android.widget.ImageView", "", ui.R(left+s(48), top+s(200), left+s(208), top+s(360))),
			l.Text("android.widget.TextView", "", v.Question.label, ui.R(left+s(240), top+s(200), right-s(48), top+s(280))),
			l.Text("android.widget.TextView", "", v.Question.pkg, ui.R(left+s(240), top+s(280), right-s(48), top+s(360))),
			spinner,
			l.Text("android.widget.TextView", "", warningText, row(640, 200)),
			l.Node("android.widget.LinearLayout", "", buttons, deny, grant)))
}
