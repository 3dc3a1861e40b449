package recall

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/onsi/gomega"

	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim/sdk/groundtruth"
	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/actions"
	"telltale.dev/harness/attribution"
	"telltale.dev/harness/capture"
	"telltale.dev/harness/expect"
	"telltale.dev/harness/leak"
	"telltale.dev/harness/matchers"
	"telltale.dev/harness/proxy"
)

var seedFlag = flag.Int64("recall.seed", 0, "canary seed (0: from the clock); every run logs the seed it used")

// Telemetry hosts of the behaviour matrix (notes/behaviour.md).
const (
	hostSA       = "sa.api.intl.miui.com"
	hostOneTrack = "tracking.intl.miui.com"
	hostSecurity = "api.sec.intl.miui.com"
	hostMistat   = "data.mistat.intl.xiaomi.com"
)

// firmwares are the Redmi Note 8 versions the simulated phone has, with the
// two leaks that tell them apart in the behaviour matrix.
var firmwares = []struct {
	version string
	// browserSwitch: the firmware's Mi Browser (12.1.4 on) has the "aggregated
	// data collection" switch, and with it off incognito visits are not
	// reported; MIUI 11's 12.1.0 has none, so they leak whatever the user
	// would want.
	browserSwitch bool
	// ssidOnCharge: the charging event carries the connected SSID.
	ssidOnCharge bool
}{
	{"V11.0.3.0", false, false},
	{"V12.0.2.0", true, false},
	{"V12.5.1.0", true, true},
}

// plant is a canary the test puts on the phone, the actions that plant it,
// and the hosts the behaviour matrix says this firmware sends it to (none:
// it must not leak).
type plant struct {
	c       canary.Canary
	actions []string
	hosts   []string
}

// result is one firmware's line of the summary.
type result struct {
	firmware                      string
	events, found, extra, flows   int
	canariesLeaked, canariesTotal int
}

// TestRecallEndToEnd measures the detector against the simulated phone's
// ground truth: each firmware of the Redmi Note 8 is leased in a harness
// session on a real adb server, sends through the recording proxy's
// container with the proxy's CA in its system store, and goes through every
// user action, done as a person does it, with fresh canaries. Every
// canary-carrying event the phone delivered must be found in a request to
// the event's host, nothing else may be found, and what the firmware must
// not leak is not found. Background noise stays on, so the detector also
// sees requests that carry no canary.
func TestRecallEndToEnd(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("canary seed %d (reproduce with -args -recall.seed=%d)", seed, seed)

	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	img, err := proxy.BuildImage(ctx)
	if err != nil {
		t.Fatalf("building the proxy image (needs a Docker engine and the Go toolchain): %v", err)
	}

	results := make([]result, len(firmwares))
	// The firmwares run side by side (as many as -test.parallel allows):
	// most of a run is waiting for the SDKs' uploads, and each has its own
	// adb server, phone and proxy container.
	t.Run("firmware", func(t *testing.T) {
		for i, fw := range firmwares {
			t.Run(fw.version, func(t *testing.T) {
				t.Parallel()
				b := openBench(t, ctx, img, fw.version)
				gen := canary.NewGenerator(seed + int64(i))
				res := runActions(t, ctx, b, gen, fw.browserSwitch, fw.ssidOnCharge)
				res.firmware = fw.version
				results[i] = res
			})
		}
	})

	var sb strings.Builder
	tw := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "firmware\tcanary events\tfound\trecall\tfalse positives\tcanaries leaking (of planted)\tevent flows")
	for _, r := range results {
		if r.firmware == "" {
			continue // its subtest failed before it had a result
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%d\t%d/%d\t%d\n", r.firmware, r.events, r.found, percent(r.found, r.events),
			r.extra, r.canariesLeaked, r.canariesTotal, r.flows)
	}
	tw.Flush()
	t.Logf("recall against the ground truth:\n%s", sb.String())
}

func percent(n, of int) string {
	if of == 0 {
		return "-"
	}
	return strconv.FormatFloat(100*float64(n)/float64(of), 'f', 1, 64) + "%"
}

// runActions does every action of the behaviour matrix through the harness
// and checks the session's flow log against the ground truth and the matrix.
func runActions(t *testing.T, ctx context.Context, b *bench, gen *canary.Generator, browserSwitch, ssidOnCharge bool) result {
	s := b.s
	prof, fw := s.Profile(), s.Firmware()
	onlyIf := func(cond bool, hosts ...string) []string {
		if cond {
			return hosts
		}
		return nil
	}
	plants := map[string]*plant{
		"url":     {c: gen.URL("url"), actions: []string{profiles.ActionBrowseIncognito}, hosts: []string{hostSA}},
		"url-off": {c: gen.URL("url-off"), actions: []string{profiles.ActionBrowseIncognito}, hosts: onlyIf(!browserSwitch, hostSA)},
		"search":  {c: gen.Search("search"), actions: []string{profiles.ActionSearch}, hosts: []string{hostSA}},
		"package": {c: gen.Package("package"), actions: []string{profiles.ActionInstallApp, profiles.ActionOpenApp}, hosts: []string{hostSecurity, hostOneTrack}},
		"level":   {c: gen.Number("level"), actions: []string{profiles.ActionCharge}, hosts: []string{hostOneTrack}},
		"setting": {c: gen.SettingValue("setting"), actions: []string{profiles.ActionChangeSetting}, hosts: []string{hostSA}},
		"folder":  {c: gen.Folder("folder"), actions: []string{profiles.ActionCreateFolder}, hosts: []string{hostSA}},
		"ssid":    {c: gen.SSID("ssid"), actions: []string{profiles.ActionConnectWifi}, hosts: onlyIf(ssidOnCharge, hostOneTrack)},
	}
	var canaries []canary.Canary
	for _, id := range slices.Sorted(maps.Keys(plants)) {
		canaries = append(canaries, plants[id].c)
	}
	if got := expect.Conditional(fw, profiles.ActionBrowseIncognito); got != browserSwitch {
		t.Fatalf("profile %s %s: incognito leak conditional on a switch is %v, the behaviour matrix says %v", prof.Name, fw.Version, got, browserSwitch)
	}

	var windows []*actions.Result
	act := func(what string) func(*actions.Result, error) *actions.Result {
		return func(r *actions.Result, err error) *actions.Result {
			t.Helper()
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			windows = append(windows, r)
			return r
		}
	}
	b.awaitNoise(t, ctx, 20*time.Second)
	idle := act("idle baseline")(actions.Baseline(ctx, s))
	c := func(id string) canary.Canary { return plants[id].c }
	act(profiles.ActionBrowseIncognito)(actions.BrowseIncognito(ctx, s, c("url")))
	act(profiles.ActionSearch)(actions.Search(ctx, s, c("search")))
	act(profiles.ActionInstallApp)(actions.InstallApp(ctx, s, c("package")))
	act(profiles.ActionOpenApp)(actions.OpenApp(ctx, s, c("package")))
	act(profiles.ActionCharge)(actions.Charge(ctx, s, "ac", c("level")))
	act(profiles.ActionChangeSetting)(actions.ChangeSetting(ctx, s, "global", "device_name", c("setting")))
	act(profiles.ActionCreateFolder)(actions.CreateFolder(ctx, s, c("folder")))
	// The level the charger is plugged at after joining is not a canary:
	// the SSID is what the later firmware adds to that charging event.
	act(profiles.ActionConnectWifi)(actions.ConnectWifi(ctx, s, c("ssid"), 50))
	lock := act(profiles.ActionLockScreen)(actions.LockScreen(ctx, s))
	// MIUI 11's browser has no switch to turn off: this visit must leak
	// like the first.
	if browserSwitch {
		if err := actions.SetSwitch(ctx, s, profiles.SwitchEnhancedIncognito, false); err != nil {
			t.Fatalf("turning the browser's switch off: %v", err)
		}
	}
	act(profiles.ActionBrowseIncognito + " (switch off)")(actions.BrowseIncognito(ctx, s, c("url-off")))

	// Whatever the apps still hold goes out, and is read, before the
	// ground truth is: an event the phone still queues would count as
	// missed.
	sw, err := attribution.For(s).Sweep(ctx)
	if err != nil {
		t.Fatalf("sweep: %v", err)
	}
	if !sw.Drained {
		t.Fatalf("the phone's telemetry queues did not drain within %v: %v", sw.Waited, sw.Queues)
	}
	truth, flows := b.settle(t, ctx)
	report := leak.New(canaries).Scan(flows)
	res := checkAgainstTruth(t, prof, fw, plants, truth, flows, idle.StartSeq, report)
	checkIncremental(t, windows, flows, report)
	checkDifferential(t, flows, idle, lock)
	return res
}

// leakKey is a canary sent to one host.
type leakKey struct{ id, host string }

// checkAgainstTruth compares the whole flow log and what the detector
// found in it with the ground truth and the behaviour matrix. Flows before
// seq from are the session's own preparation (its probe request).
func checkAgainstTruth(t *testing.T, prof *profiles.Profile, fw *profiles.Firmware, plants map[string]*plant,
	truth []groundtruth.Record, flows []capture.Flow, from int64, report leak.Report) result {
	g := gomega.NewWithT(t)

	// Every request the phone made arrived decrypted, and every upload the
	// phone says was accepted is one request in the flow log.
	for _, f := range flows {
		switch {
		case f.Seq < from, f.Kind == capture.KindMark:
		case f.Kind != capture.KindHTTP:
			t.Errorf("flow %d is %s (%s %s), want only decrypted HTTP", f.Seq, f.Kind, f.Error, tlsAlert(f))
		case requestURL(f) == nil || !slices.Contains(prof.TelemetryHosts(), requestURL(f).Hostname()):
			t.Errorf("flow %d went to %s, not a telemetry host of %s", f.Seq, f.Request.URL, prof.Name)
		}
	}
	for _, rec := range groundtruth.Latest(truth) {
		if rec.Action != "" && !rec.Delivered {
			t.Errorf("%s event %s for %s was not delivered (%s)", rec.Host, rec.Event, rec.Action, rec.Reason)
		}
	}
	noise := 0
	for _, rec := range delivered(truth) {
		if rec.Action == "" {
			noise++
		}
	}
	if noise == 0 {
		t.Error("the ground truth has no delivered background event: the run did not include noise")
	}
	events := eventFlows(prof, flows)
	if got, want := len(events), groundtruth.Uploads(truth); got != want {
		t.Errorf("the proxy logged %d event flows to telemetry hosts, the ground truth has %d accepted uploads", got, want)
	}

	// The canary each delivered event carried, per host, against the
	// requests to that host the detector found it in. Events of one batch
	// share their upload, so the uploads carrying a canary and the
	// requests it was found in are equal in number when every event was
	// found (recall) and nothing else was (no false positives).
	byValue := map[string]string{}
	for id, p := range plants {
		byValue[p.c.Value] = id
	}
	uploads := map[leakKey]map[string]bool{}
	for _, rec := range delivered(truth) {
		for _, v := range rec.Values {
			if id, ok := byValue[v]; ok {
				k := leakKey{id, rec.Host}
				if uploads[k] == nil {
					uploads[k] = map[string]bool{}
				}
				uploads[k][rec.Upload] = true
			}
		}
	}
	want := map[leakKey]int{}
	for k, ups := range uploads {
		want[k] = len(ups)
	}
	gotFlows := map[leakKey]map[int64]bool{}
	for _, f := range report.Findings {
		k := leakKey{f.Canary, f.Host}
		if gotFlows[k] == nil {
			gotFlows[k] = map[int64]bool{}
		}
		gotFlows[k][f.Seq] = true
	}
	keys := map[leakKey]bool{}
	for k := range want {
		keys[k] = true
	}
	for k := range gotFlows {
		keys[k] = true
	}
	res := result{flows: len(events), canariesTotal: len(plants)}
	for k := range keys {
		w, got := want[k], len(gotFlows[k])
		res.events += w
		res.found += min(w, got)
		res.extra += max(got-w, 0)
		if got < w {
			t.Errorf("recall: %s (%q) went to %s in %d accepted uploads, found in %d requests", k.id, plants[k.id].c.Value, k.host, w, got)
		}
		if got > w {
			t.Errorf("false positive: %s found in %d requests to %s, the ground truth has %d uploads carrying it", k.id, got, k.host, w)
		}
	}
	if len(report.Capped) > 0 {
		t.Errorf("decoding hit a bound on telemetry of ordinary size: %+v", report.Capped)
	}

	// The behaviour matrix, independently of the ground truth: where each
	// canary must show up, through the chain the profile documents, and
	// what this firmware must not leak at all.
	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "canary\tvalue\thost\tuploads\tfound in\tchain")
	for _, id := range slices.Sorted(maps.Keys(plants)) {
		p := plants[id]
		if len(p.hosts) == 0 {
			g.Expect(report).NotTo(matchers.Leak(p.c), "%s must not leak on %s", id, fw.Version)
			fmt.Fprintf(tw, "%s\t%s\t-\t0\t%d\t(must not leak)\n", id, p.c.Value, countFlows(gotFlows, id))
			continue
		}
		res.canariesLeaked++
		for _, host := range p.hosts {
			via := knownVia(fw, p.actions, host)
			if via == nil {
				t.Errorf("profile %s %s has no known leak of %v to %s, which the behaviour matrix lists", prof.Name, fw.Version, p.actions, host)
				continue
			}
			g.Expect(report).To(matchers.Leak(p.c, matchers.To(host), matchers.Via(via...)), "%s on %s", id, fw.Version)
			k := leakKey{id, host}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", id, p.c.Value, host, want[k], len(gotFlows[k]), chainOf(report, k))
		}
	}
	tw.Flush()
	t.Logf("%s %s:\n%s", prof.Name, fw.Version, table.String())
	return res
}

func countFlows(got map[leakKey]map[int64]bool, id string) int {
	n := 0
	for k, seqs := range got {
		if k.id == id {
			n += len(seqs)
		}
	}
	return n
}

// chainOf shows the deepest finding for a canary and host, for the table.
func chainOf(report leak.Report, k leakKey) string {
	var best *leak.Finding
	for i, f := range report.Findings {
		if f.Canary == k.id && f.Host == k.host && (best == nil || len(f.Chain) > len(best.Chain)) {
			best = &report.Findings[i]
		}
	}
	if best == nil {
		return "-"
	}
	return best.Where + ": " + strings.Join(best.Chain, " > ")
}

// knownVia is the chain the profile documents for one of actions leaking to
// host on this firmware, nil when it documents none.
func knownVia(fw *profiles.Firmware, actions []string, host string) []string {
	for _, kl := range fw.KnownLeaks {
		if kl.Host == host && slices.Contains(actions, kl.Action) {
			return kl.Via
		}
	}
	return nil
}

func tlsAlert(f capture.Flow) string {
	if f.TLS == nil {
		return ""
	}
	return f.TLS.Alert
}

// checkDifferential: locking the screen plants no canary, so what it sends
// shows only in the differential view, its window against the idle one,
// both taken from the session's whole flow log by their marks; the view the
// harness gave the action must show the same.
func checkDifferential(t *testing.T, flows []capture.Flow, idle, lock *actions.Result) {
	windows := map[string]capture.Window{}
	for _, w := range capture.Windows(flows) {
		windows[w.Name] = w
	}
	iw, ok1 := windows[idle.Window]
	lw, ok2 := windows[lock.Window]
	if !ok1 || !ok2 {
		t.Errorf("flow log windows %v, want %s and %s", slices.Sorted(maps.Keys(windows)), idle.Window, lock.Window)
		return
	}
	d := leak.Differential(capture.Between(flows, iw), capture.Between(flows, lw))
	for _, view := range []struct {
		by string
		d  leak.Diff
	}{{"the flow log", d}, {"the lock-screen action", lock.Diff}} {
		if !slices.Contains(view.d.Hosts, hostMistat) || !slices.Contains(view.d.Paths, hostMistat+"/mistats/v3") || !slices.Contains(view.d.Events, "screen_lock") {
			t.Errorf("differential view of %s from %s: %+v, want host %s, its /mistats/v3 and event screen_lock", lock.Window, view.by, view.d, hostMistat)
		}
	}
	t.Logf("differential view of %s against %s: hosts %v, paths %v, events %v", lock.Window, idle.Window, d.Hosts, d.Paths, d.Events)
}
