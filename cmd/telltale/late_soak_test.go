//go:build soak

package main

import (
	"context"
	"maps"
	"path/filepath"
	"testing"
	"time"

	"telltale.dev/reports/run"
)

// TestSoakPipelineGivesTheSameMatrix runs the whole Redmi Note 8 suite on
// each simulated firmware with realistic telemetry timing, once with
// windows and once with --pipeline: attribution by canary must give the
// same leak matrix both ways (the differential view, which --pipeline
// weakens, is left out), and neither may leave a canary on the phone.
// Minutes per firmware: `make soak`.
func TestSoakPipelineGivesTheSameMatrix(t *testing.T) {
	for _, fw := range []string{"V11.0.3.0", "V12.0.2.0", "V12.5.1.0"} {
		t.Run(fw, func(t *testing.T) {
			rows := map[bool]map[string]string{}
			for _, pipeline := range []bool{false, true} {
				dir := filepath.Join(t.TempDir(), "run")
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
				code, out := runSuite(t, ctx, "--devices=sim:redmi-note-8@"+fw, "--in-process-proxy", "--capture=proxy",
					"--pipeline="+map[bool]string{false: "false", true: "true"}[pipeline], "--out="+dir)
				cancel()
				if code != 0 {
					t.Fatalf("pipeline %v: telltale run exited %d:\n%s", pipeline, code, tail(out, 80))
				}
				r, err := run.Open(dir)
				if err != nil {
					t.Fatal(err)
				}
				if r.Manifest.Pipeline != pipeline {
					t.Errorf("run.json pipeline %v, want %v", r.Manifest.Pipeline, pipeline)
				}
				rows[pipeline] = matrixRows(r)
				checkTruth(t, dir, 5)
			}
			if !maps.Equal(rows[false], rows[true]) {
				t.Errorf("the matrices differ:\n windows  %v\n pipeline %v", rows[false], rows[true])
			}
		})
	}
}
