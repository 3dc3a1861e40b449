package recall

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"

	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim"
	"telltale.dev/devices/sim/sdk/groundtruth"
	"telltale.dev/harness/actions"
	"telltale.dev/harness/capture"
	"telltale.dev/harness/proxy"
	"telltale.dev/harness/session"
	"telltale.dev/harness/session/sessiontest"
	"telltale.dev/protocols"
)

// bench is one firmware's run: a simulated phone leased in a harness
// session whose recording proxy is a container of its own, so no request of
// another phone can land in its flow log, and the phone's ground truth.
type bench struct {
	rig   *sessiontest.Rig
	s     *session.Session
	truth *groundtruth.Log
}

// openBench starts a Redmi Note 8 on firmware and leases it as the framework
// does: the proxy container, the CA in the system store through su, adb
// reverse, http_proxy and the probe; the session is restored when the test
// ends.
func openBench(t *testing.T, ctx context.Context, img, firmware string) *bench {
	t.Helper()
	truth := &groundtruth.Log{}
	rig := sessiontest.New(t, "redmi-note-8", firmware, func(c *sim.Config) {
		c.Truth = truth
		c.Seed = "recall-" + firmware
		// The SDKs' own pace (15 s batches of several events, $AppEnd
		// flushes, OneTrack's priorities): the detector must find each
		// event inside the batch that carried it, as on a real phone.
		c.TelemetryTiming = "realistic"
	})
	cfg := rig.Config(t)
	cfg.ProxyName = "telltale-proxy-recall-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	cfg.StartProxy = func(ctx context.Context, flowDir, name string) (proxy.Recorder, error) {
		return proxy.Run(ctx, img, proxy.WithCA(rig.CA.CertPEM(), rig.CA.KeyPEM()), proxy.WithFlowDir(flowDir), testcontainers.WithName(name))
	}
	octx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	s, err := session.Open(octx, rig.Lease, cfg)
	if err != nil {
		t.Fatalf("leasing the simulated phone: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("closing the session (restoring the phone, removing the proxy): %v", err)
		}
	})
	actions.Attach(s, actions.Options{Log: testLog{t}, AccessPoint: rig.AccessPoint()})
	return &bench{rig: rig, s: s, truth: truth}
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// awaitNoise waits until the phone's background requests (its first config
// fetch, ten seconds after boot) are in the flow log, so that every run
// gives the detector requests that carry no canary.
func (b *bench) awaitNoise(t *testing.T, ctx context.Context, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	var since int64
	for {
		flows, err := b.s.WaitFlows(ctx, since, time.Until(deadline))
		if err != nil {
			t.Fatalf("waiting for background noise: %v", err)
		}
		if len(eventFlows(b.s.Profile(), flows)) > 0 {
			return
		}
		for _, f := range flows {
			since = max(since, f.Seq)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the idle phone sent no background request within %v", limit)
		}
	}
}

// settle returns the ground truth and the session's whole flow log at a
// moment when they agree on how many events went out. Background noise
// keeps sending, and the proxy logs a flow just before the phone reads the
// last byte of its reply (and so before the phone writes its truth line),
// so a snapshot taken mid-request can be one apart; another is taken until
// the truth log is unchanged around reading the flows. A count that never
// agrees is reported by the caller's comparison.
func (b *bench) settle(t *testing.T, ctx context.Context) ([]groundtruth.Record, []capture.Flow) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := b.rig.Phone.Flush(fctx)
		cancel()
		if err != nil {
			t.Fatalf("the phone still holds telemetry: %v", err)
		}
		before, err := b.truth.Records()
		if err != nil {
			t.Fatal(err)
		}
		flows, err := b.s.Flows(ctx, 0)
		if err != nil {
			t.Fatalf("reading the flow log: %v", err)
		}
		after, err := b.truth.Records()
		if err != nil {
			t.Fatal(err)
		}
		if (len(before) == len(after) && len(eventFlows(b.s.Profile(), flows)) == groundtruth.Uploads(after)) || time.Now().After(deadline) {
			return after, flows
		}
		if err := b.s.Wait(ctx, 50*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
}

func delivered(recs []groundtruth.Record) []groundtruth.Record {
	var out []groundtruth.Record
	for _, rec := range recs {
		if rec.State == groundtruth.Sent {
			out = append(out, rec)
		}
	}
	return out
}

// eventFlows are the HTTP flows to the model's telemetry hosts that carry
// an event: every one but OneTrack's key exchange.
func eventFlows(prof *profiles.Profile, flows []capture.Flow) []capture.Flow {
	var out []capture.Flow
	for _, f := range flows {
		u := requestURL(f)
		if f.Kind == capture.KindHTTP && u != nil && u.Path != protocols.OneTrackKeyPath && slices.Contains(prof.TelemetryHosts(), u.Hostname()) {
			out = append(out, f)
		}
	}
	return out
}

// requestURL is where a flow's request went, nil for marks, TLS failures
// and unparsable URLs.
func requestURL(f capture.Flow) *url.URL {
	if f.Request == nil {
		return nil
	}
	u, err := url.Parse(f.Request.URL)
	if err != nil {
		return nil
	}
	return u
}
