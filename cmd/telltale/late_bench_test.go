package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"telltale.dev/devices/profiles"
	"telltale.dev/reports/run"
)

// BenchmarkSuiteModes runs the Redmi Note 8 suite (V11.0.3.0, the leaky
// firmware, every known leak) on a simulated phone whose SDKs batch as
// real ones do, three ways: windows that end once what they expect has
// come (the default), --pipeline (the actions back to back, one wait at
// the end), and fixed settle windows long enough to catch every leak (1.5
// flush intervals, the window timeout). It reports the whole run's wall
// time, the phone's part of it (first action to teardown), the actions'
// own time (each window's start to the end of its action) and the
// pipeline's goal (that plus 1.5 flush intervals); and it logs each row
// of a mode's leak matrix that differs from the default's (the soak test
// TestSoakPipelineGivesTheSameMatrix fails on them). The proxy runs in
// process, so the figures are the harness's and the phone's.
func BenchmarkSuiteModes(b *testing.B) {
	profs, err := profiles.Load()
	if err != nil {
		b.Fatal(err)
	}
	flush := profiles.ByName(profs, "redmi-note-8").FlushInterval()
	timeout := flush + flush/2
	b.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	var want map[string]string
	for _, mode := range []struct{ name, flag string }{
		{"windows", "--pipeline=false"},
		{"pipeline", "--pipeline"},
		{"fixed-settle", "--settle=" + timeout.String()},
	} {
		b.Run(mode.name, func(b *testing.B) {
			var wall, phase, acted time.Duration
			for i := 0; i < b.N; i++ {
				dir := filepath.Join(b.TempDir(), "run")
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
				var out syncBuffer
				start := time.Now()
				code := runMain(ctx, []string{"--devices=sim:redmi-note-8@V11.0.3.0", "--in-process-proxy", "--capture=proxy", mode.flag, "--out=" + dir}, &out, &out)
				wall += time.Since(start)
				cancel()
				r, err := run.Open(dir)
				if err != nil {
					b.Fatalf("telltale run exited %d:\n%s", code, tail(out.String(), 60))
				}
				if code != 0 {
					b.Logf("telltale run exited %d (%s); its matrix:\n%s", code, r.Manifest.Reason, tail(out.String(), 16))
				}
				p, a := phases(b, r)
				phase += p
				acted += a
				rows := matrixRows(r)
				if want == nil {
					want = rows
				} else {
					for k, v := range rows {
						if want[k] != v {
							b.Logf("%s: %s reads %q, with windows %q", mode.name, k, v, want[k])
						}
					}
				}
			}
			n := float64(b.N)
			b.ReportMetric(wall.Seconds()/n, "wall-s")
			b.ReportMetric(phase.Seconds()/n, "phase-s")
			b.ReportMetric(acted.Seconds()/n, "act-s")
			b.ReportMetric((acted.Seconds()+timeout.Seconds()*n)/n, "goal-s")
		})
	}
}

// phases are the phone's part of a run (its first window's start to its
// teardown) and the sum of the actions' own time.
func phases(b *testing.B, r *run.Run) (phase, acted time.Duration) {
	var first time.Time
	for _, s := range r.Specs {
		if first.IsZero() || s.Window.Start.Before(first) {
			first = s.Window.Start
		}
		if !s.Window.Acted.IsZero() {
			acted += s.Window.Acted.Sub(s.Window.Start)
		}
	}
	for _, d := range r.Manifest.Devices {
		if !d.Teardown.IsZero() && !first.IsZero() {
			phase = d.Teardown.Sub(first)
		}
	}
	if phase == 0 {
		b.Fatalf("run %s recorded no teardown", r.Dir)
	}
	return phase, acted
}
