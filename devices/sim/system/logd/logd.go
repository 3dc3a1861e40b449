// Package logd is the phone's log buffer: services write lines to it and
// logcat reads them back.
package logd

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/shell"
)

// capacity is how many lines the buffer keeps; older lines fall off, as
// logd's ring buffers do (modeled by count, where logd counts bytes).
const capacity = 2000

// Log is the main log buffer.
type Log struct {
	clock clock.Clock

	mu    sync.Mutex
	lines []string
}

// New returns an empty buffer that stamps lines with clk.
func New(clk clock.Clock) *Log { return &Log{clock: clk} }

// Printf appends a line in logcat's threadtime form; prio is V, D, I, W or E.
// Every line is from system_server (pid and tid 1000): modeled.
func (l *Log) Printf(prio, tag, format string, args ...any) {
	line := fmt.Sprintf("%s  1000  1000 %s %s: %s", l.clock.Now().Format("01-02 15:04:05.000"), prio, tag,
		fmt.Sprintf(format, args...))
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
	if len(l.lines) > capacity {
		l.lines = slices.Delete(l.lines, 0, len(l.lines)-capacity)
	}
}

// Commands is logcat.
func (l *Log) Commands() map[string]shell.Func { return map[string]shell.Func{"logcat": l.logcat} }

// logcat prints the buffer and exits (-d is implied: the simulated logcat
// does not follow); -c clears it.
func (l *Log) logcat(_ context.Context, sio shell.IO, args []string) int {
	clear := slices.ContainsFunc(args[1:], func(a string) bool {
		return len(a) > 1 && a[0] == '-' && a[1] != '-' && slices.Contains([]byte(a[1:]), 'c')
	})
	l.mu.Lock()
	lines := slices.Clone(l.lines)
	if clear {
		l.lines = nil
	}
	l.mu.Unlock()
	if clear {
		return 0
	}
	fmt.Fprintln(sio.Stdout, "--------- beginning of main")
	for _, line := range lines {
		fmt.Fprintln(sio.Stdout, line)
	}
	return 0
}
