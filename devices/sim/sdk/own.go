package sdk

import (
	"strconv"

	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/sdk/groundtruth"
)

// recordOwnUploads writes the uploads apps make with network stacks of
// their own (event.Uploaded: apps that ignore the proxy setting or try QUIC
// first) to the same ground truth as the SDKs' events, numbered with them:
// queued, then sent (through the proxy, or a REDIRECT to it), bypassed
// (straight to the server) or dropped (these clients do not retry).
func (t *Telemetry) recordOwnUploads(bus *event.Bus, serial string) (unsubscribe func()) {
	return event.On(bus, func(u event.Uploaded) {
		id := "ev" + strconv.FormatInt(t.ids.Add(1), 10)
		rec := groundtruth.Record{Serial: serial, ID: id, App: u.Package, Host: u.Host, Path: u.Path, Format: "json",
			Event: u.Event, Action: u.Action, Values: u.Values, Queued: u.Queued}
		o := groundtruth.Outcome{Upload: u.Package + "/own/" + id, Status: u.Status, Route: u.Route, Reason: u.Reason}
		if err := t.truth.Once(rec, u.At, o, u.Delivered); err != nil {
			t.cfg.Logger.Warn("ground-truth log write failed", "err", err)
		}
	})
}
