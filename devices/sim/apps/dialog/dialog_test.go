package dialog_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"telltale.dev/devices/sim/apps/dialog"
	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/ui"
)

func TestCountdownLeft(t *testing.T) {
	c := dialog.Countdown{From: 3, FirstTick: 1500 * time.Millisecond, Tick: time.Second}
	for _, s := range []struct {
		at   time.Duration
		left int
	}{{0, 3}, {1499 * time.Millisecond, 3}, {1500 * time.Millisecond, 2}, {2500 * time.Millisecond, 1}, {3500 * time.Millisecond, 0}, {time.Hour, 0}} {
		if got := c.Left(s.at); got != s.left {
			t.Errorf("Left(%s) = %d, want %d", s.at, got, s.left)
		}
	}
	if c.Duration() != 3500*time.Millisecond {
		t.Errorf("Duration %s", c.Duration())
	}
}

// TestCallerGoingAwayTakesTheDialogDown: an Ask whose context ends leaves
// no window behind, and the next question gets the screen.
func TestCallerGoingAwayTakesTheDialogDown(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	d := dialog.New(clk, dialog.Countdown{From: 10, FirstTick: time.Second, Tick: time.Second},
		dialog.Window{Package: "p", Title: "p/.A", Layer: 3},
		func(v dialog.View[string], b ui.Rect) *ui.Node { return &ui.Node{Text: v.Question, Bounds: b} })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := d.Ask(ctx, "first"); done <- err }()
	wait, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	if err := clk.WaitTimers(wait, 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Ask after its caller left: %v", err)
	}
	if d.Showing() || clk.Pending() != 0 {
		t.Errorf("dialog up %v, %d timers pending", d.Showing(), clk.Pending())
	}
	got := make(chan bool, 1)
	go func() { yes, _ := d.Ask(context.Background(), "second"); got <- yes }()
	if err := clk.WaitTimers(wait, 1); err != nil {
		t.Fatal(err)
	}
	if text := d.Windows()[0].Content(ui.R(0, 0, 10, 10)).Text; text != "second" {
		t.Errorf("showing %q", text)
	}
	clk.Advance(10 * time.Second)
	if <-got {
		t.Error("timeout said yes")
	}
}
