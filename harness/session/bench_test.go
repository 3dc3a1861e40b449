package session_test

import (
	"context"
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
	b.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	quietContainers(b)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	img, err := proxy.BuildImage(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var start, stop time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		c, err := proxy.Run(ctx, img, proxy.WithFlowDir(b.TempDir()))
		if err != nil {
			b.Fatal(err)
		}
		start += time.Since(t0)
		t1 := time.Now()
		if err := c.Terminate(ctx); err != nil {
			b.Fatal(err)
		}
		stop += time.Since(t1)
	}
	b.ReportMetric(float64(start.Milliseconds())/float64(b.N), "start-ms")
	b.ReportMetric(float64(stop.Milliseconds())/float64(b.N), "terminate-ms")
}

// BenchmarkSessionOpenClose is a whole lease of a simulated Redmi Note 8:
// properties, settings snapshot, its own proxy container (warm image), CA
// into the system store through su, adb reverse, http_proxy, the probe;
// then the full restore and the settings check.
func BenchmarkSessionOpenClose(b *testing.B) {
	b.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	quietContainers(b)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	img, err := proxy.BuildImage(ctx)
	if err != nil {
		b.Fatal(err)
	}
	r := sessiontest.New(b, "redmi-note-8", "V11.0.3.0")
	cfg := r.Config(b)
	cfg.StartProxy = func(ctx context.Context, dir, name string) (session.Recorder, error) {
		return proxy.Run(ctx, img, proxy.WithCA(r.CA.CertPEM(), r.CA.KeyPEM()), proxy.WithFlowDir(dir), testcontainers.WithName(name))
	}
	var open, closing time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		s, err := session.Open(ctx, r.Lease, cfg)
		if err != nil {
			b.Fatal(err)
		}
		open += time.Since(t0)
		t1 := time.Now()
		if err := s.Close(ctx); err != nil {
			b.Fatal(err)
		}
		closing += time.Since(t1)
	}
	b.ReportMetric(float64(open.Milliseconds())/float64(b.N), "open-ms")
	b.ReportMetric(float64(closing.Milliseconds())/float64(b.N), "close-ms")
}

// quietContainers sends testcontainers' progress lines to the benchmark's
// log, so they do not break the result lines.
func quietContainers(b *testing.B) {
	prev := tclog.Default()
	tclog.SetDefault(tclog.TestLogger(b))
	b.Cleanup(func() { tclog.SetDefault(prev) })
}
