package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/profiles"
)

// TestSimTelemetryTimingFlag: --telemetry-timing takes realistic or
// immediate and says so for anything else.
func TestSimTelemetryTimingFlag(t *testing.T) {
	t.Setenv(profiles.EnvDir, "")
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if code := runSim(ctx, []string{"--telemetry-timing", "eventually"}, &out, &errb); code != 2 ||
		!strings.Contains(errb.String(), `--telemetry-timing: telemetry timing "eventually": want realistic or immediate`) || out.Len() != 0 {
		t.Errorf("a bad timing: exit %d, stderr %q", code, errb.String())
	}
	out.Reset()
	errb.Reset()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		done <- runSim(ctx, []string{"--telemetry-timing", "immediate", "--no-noise"}, &syncWriter{w: &out, onWrite: stop}, &errb)
	}()
	if code := <-done; code != 0 || !strings.HasPrefix(out.String(), "127.0.0.1:") {
		t.Errorf("--telemetry-timing immediate: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}
