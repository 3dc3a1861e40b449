package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"telltale.dev/reports/baseline"
)

// TestFixtureBaselinesMatchRealRuns runs the whole suite on a simulated
// Redmi Note 8 for each firmware and compares the run with the baseline
// checked in for it: the baselines that `telltale diff` gates firmware
// updates with must be what the suite really records, not only what the
// behaviour matrix says.
func TestFixtureBaselinesMatchRealRuns(t *testing.T) {
	for _, fw := range []string{"V11.0.3.0", "V12.0.2.0", "V12.5.1.0"} {
		t.Run(fw, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			dir := filepath.Join(t.TempDir(), "run")
			code, out := runSuite(t, ctx, "--devices=sim:redmi-note-8@"+fw, "--settle=1s", "--out="+dir)
			if code != 0 {
				t.Fatalf("telltale run exited %d:\n%s", code, tail(out, 80))
			}
			want, err := baseline.Load(filepath.Join("..", "..", "fixtures", "baselines", "redmi-note-8-"+fw+".json"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := baseline.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			res, err := baseline.Compare(want, got)
			if err != nil {
				t.Fatal(err)
			}
			if res.New+res.Gone+res.Changed != 0 {
				var text strings.Builder
				res.WriteText(&text)
				t.Errorf("the run differs from fixtures/baselines (regenerate with `telltale baseline save` if the change is intended):\n%s", text.String())
			}
		})
	}
}
