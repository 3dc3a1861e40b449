package sdk

import (
	"context"
	"fmt"
	"io"
	"time"

	"telltale.dev/devices/sim/sdk/device"
	"telltale.dev/devices/sim/shell"
)

// ServiceName is the dumpsys service of the telemetry queues. No real
// phone has it: a harness that finds it in `dumpsys -l` knows the phone is
// simulated and may wait for the queues to drain instead of waiting a
// flush interval.
const ServiceName = "telltale_telemetry"

// Dump answers `dumpsys telltale_telemetry`: one line per SDK queue with
// its length and when its next upload is due, then the total. Times are
// the phone's clock in RFC 3339 with milliseconds; next_flush=none means
// no upload is scheduled (the SDK waits for a new event, its app, or a
// network), in_ms is how long until it is due.
//
//	Telltale telemetry queues (simulated phone only: real phones have no telltale_telemetry service)
//	now=2020-04-30T12:00:03.000Z timing=realistic network=WIFI
//	queue sdk=sensors-analytics app=com.mi.globalbrowser length=2 next_flush=2020-04-30T12:00:15.000Z in_ms=12000 db=/data/data/com.mi.globalbrowser/databases/sensorsdata
//	total length=2 next_flush=2020-04-30T12:00:15.000Z in_ms=12000
func (t *Telemetry) Dump(_ context.Context, sio shell.IO, _ []string) int {
	now := t.cfg.Clock.Now()
	w := sio.Stdout
	fmt.Fprintf(w, "Telltale telemetry queues (simulated phone only: real phones have no %s service)\n", ServiceName)
	fmt.Fprintf(w, "now=%s timing=%s network=%s\n", stamp(now), t.cfg.Timing, device.Type(t.cfg.Sources.Network))
	total := device.Queue{}
	for _, q := range t.Queues() {
		fmt.Fprintf(w, "queue sdk=%s app=%s length=%d ", q.SDK, q.App, q.Length)
		writeNext(w, q.Next, now)
		fmt.Fprintf(w, " db=%s\n", q.DB)
		total.Length += q.Length
		if !q.Next.IsZero() && (total.Next.IsZero() || q.Next.Before(total.Next)) {
			total.Next = q.Next
		}
	}
	fmt.Fprintf(w, "total length=%d ", total.Length)
	writeNext(w, total.Next, now)
	fmt.Fprintln(w)
	return 0
}

func writeNext(w io.Writer, next, now time.Time) {
	if next.IsZero() {
		fmt.Fprint(w, "next_flush=none")
		return
	}
	fmt.Fprintf(w, "next_flush=%s in_ms=%d", stamp(next), max(next.Sub(now).Milliseconds(), 0))
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }
