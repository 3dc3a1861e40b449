package recall

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/onsi/gomega"

	"telltale.dev/devices/adb/adbtest"
	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim/telemetry"
	"telltale.dev/fixtures/apk"
	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/ca"
	"telltale.dev/harness/capture"
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

// switchOffStep browses incognito after turning the browser's "aggregated
// data collection" switch off: the 2020 fix stops that leak, MIUI 11 ignores
// the switch.
const switchOffStep = "browse-incognito-switch-off"

// firmwares are the Redmi Note 8 versions the simulated phone has, with the
// two leaks that tell them apart in the behaviour matrix.
var firmwares = []struct {
	version string
	// switchIgnored: incognito visits leak even with the switch off.
	switchIgnored bool
	// ssidOnCharge: the charging event carries the connected SSID.
	ssidOnCharge bool
}{
	{"V11.0.3.0", true, false},
	{"V12.0.2.0", false, false},
	{"V12.5.1.0", false, true},
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
// ground truth: each firmware of the Redmi Note 8 is connected to a real adb
// server, sends through the recording proxy's container with the proxy's CA
// in its system store, and goes through every user action with fresh
// canaries. Every canary-carrying event the phone delivered must be found in
// a request to the event's host, nothing else may be found, and what the
// firmware must not leak is not found. Background noise stays on, so the
// detector also sees requests that carry no canary.
func TestRecallEndToEnd(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("canary seed %d (reproduce with -args -recall.seed=%d)", seed, seed)

	client := adbtest.StartServer(t)
	authority, err := ca.New("telltale recall test CA")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Second)
	defer cancel()
	img, err := proxy.BuildImage(ctx)
	if err != nil {
		t.Fatalf("building the proxy image (needs a Docker engine and the Go toolchain): %v", err)
	}
	all, err := profiles.Load()
	if err != nil {
		t.Fatal(err)
	}
	prof := profiles.ByName(all, "redmi-note-8")
	if prof == nil {
		t.Fatalf("no redmi-note-8 profile among %v", profiles.Names(all))
	}

	var results []result
	for i, fw := range firmwares {
		t.Run(fw.version, func(t *testing.T) {
			r := startRig(t, ctx, client, img, authority, prof, fw.version)
			gen := canary.NewGenerator(seed + int64(i))
			res := runActions(t, r, gen, fw.switchIgnored, fw.ssidOnCharge)
			res.firmware = fw.version
			results = append(results, res)
		})
	}

	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "firmware\tcanary events\tfound\trecall\tfalse positives\tcanaries leaking (of planted)\tevent flows")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%d\t%d/%d\t%d\n", r.firmware, r.events, r.found, percent(r.found, r.events),
			r.extra, r.canariesLeaked, r.canariesTotal, r.flows)
	}
	tw.Flush()
	t.Logf("recall against the ground truth:\n%s", b.String())
}

func percent(n, of int) string {
	if of == 0 {
		return "-"
	}
	return strconv.FormatFloat(100*float64(n)/float64(of), 'f', 1, 64) + "%"
}

// runActions drives every action of the behaviour matrix over adb and checks
// what the proxy recorded against the ground truth and the matrix.
func runActions(t *testing.T, r *rig, gen *canary.Generator, switchIgnored, ssidOnCharge bool) result {
	onlyIf := func(cond bool, hosts ...string) []string {
		if cond {
			return hosts
		}
		return nil
	}
	plants := map[string]*plant{
		"url":     {c: gen.URL("url"), actions: []string{profiles.ActionBrowseIncognito}, hosts: []string{hostSA}},
		"url-off": {c: gen.URL("url-off"), actions: []string{profiles.ActionBrowseIncognito}, hosts: onlyIf(switchIgnored, hostSA)},
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
	value := func(id string) string { return plants[id].c.Value }
	prof := r.prof
	charge := prof.Actions.Charge

	// The phone sends its first config fetch five seconds after it starts.
	r.idle(12 * time.Second)
	r.step(profiles.ActionBrowseIncognito, func() { r.browse(value("url")) })
	r.step(profiles.ActionSearch, func() {
		// Percent-encoded (%20, not +), as a browser's address bar does.
		q := strings.ReplaceAll(url.QueryEscape(value("search")), "+", "%20")
		r.browse(fmt.Sprintf(prof.Actions.Browser.SearchURL, q))
	})
	r.step(profiles.ActionInstallApp, func() {
		b, err := apk.Build(apk.Options{Package: value("package"), Label: "Recall"})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "app.apk")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := r.dev.Install(r.ctx, path); err != nil {
			t.Fatalf("installing the canary app: %v", err)
		}
	})
	r.step(profiles.ActionOpenApp, func() {
		r.sh("monkey -p", value("package"), "-c", "android.intent.category.LAUNCHER", "1")
	})
	r.step(profiles.ActionCharge, func() {
		r.sh(fmt.Sprintf(charge.Plug, "ac"))
		r.sh(fmt.Sprintf(charge.Level, mustAtoi(t, value("level"))))
	})
	r.step(profiles.ActionChangeSetting, func() {
		target := settingTarget(t, prof, "device_name")
		r.sh("settings put "+target.Namespace+" "+target.Key, value("setting"))
	})
	r.step(profiles.ActionCreateFolder, func() {
		r.sh("mkdir -p", prof.Actions.FolderRoot+"/"+value("folder"))
	})
	r.step(profiles.ActionConnectWifi, func() {
		// Unplugged first, so that plugging in after joining the network
		// makes the charging event that carries the SSID on later firmware.
		r.sh(charge.Unplug)
		r.sh("cmd wifi connect-network", value("ssid"), "open")
		r.sh(fmt.Sprintf(charge.Plug, "ac"))
	})
	r.step(profiles.ActionLockScreen, func() { r.sh("input keyevent 26") })
	r.step(switchOffStep, func() {
		ns, key, ok := strings.Cut(prof.Actions.Browser.AggregatedSwitch, ":")
		if !ok {
			t.Fatalf("profile %s: aggregated_switch %q is not NAMESPACE:KEY", prof.Name, prof.Actions.Browser.AggregatedSwitch)
		}
		r.sh("settings put "+ns+" "+key, "0")
		r.browse(value("url-off"))
	})

	truth, flows := r.settle()
	report := leak.New(canaries).Scan(flows)
	res := checkAgainstTruth(t, prof, r.phone.Firmware(), plants, truth, flows, report)
	checkIncremental(t, plants, flows, report)
	checkDifferential(t, flows)
	return res
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("number canary %q: %v", s, err)
	}
	return n
}

func settingTarget(t *testing.T, prof *profiles.Profile, key string) profiles.SettingTarget {
	t.Helper()
	for _, s := range prof.Actions.Settings {
		if s.Key == key {
			return s
		}
	}
	t.Fatalf("profile %s lists no setting %q among %v", prof.Name, key, prof.Actions.Settings)
	return profiles.SettingTarget{}
}

// leakKey is a canary sent to one host.
type leakKey struct{ id, host string }

func checkAgainstTruth(t *testing.T, prof *profiles.Profile, fw *profiles.Firmware, plants map[string]*plant,
	truth []telemetry.Record, flows []capture.Flow, report leak.Report) result {
	g := gomega.NewWithT(t)

	// Every request the phone made arrived decrypted, and every event the
	// phone says it delivered is one request in the flow log.
	for _, f := range flows {
		switch {
		case f.Kind == capture.KindMark:
		case f.Kind != capture.KindHTTP:
			t.Errorf("flow %d is %s (%s %s), want only decrypted HTTP", f.Seq, f.Kind, f.Error, tlsAlert(f))
		case requestURL(f) == nil || !slices.Contains(prof.TelemetryHosts(), requestURL(f).Hostname()):
			t.Errorf("flow %d went to %s, not a telemetry host of %s", f.Seq, f.Request.URL, prof.Name)
		}
	}
	for _, rec := range truth {
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
	if got, want := len(events), len(delivered(truth)); got != want {
		t.Errorf("the proxy logged %d event flows to telemetry hosts, the ground truth has %d delivered events", got, want)
	}

	// The canary each delivered event carried, per host, against the
	// requests to that host the detector found it in. Each event is its own
	// request, so the counts are equal when every event was found (recall)
	// and nothing else was (no false positives).
	byValue := map[string]string{}
	for id, p := range plants {
		byValue[p.c.Value] = id
	}
	want := map[leakKey]int{}
	for _, rec := range delivered(truth) {
		seen := map[string]bool{}
		for _, v := range rec.Values {
			if id, ok := byValue[v]; ok && !seen[id] {
				seen[id] = true
				want[leakKey{id, rec.Host}]++
			}
		}
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
			t.Errorf("recall: %s (%q) went to %s in %d delivered events, found in %d requests", k.id, plants[k.id].c.Value, k.host, w, got)
		}
		if got > w {
			t.Errorf("false positive: %s found in %d requests to %s, the ground truth has %d such events", k.id, got, k.host, w)
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
	fmt.Fprintln(tw, "canary\tvalue\thost\tevents\tfound in\tchain")
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
// shows only in the differential view, its window against the idle one.
func checkDifferential(t *testing.T, flows []capture.Flow) {
	windows := map[string]capture.Window{}
	for _, w := range capture.Windows(flows) {
		windows[w.Name] = w
	}
	idle, ok1 := windows[idleStep]
	lock, ok2 := windows[profiles.ActionLockScreen]
	if !ok1 || !ok2 {
		t.Errorf("flow log windows %v, want %s and %s", slices.Sorted(maps.Keys(windows)), idleStep, profiles.ActionLockScreen)
		return
	}
	d := leak.Differential(capture.Between(flows, idle), capture.Between(flows, lock))
	if !slices.Contains(d.Hosts, hostMistat) || !slices.Contains(d.Paths, hostMistat+"/mistats/v3") || !slices.Contains(d.Events, "screen_lock") {
		t.Errorf("differential view of %s: %+v, want host %s, its /mistats/v3 and event screen_lock", profiles.ActionLockScreen, d, hostMistat)
	}
	t.Logf("differential view of %s against %s: hosts %v, paths %v, events %v", profiles.ActionLockScreen, idleStep, d.Hosts, d.Paths, d.Events)
}
