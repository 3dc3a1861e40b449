package leak

import (
	"testing"

	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/capture"
)

// A finding names the app that sent the request when the capture knew it,
// and no app when it did not.
func TestFindingCarriesTheSendingApp(t *testing.T) {
	c := canary.Canary{ID: "url-1", Value: "canary-7f3a9e-example.org", Kind: "url"}
	app := &capture.App{UID: 10187, Package: "com.example.flutter"}
	flows := []capture.Flow{
		{Seq: 1, Kind: capture.KindHTTP, App: app, Route: capture.RouteRedirect,
			Request: &capture.Request{Method: "GET", URL: "https://t.example/a?u=" + c.Value}},
		{Seq: 2, Kind: capture.KindHTTP,
			Request: &capture.Request{Method: "GET", URL: "https://t.example/b?u=" + c.Value}},
	}
	rep := New([]canary.Canary{c}).Scan(flows)
	if len(rep.Findings) != 2 {
		t.Fatalf("%d findings, want 2: %+v", len(rep.Findings), rep.Findings)
	}
	if got := rep.Findings[0].App; got == nil || *got != *app {
		t.Errorf("finding in the app's flow names %s, want %s", got, app)
	}
	if got := rep.Findings[1].App; got != nil {
		t.Errorf("finding in a flow of no known app names %s", got)
	}
}
