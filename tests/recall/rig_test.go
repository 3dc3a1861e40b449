package recall

import (
	"context"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/adb"
	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim"
	simrig "telltale.dev/devices/sim/rig"
	"telltale.dev/devices/sim/telemetry"
	"telltale.dev/harness/androidca"
	"telltale.dev/harness/ca"
	"telltale.dev/harness/capture"
	"telltale.dev/harness/proxy"
	"telltale.dev/protocols"
)

// proxyPort is the port the phone's http_proxy names; adb reverse carries it
// to the proxy container's published port, as the harness does with a real
// phone.
const proxyPort = "8080"

// rig is one firmware's run: a simulated phone on the test's adb server,
// sending through a proxy container of its own, so no request of another
// phone can land in its flow log.
type rig struct {
	t     *testing.T
	ctx   context.Context
	prof  *profiles.Profile
	phone *sim.Phone
	dev   *adb.Device
	rec   proxy.Recorder
	truth *telemetry.TruthLog
}

func startRig(t *testing.T, ctx context.Context, client *adb.Client, img string, authority *ca.CA, prof *profiles.Profile, firmware string) *rig {
	t.Helper()
	rec, err := proxy.Run(ctx, img, proxy.WithCA(authority.CertPEM(), authority.KeyPEM()))
	if err != nil {
		t.Fatalf("starting the proxy container: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := rec.Terminate(ctx); err != nil {
			t.Errorf("removing the proxy container: %v", err)
		}
	})
	truth := &telemetry.TruthLog{}
	bench := simrig.On(client)
	t.Cleanup(func() {
		if err := bench.Close(context.Background()); err != nil {
			t.Errorf("stopping the simulated phone: %v", err)
		}
	})
	phone, err := bench.Start(ctx, sim.Config{Model: prof.Name, Firmware: firmware, Truth: truth, Seed: "recall-" + firmware})
	if err != nil {
		t.Fatalf("starting the simulated %s %s: %v", prof.Name, firmware, err)
	}
	r := &rig{t: t, ctx: ctx, prof: prof, phone: phone, dev: client.Device(phone.Serial()), rec: rec, truth: truth}

	r.installSystemCA(authority)
	addr, err := rec.ProxyAddr(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, hostPort, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("proxy address %q: %v", addr, err)
	}
	if err := r.dev.Reverse(ctx, "tcp:"+proxyPort, "tcp:"+hostPort); err != nil {
		t.Fatalf("adb reverse tcp:%s tcp:%s: %v", proxyPort, hostPort, err)
	}
	r.sh("settings put global http_proxy", "127.0.0.1:"+proxyPort)
	return r
}

// installSystemCA puts the proxy's CA into the system store the way the
// harness does on a rooted production phone (harness/androidca): through
// su, a tmpfs over the read-only store holding the phone's own CAs plus
// ours, under the subject-hash name Android looks up.
func (r *rig) installSystemCA(authority *ca.CA) {
	r.t.Helper()
	root, ok, err := androidca.FindSu(r.ctx, r.dev)
	if err != nil || !ok {
		r.t.Fatalf("the simulated %s has no working su (%v)", r.prof.Name, err)
	}
	if err := androidca.InstallSystem(r.ctx, r.dev, authority, root, r.phone.Firmware().SDK, nil); err != nil {
		r.t.Fatalf("installing the CA: %v", err)
	}
}

// sh runs a command on the phone over adb; cmd is a command line, each of
// args one quoted word.
func (r *rig) sh(cmd string, args ...string) string {
	r.t.Helper()
	out, err := r.dev.RunCommand(r.ctx, cmd, args...)
	if err != nil {
		r.t.Fatalf("adb shell %s %s: %v", cmd, strings.Join(args, " "), err)
	}
	return out
}

// browse opens u in the browser's incognito tab, as the browse-incognito and
// search actions do.
func (r *rig) browse(u string) {
	r.t.Helper()
	b := r.prof.Actions.Browser
	r.sh("am start -a android.intent.action.VIEW -d", u, "-n", b.Component, "--ez", b.IncognitoExtra, "true")
}

// step runs one action inside its window of the flow log ("start:NAME" and
// "end:NAME" marks), waiting for the phone's telemetry to go out before
// closing it.
func (r *rig) step(name string, do func()) {
	r.t.Helper()
	if _, err := r.rec.Mark(r.ctx, "start:"+name); err != nil {
		r.t.Fatalf("marking the start of %s: %v", name, err)
	}
	do()
	if err := r.phone.Flush(r.ctx); err != nil {
		r.t.Fatalf("after %s: %v", name, err)
	}
	if _, err := r.rec.Mark(r.ctx, "end:"+name); err != nil {
		r.t.Fatalf("marking the end of %s: %v", name, err)
	}
}

// idleStep is the window with no action, the differential view's baseline.
const idleStep = "idle"

// idle records a window in which the user does nothing, lasting until the
// phone's background noise (a config fetch every few seconds) has shown up
// in it, so that the run always includes requests that carry no canary.
func (r *rig) idle(limit time.Duration) {
	r.t.Helper()
	start, err := r.rec.Mark(r.ctx, "start:"+idleStep)
	if err != nil {
		r.t.Fatalf("marking the idle window: %v", err)
	}
	deadline := time.Now().Add(limit)
	for {
		flows, err := proxy.WaitFlows(r.ctx, r.rec, start.Seq, time.Until(deadline))
		if err != nil {
			r.t.Fatalf("waiting for background noise: %v", err)
		}
		if len(eventFlows(r.prof, flows)) > 0 {
			break
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("the idle phone sent no background request within %v", limit)
		}
	}
	if err := r.phone.Flush(r.ctx); err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.rec.Mark(r.ctx, "end:"+idleStep); err != nil {
		r.t.Fatalf("marking the end of the idle window: %v", err)
	}
}

// settle returns the ground truth and the flow log at a moment when they
// agree on how many events went out. Background noise keeps sending, and the
// proxy logs a flow just before the phone reads the last byte of its reply
// (and so before the phone writes its truth line), so a snapshot taken
// mid-request can be one apart; another is taken until the truth log is
// unchanged around reading the flows. A count that never agrees is reported
// by the caller's comparison.
func (r *rig) settle() ([]telemetry.Record, []capture.Flow) {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := r.phone.Flush(r.ctx); err != nil {
			r.t.Fatal(err)
		}
		before, err := r.truth.Records()
		if err != nil {
			r.t.Fatal(err)
		}
		flows, err := r.rec.Flows(r.ctx, 0)
		if err != nil {
			r.t.Fatalf("reading the flow log: %v", err)
		}
		after, err := r.truth.Records()
		if err != nil {
			r.t.Fatal(err)
		}
		if (len(before) == len(after) && len(eventFlows(r.prof, flows)) == len(delivered(after))) || time.Now().After(deadline) {
			return after, flows
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func delivered(recs []telemetry.Record) []telemetry.Record {
	var out []telemetry.Record
	for _, rec := range recs {
		if rec.Delivered {
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
