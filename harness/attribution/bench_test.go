package attribution

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/capture"
)

// BenchmarkWindow is the harness's cost of one action window (marks, the
// planted record, reading the window's flows, decoding them once, the
// plan's checks, the window's report, places and differential view) when
// the device's log already holds 1k, 10k or 100k flows: it must not grow
// with the log. Each window holds ten flows, one of them the action's
// Sensors Analytics batch. Run with -benchtime 200x so every length plants
// as many canaries; the proxy's side (serving the flows after a seq from
// its index) is capture's TestCopySinceUsesTheIndexAcrossManyFlows.
func BenchmarkWindow(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("log=%dk", n/1000), func(b *testing.B) {
			m := newMemLog()
			g := canary.NewGenerator(int64(n))
			for i := 0; i < n; i += 1000 {
				batch := make([]capture.Flow, 0, 1000)
				for j := range 1000 {
					if j%10 == 0 {
						batch = append(batch, saUpload("$AppViewScreen", map[string]any{"$screen_name": fmt.Sprintf("Activity%d", i+j)}))
					} else {
						batch = append(batch, configFetch(i+j))
					}
				}
				m.add(batch...)
			}
			tr := New(m, Options{Timeout: time.Minute, Flush: time.Minute})
			if _, err := tr.Baseline(ctx, time.Millisecond); err != nil { // reads the whole log once
				b.Fatal(err)
			}
			i := 0
			cpu := startCPU()
			for b.Loop() {
				c := g.URL(fmt.Sprintf("url-%d", i))
				tr.Arm("browse-incognito", seeAll)
				r, err := tr.Run(ctx, "browse-incognito", []canary.Canary{c}, func(context.Context) error {
					w := make([]capture.Flow, 0, 10)
					for j := range 9 {
						w = append(w, configFetch(j))
					}
					m.add(append(w, visit(c))...)
					return nil
				})
				if err != nil || r.Ended != EndSeen || len(r.Places) != 1 {
					b.Fatalf("window %d: %v, ended %q, %d places", i, err, r.Ended, len(r.Places))
				}
				i++
			}
			cpu.report(b)
			b.ReportMetric(float64(n), "flows-before")
		})
	}
}

// cpuClock measures the process's CPU time: on a machine shared with other
// jobs it is the figure to compare, not the wall clock.
type cpuClock struct{ start time.Duration }

func startCPU() cpuClock { return cpuClock{cpuNow()} }

func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// report adds cpu-ns/op to b's results.
func (c cpuClock) report(b *testing.B) {
	if spent := cpuNow() - c.start; spent > 0 && b.N > 0 {
		b.ReportMetric(float64(spent.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
