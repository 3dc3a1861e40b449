package logd_test

import (
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/internal/cmdtest"
	"telltale.dev/devices/sim/system/logd"
)

func TestLogcatOnThePhonesClock(t *testing.T) {
	clk := clock.NewFake(time.Date(2020, 4, 30, 9, 15, 0, 0, time.UTC))
	l := logd.New(clk)
	l.Printf("I", "Tag", "first %d", 1)
	clk.Advance(1500 * time.Millisecond)
	for i := range 2100 {
		l.Printf("W", "Flood", "line %d", i)
	}
	logcat := l.Commands()["logcat"]
	out := cmdtest.Must(t, logcat, "logcat", "-d")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if lines[0] != "--------- beginning of main" || len(lines) != 2001 {
		t.Fatalf("%d lines, first %q", len(lines), lines[0])
	}
	if lines[1] != "04-30 09:15:01.500  1000  1000 W Flood: line 100" {
		t.Errorf("oldest kept line %q", lines[1])
	}
	cmdtest.Must(t, logcat, "logcat", "-c")
	if out := cmdtest.Must(t, logcat, "logcat", "-d"); out != "--------- beginning of main\n" {
		t.Errorf("after -c: %q", out)
	}
}
