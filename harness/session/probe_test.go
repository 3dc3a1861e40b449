package session_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"telltale.dev/harness/session"
	"telltale.dev/harness/session/sessiontest"
)

// TestProbeRequestReachesTheProxy: Open proves the path with a request the
// phone itself sends, and that very request (its token) is in the flow log.
func TestProbeRequestReachesTheProxy(t *testing.T) {
	r := sessiontest.New(t, "redmi-note-8", "V12.0.2.0")
	s := r.Open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	flows, err := s.Flows(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range flows {
		if f.Request != nil && strings.HasPrefix(f.Request.URL, "http://probe.telltale.invalid/telltale-probe-") {
			return
		}
	}
	t.Fatalf("no probe request in the %d flows of the log", len(flows))
}

// TestProbeFailsAtOnceWhenThePhoneCannotSend: with the reverse rule gone,
// the phone's request is refused on the phone itself. The probe says so at
// once, with the phone's own error, instead of waiting out its timeout for
// a token that cannot come.
func TestProbeFailsAtOnceWhenThePhoneCannotSend(t *testing.T) {
	r := sessiontest.New(t, "redmi-note-8", "V12.0.2.0")
	cfg := r.Config(t)
	cfg.ProbeTimeout = time.Hour // the timeout must not be what ends it
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := session.Open(ctx, r.Lease, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	if err := r.Client.Device(r.Lease.Serial).ReverseRemove(ctx, "tcp:8080"); err != nil {
		t.Fatal(err)
	}
	err = s.Probe(ctx)
	if err == nil || !strings.Contains(err.Error(), "could not send the probe request") || !strings.Contains(err.Error(), "Connection refused") {
		t.Fatalf("probe without a path: %v", err)
	}
	if err := s.Probe(ctx); err == nil {
		t.Fatal("a second probe without a path passed")
	}
}
