// Package securitycenter is MIUI's Security app as far as adb installs go:
// AdbInstallActivity, the dialog MIUI shows for each new app installed over
// USB once "Install via USB" is on (reference/miui-ui.md section 5: texts
// from the xiaomi.eu SecurityCenter strings, buttons and countdown from the
// decompiled activity).
package securitycenter

import (
	"context"
	"fmt"
	"sync"
	"time"

	"telltale.dev/devices/sim/apps/dialog"
	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/ui"
)

// Package is the Security app.
const Package = "com.miui.securitycenter"

// installActivity is the dialog's activity (gkd-kit/subscription
// src/apps/com.miui.securitycenter.ts; the decompiled smali).
const installActivity = "com.miui.permcenter.install.AdbInstallActivity"

// countdown: the deny button's count starts at 10 and first drops after
// 1.6 s (smali: o = 0xa, delay 0x640), then once a second (modeled); at 0
// the dialog finishes with its default result, deny.
var countdown = dialog.Countdown{From: 10, FirstTick: 1600 * time.Millisecond, Tick: time.Second}

// dialogLayer puts the dialog above app windows (modeled, as
// apps/magisk's).
const dialogLayer = 3

// Strings of SecurityCenter.apk (XEU ginkgo res/values/strings.xml):
// install_title, usb_install_desc, pm_remember_choice, install,
// reject_countdown.
const (
	titleText    = "Install via USB"
	messageText  = "Install this app via USB?"
	rememberText = "Remember my choice"
	installText  = "Install"
	denyFormat   = "Deny (%d)"
)

// install is one question: which app, and whether "Remember my choice" is
// ticked.
type install struct {
	pkg, label string

	mu       sync.Mutex
	remember bool
}

func (in *install) toggle() {
	in.mu.Lock()
	in.remember = !in.remember
	in.mu.Unlock()
}

func (in *install) remembered() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.remember
}

// Installs is the dialog, with the choices the user asked it to remember.
type Installs struct {
	d *dialog.Dialog[*install]

	mu     sync.Mutex
	choice map[string]bool // package -> remembered answer
}

// New returns the dialog, counting down on clk.
func New(clk clock.Clock) *Installs {
	win := dialog.Window{Package: Package, Title: Package + "/" + installActivity, Layer: dialogLayer}
	return &Installs{d: dialog.New(clk, countdown, win, draw), choice: map[string]bool{}}
}

// ConfirmInstall asks whether to install pkg. A remembered choice answers
// at once, without the dialog (modeled from the smali's stored-decision
// path); otherwise the dialog waits for Install (true), Deny, BACK or the
// countdown's end (false), or ctx.
func (s *Installs) ConfirmInstall(ctx context.Context, pkg, label string) (bool, error) {
	s.mu.Lock()
	allow, ok := s.choice[pkg]
	s.mu.Unlock()
	if ok {
		return allow, nil
	}
	q := &install{pkg: pkg, label: label}
	allow, err := s.d.Ask(ctx, q)
	if err == nil && q.remembered() {
		s.mu.Lock()
		s.choice[pkg] = allow
		s.mu.Unlock()
	}
	return allow, err
}

// Showing says whether the dialog is on the screen.
func (s *Installs) Showing() bool { return s.d.Showing() }

// Windows is the dialog's window while it asks (window.Source).
func (s *Installs) Windows() []*ui.Window { return s.d.Windows() }

// draw lays out the miuix AlertDialog at the bottom of the screen: title,
// the app's icon and label, the message, the checkbox, and the two
// buttons. "Install" is the dialog's negative button (android:id/button2),
// "Deny (N)" its positive one (android:id/button1), as the auto-clickers
// and the Xposed hook in reference/miui-ui.md section 5 find them. The
// title, message and checkbox ids and all positions are modeled.
func draw(v dialog.View[*install], b ui.Rect) *ui.Node {
	l := dialog.Layout{Package: Package, Screen: b}
	s := l.Px
	left, right := b.Left+s(30), b.Right-s(30)
	top := b.Bottom - s(900)
	row := func(y, h int) ui.Rect { return ui.R(left+s(60), top+s(y), right-s(60), top+s(y+h)) }

	remember := l.Text("android.widget.CheckBox", "android:id/checkbox", rememberText, row(500, 110))
	remember.Checkable, remember.Checked, remember.Clickable, remember.Focusable = true, v.Question.remembered(), true, true
	remember.OnClick = v.Question.toggle

	buttons := row(680, 150)
	mid := (buttons.Left + buttons.Right) / 2
	allow := l.Button("android:id/button2", installText, ui.R(buttons.Left, buttons.Top, mid-s(15), buttons.Bottom), func() { v.Answer(true) })
	deny := l.Button("android:id/button1", fmt.Sprintf(denyFormat, v.Left), ui.R(mid+s(15), buttons.Top, buttons.Right, buttons.Bottom),
		func() { v.Answer(false) })

	return l.Node("android.widget.FrameLayout", "", b,
		l.Node("android.widget.LinearLayout", "", ui.R(left, top, right, b.Bottom-s(30)),
			l.Text("android.widget.TextView", "android:id/alertTitle", titleText, row(50, 100)),
			l.Node("android.widget.ImageView", "", ui.R(left+s(60), top+s(190), left+s(200), top+s(330))),
			l.Text("android.widget.TextView", "", v.Question.label, ui.R(left+s(230), top+s(220), right-s(60), top+s(300))),
			l.Text("android.widget.TextView", "android:id/message", messageText, row(370, 100)),
			remember,
			l.Node("android.widget.LinearLayout", "", buttons, allow, deny)))
}
