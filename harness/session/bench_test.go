package session_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"

	"telltale.dev/harness/proxy"
	"telltale.dev/harness/session"
	"telltale.dev/harness/session/sessiontest"
)

// BenchmarkProxyContainerStart is the start of one proxy container through
// testcontainers-go with a warm image, until its /healthz answers, plus its
// removal (reported separately).
func BenchmarkProxyContainerStart(b *testing.B) {
	ctx, img := proxyImage(b)
	benchUpDown(b, "start-ms", "terminate-ms", func() (func() error, error) {
		c, err := proxy.Run(ctx, img, proxy.WithFlowDir(b.TempDir()))
		if err != nil {
			return nil, err
		}
		return func() error { return c.Terminate(ctx) }, nil
	})
}

// BenchmarkSessionOpenClose is a whole lease of a simulated Redmi Note 8:
// properties, settings snapshot, its own proxy container (warm image), CA
// into the system store through su, adb reverse, http_proxy, the probe;
// then the full restore and the settings check.
func BenchmarkSessionOpenClose(b *testing.B) {
	ctx, img := proxyImage(b)
	r := sessiontest.New(b, "redmi-note-8", "V11.0.3.0")
	cfg := r.Config(b)
	cfg.StartProxy = func(ctx context.Context, dir, name string) (proxy.Recorder, error) {
		return proxy.Run(ctx, img, proxy.WithCA(r.CA.CertPEM(), r.CA.KeyPEM()), proxy.WithFlowDir(dir), testcontainers.WithName(name))
	}
	benchUpDown(b, "open-ms", "close-ms", func() (func() error, error) {
		cfg.ProxyName = fmt.Sprintf("telltale-proxy-bench-%d", time.Now().UnixNano())
		s, err := session.Open(ctx, r.Lease, cfg)
		if err != nil {
			return nil, err
		}
		return func() error { return s.Close(ctx) }, nil
	})
}

// proxyImage builds the proxy image before the timer starts, so the
// benchmarks measure warm starts, and sends testcontainers' progress lines
// to the benchmark's log, where they do not break the result lines.
func proxyImage(b *testing.B) (context.Context, string) {
	b.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	prev := tclog.Default()
	tclog.SetDefault(tclog.TestLogger(b))
	b.Cleanup(func() { tclog.SetDefault(prev) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	b.Cleanup(cancel)
	img, err := proxy.BuildImage(ctx)
	if err != nil {
		b.Fatal(err)
	}
	return ctx, img
}

// benchUpDown times up and the teardown it returns b.N times, and reports
// the mean of each in milliseconds under the given units.
func benchUpDown(b *testing.B, upUnit, downUnit string, up func() (down func() error, err error)) {
	var upTime, downTime time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		down, err := up()
		if err != nil {
			b.Fatal(err)
		}
		upTime += time.Since(t0)
		t1 := time.Now()
		if err := down(); err != nil {
			b.Fatal(err)
		}
		downTime += time.Since(t1)
	}
	b.ReportMetric(float64(upTime.Milliseconds())/float64(b.N), upUnit)
	b.ReportMetric(float64(downTime.Milliseconds())/float64(b.N), downUnit)
}
