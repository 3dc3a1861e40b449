package sim

import (
	"context"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/sim/clock"
)

// TestPhoneRunsOnItsClock runs a phone on a fake clock: logcat stamps the
// phone's time and sleep waits for it, with no real waiting.
func TestPhoneRunsOnItsClock(t *testing.T) {
	prof := loadProfile(t, "redmi-note-8")
	clk := clock.NewFake(time.Date(2020, 4, 30, 23, 59, 58, 0, time.UTC))
	p, err := build(prof, &prof.Firmware[0], Config{Seed: "clock", Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan result, 1)
	go func() {
		o, e, code := p.Run(context.Background(), "sleep 5; input keyevent 26")
		done <- result{o, e, code}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := clk.WaitTimers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(5 * time.Second)
	select {
	case r := <-done:
		if r.code != 0 {
			t.Fatalf("sleep: %+v", r)
		}
	case <-ctx.Done():
		t.Fatal("sleep 5 did not end when the phone's clock moved 5s")
	}
	if log := must(t, p, "logcat -d"); !strings.Contains(log, "05-01 00:00:03.000  1000  1000 I PowerManagerService: Going to sleep") {
		t.Errorf("logcat is not on the phone's clock:\n%s", log)
	}
}
