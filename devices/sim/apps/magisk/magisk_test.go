package magisk_test

import (
	"context"
	"testing"
	"time"

	"telltale.dev/devices/sim/apps/magisk"
	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/ui"
)

var screen = ui.R(0, 0, 1080, 2340)

// find is the node with resource id id in the prompt's window.
func find(t *testing.T, p *magisk.Prompt, id string) *ui.Node {
	t.Helper()
	ws := p.Windows()
	if len(ws) != 1 {
		t.Fatalf("%d prompt windows, want 1", len(ws))
	}
	if ws[0].Title != "com.topjohnwu.magisk/com.topjohnwu.magisk.ui.surequest.SuRequestActivity" {
		t.Errorf("window title %q", ws[0].Title)
	}
	var found *ui.Node
	ws[0].Content(screen).Walk(func(n *ui.Node) bool {
		if n.ResourceID == "com.topjohnwu.magisk:id/"+id {
			found = n
		}
		return found == nil
	})
	if found == nil {
		t.Fatalf("no %s in the prompt", id)
	}
	return found
}

// ask starts a request and waits until the prompt's countdown is armed.
func ask(t *testing.T, clk *clock.Fake, p *magisk.Prompt) <-chan bool {
	t.Helper()
	got := make(chan bool, 1)
	go func() {
		grant, err := p.AskSu(context.Background(), "Shell", "com.android.shell")
		if err != nil {
			t.Error(err)
		}
		got <- grant
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := clk.WaitTimers(ctx, 1); err != nil {
		t.Fatal("the prompt never came up:", err)
	}
	return got
}

func TestGrantIsDisabledTheFirstSecondThenGrants(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	p := magisk.New(clk)
	got := ask(t, clk, p)
	grant, deny := find(t, p, "grant_btn"), find(t, p, "deny_btn")
	if !grant.Disabled || grant.Text != "Grant" || deny.Text != "Deny (10)" || find(t, p, "timeout").Children[0].Text != "Forever" {
		t.Errorf("at first: grant %+v, deny %q", grant, deny.Text)
	}
	clk.Advance(999 * time.Millisecond)
	if !find(t, p, "grant_btn").Disabled {
		t.Error("Grant enabled before a second passed")
	}
	clk.Advance(time.Millisecond)
	grant = find(t, p, "grant_btn")
	if grant.Disabled || find(t, p, "deny_btn").Text != "Deny (9)" {
		t.Errorf("after a second: grant disabled %v, deny %q", grant.Disabled, find(t, p, "deny_btn").Text)
	}
	grant.OnClick()
	if !<-got {
		t.Error("Grant denied")
	}
	if p.Showing() || len(p.Windows()) != 0 {
		t.Error("the prompt stayed up after Grant")
	}
}

func TestTimeoutAndBackDeny(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	p := magisk.New(clk)
	got := ask(t, clk, p)
	clk.Advance(9 * time.Second)
	if d := find(t, p, "deny_btn").Text; d != "Deny (1)" {
		t.Errorf("after 9 s: %q", d)
	}
	clk.Advance(time.Second)
	if <-got {
		t.Error("a timed-out prompt granted")
	}
	got = ask(t, clk, p)
	p.Windows()[0].Key(4)
	if <-got {
		t.Error("BACK granted")
	}
}
