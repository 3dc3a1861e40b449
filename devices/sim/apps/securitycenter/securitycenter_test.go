package securitycenter_test

import (
	"context"
	"testing"
	"time"

	"telltale.dev/devices/sim/apps/securitycenter"
	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/ui"
)

var screen = ui.R(0, 0, 1080, 2340)

func find(t *testing.T, s *securitycenter.Installs, id string) *ui.Node {
	t.Helper()
	ws := s.Windows()
	if len(ws) != 1 || ws[0].Title != "com.miui.securitycenter/com.miui.permcenter.install.AdbInstallActivity" {
		t.Fatalf("dialog windows: %v", ws)
	}
	var found *ui.Node
	ws[0].Content(screen).Walk(func(n *ui.Node) bool {
		if n.ResourceID == id {
			found = n
		}
		return found == nil
	})
	if found == nil {
		t.Fatalf("no %s in the dialog", id)
	}
	return found
}

func ask(t *testing.T, clk *clock.Fake, s *securitycenter.Installs, pkg string) <-chan bool {
	t.Helper()
	got := make(chan bool, 1)
	go func() {
		allow, err := s.ConfirmInstall(context.Background(), pkg, "Canary")
		if err != nil {
			t.Error(err)
		}
		got <- allow
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := clk.WaitTimers(ctx, 1); err != nil {
		t.Fatal("the dialog never came up:", err)
	}
	return got
}

// TestCountdownDeniesByDefault: "Deny (10)" first, 9 after 1.6 s, one less
// each second, and at 0 the install is denied.
func TestCountdownDeniesByDefault(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	s := securitycenter.New(clk)
	got := ask(t, clk, s, "a.b")
	for _, step := range []struct {
		after time.Duration
		deny  string
	}{{0, "Deny (10)"}, {1599 * time.Millisecond, "Deny (10)"}, {time.Millisecond, "Deny (9)"}, {8 * time.Second, "Deny (1)"}} {
		clk.Advance(step.after)
		if d := find(t, s, "android:id/button1").Text; d != step.deny {
			t.Errorf("+%s: %q, want %q", step.after, d, step.deny)
		}
	}
	if find(t, s, "android:id/button2").Text != "Install" || find(t, s, "android:id/alertTitle").Text != "Install via USB" ||
		find(t, s, "android:id/message").Text != "Install this app via USB?" {
		t.Error("dialog texts")
	}
	clk.Advance(time.Second)
	if <-got {
		t.Error("a timed-out dialog allowed the install")
	}
	if s.Showing() {
		t.Error("the dialog stayed up")
	}
}

// TestInstallAndRememberedChoice: Install allows; with "Remember my
// choice" ticked the next install of the package is answered without the
// dialog.
func TestInstallAndRememberedChoice(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	s := securitycenter.New(clk)
	got := ask(t, clk, s, "a.b")
	find(t, s, "android:id/button2").OnClick()
	if !<-got {
		t.Fatal("Install denied")
	}
	got = ask(t, clk, s, "a.b")
	find(t, s, "android:id/checkbox").OnClick()
	if !find(t, s, "android:id/checkbox").Checked {
		t.Error("the checkbox did not tick")
	}
	find(t, s, "android:id/button1").OnClick()
	if <-got {
		t.Fatal("Deny allowed")
	}
	allow, err := s.ConfirmInstall(context.Background(), "a.b", "Canary")
	if allow || err != nil || s.Showing() {
		t.Errorf("remembered deny: %v %v, dialog up %v", allow, err, s.Showing())
	}
}
