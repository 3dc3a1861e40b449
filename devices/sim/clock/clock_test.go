package clock_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"telltale.dev/devices/sim/clock"
)

var start = time.Date(2020, 4, 30, 12, 0, 0, 0, time.UTC)

func TestFakeFiresInDeadlineOrder(t *testing.T) {
	f := clock.NewFake(start)
	var got []string
	f.AfterFunc(3*time.Second, func() { got = append(got, "c@"+f.Since(start).String()) })
	f.AfterFunc(time.Second, func() { got = append(got, "a@"+f.Since(start).String()) })
	f.AfterFunc(time.Second, func() { got = append(got, "b@"+f.Since(start).String()) })
	stopped := f.AfterFunc(2*time.Second, func() { got = append(got, "never") })
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop must report true once, then false")
	}
	f.Advance(2 * time.Second)
	if want := []string{"a@1s", "b@1s"}; !slices.Equal(got, want) {
		t.Fatalf("after 2s: %v, want %v", got, want)
	}
	f.Advance(time.Second)
	if want := []string{"a@1s", "b@1s", "c@3s"}; !slices.Equal(got, want) {
		t.Fatalf("after 3s: %v, want %v", got, want)
	}
	if f.Pending() != 0 || !f.Now().Equal(start.Add(3*time.Second)) {
		t.Fatalf("pending %d, now %v", f.Pending(), f.Now())
	}
}

func TestFakeTimerChannelAndReset(t *testing.T) {
	f := clock.NewFake(start)
	tm := f.NewTimer(10 * time.Second)
	f.Advance(9 * time.Second)
	select {
	case <-tm.C():
		t.Fatal("fired early")
	default:
	}
	if !tm.Reset(5 * time.Second) {
		t.Fatal("Reset of a pending timer must say it was pending")
	}
	f.Advance(4 * time.Second)
	select {
	case <-tm.C():
		t.Fatal("a reset timer fired at its old deadline")
	default:
	}
	f.Advance(time.Second)
	if at := <-tm.C(); !at.Equal(start.Add(14 * time.Second)) {
		t.Fatalf("fired at %v", at)
	}
}

// A goroutine that sleeps on the fake clock wakes exactly when the clock
// is advanced past its deadline; WaitTimers is the synchronisation.
func TestWaitTimersLetsASleeperBeWoken(t *testing.T) {
	f := clock.NewFake(start)
	var wg sync.WaitGroup
	woke := make(chan time.Time, 1)
	wg.Go(func() {
		tm := f.NewTimer(time.Minute)
		woke <- <-tm.C()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.WaitTimers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	f.Advance(time.Minute)
	wg.Wait()
	if at := <-woke; !at.Equal(start.Add(time.Minute)) {
		t.Fatalf("woke at %v", at)
	}
}

func TestRealClockFires(t *testing.T) {
	c := clock.Real()
	done := make(chan struct{})
	c.AfterFunc(time.Millisecond, func() { close(done) })
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the real clock's AfterFunc never fired")
	}
}
