package handler_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/sdk/handler"
)

var start = time.Date(2020, 4, 30, 12, 0, 0, 0, time.UTC)

type log struct {
	mu  sync.Mutex
	got []string
}

func (l *log) add(s string) {
	l.mu.Lock()
	l.got = append(l.got, s)
	l.mu.Unlock()
}

func (l *log) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.got
	l.got = nil
	return out
}

func idle(t *testing.T, h *handler.Handler) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Idle(ctx); err != nil {
		t.Fatal(err)
	}
}

// Delayed messages run at their own time on the fake clock, in deadline
// order, inside Advance; Has and Next see them until they run.
func TestDelayedMessagesRunAtTheirTime(t *testing.T) {
	clk := clock.NewFake(start)
	h := handler.New(clk)
	var l log
	at := func(name string) func() { return func() { l.add(name + "@" + clk.Since(start).String()) } }
	h.PostDelayed(3, 15*time.Second, at("flush"))
	h.PostDelayed(0, 30*time.Second, at("appEnd"))
	if !h.Has(3) || h.Has(7) {
		t.Fatal("Has does not see the waiting messages")
	}
	if next, ok := h.Next(0, 3); !ok || !next.Equal(start.Add(15*time.Second)) {
		t.Fatalf("Next = %v %v", next, ok)
	}
	clk.Advance(14 * time.Second)
	if got := l.take(); len(got) != 0 {
		t.Fatalf("ran early: %v", got)
	}
	clk.Advance(20 * time.Second)
	if got := l.take(); !slices.Equal(got, []string{"flush@15s", "appEnd@30s"}) {
		t.Fatalf("ran %v", got)
	}
	if h.Has(3) || h.Has(0) {
		t.Error("messages that ran are still waiting")
	}
	if _, ok := h.Next(0, 3); ok {
		t.Error("Next reports a message after all ran")
	}
}

// Remove withdraws a message before its time, RemoveAll every one (a
// process dying), and a closed handler takes no more.
func TestRemoveAndClose(t *testing.T) {
	clk := clock.NewFake(start)
	h := handler.New(clk)
	var l log
	h.PostDelayed(1, time.Second, func() { l.add("one") })
	h.PostDelayed(2, time.Second, func() { l.add("two") })
	h.Remove(1)
	clk.Advance(time.Second)
	if got := l.take(); !slices.Equal(got, []string{"two"}) {
		t.Fatalf("after Remove(1): %v", got)
	}
	h.PostDelayed(1, time.Second, func() { l.add("one") })
	h.PostDelayed(2, time.Minute, func() { l.add("two") })
	h.RemoveAll()
	clk.Advance(time.Hour)
	if got := l.take(); len(got) != 0 || clk.Pending() != 0 {
		t.Fatalf("after RemoveAll: ran %v, %d timers left", got, clk.Pending())
	}
	h.Close()
	h.Post(1, func() { l.add("late") })
	h.PostDelayed(1, time.Second, func() { l.add("late") })
	clk.Advance(time.Minute)
	idle(t, h)
	if got := l.take(); len(got) != 0 {
		t.Fatalf("a closed handler ran %v", got)
	}
}

// Messages posted to run now run one at a time, in order, and Idle waits
// for them; one withdrawn before its turn does not run.
func TestPostRunsOneAtATime(t *testing.T) {
	h := handler.New(clock.NewFake(start))
	var l log
	release := make(chan struct{})
	h.Post(1, func() { <-release; l.add("first") })
	// The first holds the handler: the second waits its turn, and can be
	// withdrawn meanwhile.
	h.Post(2, func() { l.add("second") })
	h.Post(3, func() { l.add("third") })
	h.Remove(2)
	close(release)
	idle(t, h)
	if got := l.take(); !slices.Equal(got, []string{"first", "third"}) {
		t.Fatalf("ran %v", got)
	}
}
