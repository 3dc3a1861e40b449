package attribution_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim"
	"telltale.dev/devices/sim/apps/flutternews"
	"telltale.dev/harness/attribution"
	"telltale.dev/harness/bypass"
	"telltale.dev/harness/session"
	"telltale.dev/harness/session/sessiontest"
	"telltale.dev/harness/ui"
	"telltale.dev/reports/run"
)

// On a phone captured through the proxy setting (no root), an action whose
// app goes around the proxy ends with that connection in its result, and
// the spec recorded from it reads "bypassed the proxy" with the app and
// the remote address in the leak matrix, not "no leak".
func TestWindowReportsTheAppThatWentAroundTheProxy(t *testing.T) {
	r := sessiontest.New(t, "redmi-note-8", "V11.0.3.0", func(c *sim.Config) { c.NoNoise, c.SuPolicy = true, sim.SuDeny })
	s := r.Open(t)
	if s.Capture() != session.CaptureProxy {
		t.Fatalf("capture %s, want proxy on a phone without root", s.Capture())
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	res, err := attribution.For(s).Run(ctx, profiles.ActionOpenApp, nil, func(ctx context.Context) error {
		return searchAndWait(ctx, t, r, s)
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Unwatched != "" || len(res.Bypassed) == 0 {
		t.Fatalf("window bypassed %v (unwatched: %q), want the app's connection", res.Bypassed, res.Unwatched)
	}

	w, err := run.Create(t.TempDir(), run.Manifest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.RecordSpec(run.SpecResult{Name: "flutter search", Device: r.Lease.Serial, Action: res.Action, Variant: "flutter",
		Bypassed: res.Bypassed, State: run.StatePassed}, res.Flows); err != nil {
		t.Fatal(err)
	}
	rn, err := run.Open(w.Dir())
	if err != nil {
		t.Fatal(err)
	}
	var matrix strings.Builder
	if err := rn.WriteMatrix(&matrix); err != nil {
		t.Fatal(err)
	}
	line := matrix.String()
	if !strings.Contains(line, "bypassed the proxy") || !strings.Contains(line, flutternews.Package) || !strings.Contains(line, ":443/tcp") ||
		strings.Contains(line, "no leak") {
		t.Errorf("leak matrix:\n%s\nwant the action as bypassed, by %s, to its server's port 443", line, flutternews.Package)
	}
}

// searchAndWait submits a search in the Flutter app, which ignores the
// proxy setting, and returns once the shell sees its connection.
func searchAndWait(ctx context.Context, t *testing.T, r *sessiontest.Rig, s *session.Session) error {
	if out := r.Shell(t, "am start -W -n "+flutternews.Package+"/"+flutternews.Activity); !strings.Contains(out, "Status: ok") {
		t.Fatalf("am start: %s", out)
	}
	d := ui.New(r.Client.Device(r.Lease.Serial), ui.Options{DumpPath: "/dev/tty"})
	field, err := ui.ParseSelector("class=android.widget.EditText,package=" + flutternews.Package)
	if err != nil {
		return err
	}
	if _, err := d.Tap(ctx, field); err != nil {
		return err
	}
	if err := d.Type(ctx, "ttbypass"); err != nil {
		return err
	}
	if err := d.Key(ctx, "66"); err != nil {
		return err
	}
	read := func(ctx context.Context, cmd string) (string, error) { return s.Shell(ctx, cmd) }
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		socks, err := bypass.Sample(ctx, read)
		if err != nil {
			return err
		}
		for _, so := range socks {
			if s.Apps()[so.UID] == flutternews.Package && so.Remote.Port() == 443 {
				return nil
			}
		}
	}
	t.Fatalf("%s never connected", flutternews.Package)
	return nil
}
