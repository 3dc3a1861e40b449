package sdk_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/sdk/device"
	"telltale.dev/devices/sim/sdk/groundtruth"
)

// BenchmarkDeliver measures events delivered end to end through a local
// intercepting proxy (CONNECT, TLS handshake, HTTP/1.1), one request per
// event (immediate timing), per SDK: Sensors Analytics (form, base64,
// gzip) and OneTrack (AES after one key exchange).
func BenchmarkDeliver(b *testing.B) {
	for _, c := range []struct {
		name string
		ev   func(i int) event.Event
	}{
		{"sensors-analytics", func(i int) event.Event {
			return event.Searched{Package: "com.mi.globalbrowser", URL: "https://x/?q=y" + strconv.Itoa(i), Query: "y", Report: true}
		}},
		{"onetrack", func(i int) event.Event { return event.PowerConnected{Plug: "ac", Level: i % 100} }},
	} {
		b.Run(c.name, func(b *testing.B) {
			r, tel := start(b, "V11.0.3.0.PCOMIXM", device.Immediate, false)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			b.ResetTimer()
			for i := range b.N {
				r.Bus.Publish(c.ev(i))
				if err := tel.Drain(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			recs := r.Records(b)
			for _, rec := range groundtruth.Latest(recs) {
				if rec.State != groundtruth.Sent {
					b.Fatalf("not sent: %+v", rec)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
