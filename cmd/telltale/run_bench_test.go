package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"telltale.dev/reports/run"
)

// BenchmarkSuite runs the whole scenario suite through `telltale run` on 1, 2
// and 4 simulated Redmi Note 8 phones (one Ginkgo process each, one proxy
// container each, warm image) and reports the suite's wall time and the
// harness overhead per scenario: a spec's window minus its settle wait, i.e.
// marks, device commands, flow reads and detection.
func BenchmarkSuite(b *testing.B) {
	const settle = time.Second
	// Warm-up, untimed: the first run compiles the suite and may build the
	// proxy image; every later one finds both cached.
	b.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	var warm syncBuffer
	if code := runMain(context.Background(), []string{"--devices=sim:redmi-note-8", "--label-filter=lock-screen", "--settle=100ms",
		"--out=" + filepath.Join(b.TempDir(), "warm")}, &warm, &warm); code != 0 {
		b.Fatalf("warm-up run exited %d:\n%s", code, tail(warm.String(), 40))
	}
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("phones=%d", n), func(b *testing.B) {
			b.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
			devices := strings.TrimSuffix(strings.Repeat("sim:redmi-note-8,", n), ",")
			var wall, overhead time.Duration
			var scenarios int
			for i := 0; i < b.N; i++ {
				dir := filepath.Join(b.TempDir(), "run")
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
				var out syncBuffer
				start := time.Now()
				code := runMain(ctx, []string{"--devices=" + devices, "-p", fmt.Sprint(n), "--settle=" + settle.String(), "--out=" + dir}, &out, &out)
				wall += time.Since(start)
				cancel()
				if code != 0 {
					b.Fatalf("telltale run exited %d:\n%s", code, tail(out.String(), 40))
				}
				r, err := run.Open(dir)
				if err != nil {
					b.Fatal(err)
				}
				for _, s := range r.Specs {
					overhead += s.End.Sub(s.Start) - settle
					scenarios++
				}
			}
			b.ReportMetric(wall.Seconds()/float64(b.N), "wall-s/suite")
			b.ReportMetric(float64(overhead.Milliseconds())/float64(scenarios), "overhead-ms/scenario")
			b.ReportMetric(float64(scenarios)/float64(b.N), "scenarios/suite")
		})
	}
}
