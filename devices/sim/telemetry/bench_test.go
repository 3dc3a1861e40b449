package telemetry_test

import (
	"testing"

	"telltale.dev/devices/sim/telemetry"
)

// BenchmarkDeliver measures events delivered end to end through a local
// intercepting proxy (CONNECT, TLS handshake, HTTP/1.1) per format.
func BenchmarkDeliver(b *testing.B) {
	for _, c := range []struct {
		name string
		occ  telemetry.Occurrence
	}{
		{"sensors-analytics", telemetry.Occurrence{Action: "search", Values: map[string]string{"url": "https://x/?q=y", "search_word": "y"}}},
		{"onetrack", telemetry.Occurrence{Action: "open-app", Values: map[string]string{"package": "com.canary.x"}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := newRig(b, "V11.0.3.0.PCOMIXM", true)
			b.ResetTimer()
			for range b.N {
				r.eng.Observe(c.occ)
				r.flush(b)
			}
			b.StopTimer()
			for _, rec := range r.records(b) {
				if !rec.Delivered {
					b.Fatalf("undelivered: %+v", rec)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
