package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"

	"telltale.dev/devices/adb"
	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim"
	"telltale.dev/devices/sim/rig"
	"telltale.dev/devices/sim/rig/rigtest"
	"telltale.dev/devices/sim/sdk"
	"telltale.dev/harness/journal"
	"telltale.dev/harness/lease"
	"telltale.dev/harness/restore"
	"telltale.dev/reports/run"
)

// These tests drive `telltale run` end to end: real adb servers, simulated
// phones speaking the adb wire protocol, the suite compiled and run by the
// Ginkgo CLI, one proxy container per phone through testcontainers-go.

type phone struct {
	*sim.Phone
	client *adb.Client
	model  string
	fw     string
	before restore.Snapshot
}

// startPhone starts a simulated phone on the rig and snapshots its
// settings, which the run must leave as they were.
func startPhone(t *testing.T, r *rig.Rig, model, fw string) *phone {
	t.Helper()
	return startConfigured(t, r, sim.Config{Model: model, Firmware: fw})
}

func startConfigured(t *testing.T, r *rig.Rig, cfg sim.Config) *phone {
	t.Helper()
	ph := &phone{Phone: rigtest.Phone(t, r, cfg), client: r.Client(), model: cfg.Model, fw: cfg.Firmware}
	ph.before = ph.settings(t)
	return ph
}

// runFailing runs the specs labels selects on the rig's phone p, wants the
// run to fail, and returns it with its failed specs by action.
func runFailing(t *testing.T, r *rig.Rig, p *phone, labels string) (*run.Run, map[string]run.SpecResult) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	code, out := runSuite(t, ctx, "--adb="+r.Client().Addr(), "--ap-hook="+apHook(t, p), "--label-filter="+labels, "--settle=2s", "--out="+dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, tail(out, 60))
	}
	t.Logf("failed specs:%s", failures(dir))
	res, err := run.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	failed := map[string]run.SpecResult{}
	for _, s := range res.Specs {
		if s.State == run.StateFailed {
			failed[s.Action] = s
		}
	}
	return res, failed
}

func (p *phone) settings(t *testing.T) restore.Snapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	snap, err := restore.TakeSnapshot(ctx, p.client.Device(p.Serial()))
	if err != nil {
		t.Fatalf("settings of %s: %v", p.Serial(), err)
	}
	return snap
}

// checkRestored asserts what the issue asks of every run: the phone's
// settings equal the snapshot taken before, no reverse rule is left, and
// the CA is gone from the system store.
func (p *phone) checkRestored(t *testing.T) {
	t.Helper()
	if d := p.before.Diff(p.settings(t)); len(d) > 0 {
		t.Errorf("%s: settings differ after the run:\n  %s", p.Serial(), strings.Join(d, "\n  "))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dev := p.client.Device(p.Serial())
	if rules, err := dev.ReverseList(ctx); err != nil || len(rules) > 0 {
		t.Errorf("%s: reverse rules after the run: %v (%v)", p.Serial(), rules, err)
	}
	if out, err := dev.RunCommand(ctx, "ls /system/etc/security/cacerts"); err != nil || strings.Count(out, ".0") != 3 {
		t.Errorf("%s: system CA store after the run holds %q (%v), want the 3 original certificates", p.Serial(), out, err)
	}
}

// containersFor lists containers (running or not) bind-mounting part of dir:
// the proxies of that run, and no one else's.
func containersFor(t *testing.T, dir string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		t.Fatalf("docker: %v", err)
	}
	defer cli.Close()
	res, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", "dev.telltale.component=proxy")})
	if err != nil {
		t.Fatalf("docker ps: %v", err)
	}
	var out []string
	for _, c := range res.Items {
		for _, m := range c.Mounts {
			if strings.HasPrefix(m.Source, dir) {
				out = append(out, c.ID[:12]+" "+string(c.State))
			}
		}
	}
	return out
}

// syncBuffer collects the run's output while the test polls it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// apHook is the --ap-hook a lab gives for its access point (README, "Wi-Fi
// access point"), here one every phone of the test sees: a script calling
// a loopback endpoint of the test, as a lab's hook calls a router's API.
// The phones were started by the test, not by the run, so the run has no
// simulated environment of its own to put networks in.
func apHook(t *testing.T, phones ...*phone) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ssid := r.FormValue("ssid")
		for _, p := range phones {
			ap := phoneAP{p}
			switch r.URL.Path {
			case "/add":
				_ = ap.Add(r.Context(), ssid)
			case "/remove":
				_ = ap.Remove(r.Context(), ssid)
			default:
				http.Error(w, "want /add or /remove", http.StatusNotFound)
				return
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	script := filepath.Join(t.TempDir(), "ap-hook")
	body := "#!/bin/sh\nexec curl -fsS --max-time 10 --data-urlencode \"ssid=$2\" \"" + srv.URL + "/$1\"\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return script
}

func runSuite(t *testing.T, ctx context.Context, args ...string) (int, string) {
	t.Helper()
	var out syncBuffer
	t.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	code := runMain(ctx, args, &out, &out)
	return code, out.String()
}

// TestRunFourPhonesInParallel: two models, two adb servers (one phone
// reached by --connect, as on a device farm), four phones, four Ginkgo
// processes. Every phone is leased by exactly one process, its
// specs all pass against its firmware's known leaks, the run directory
// records each device once, and every phone is back as it was.
func TestRunFourPhonesInParallel(t *testing.T) {
	a, b := rigtest.New(t), rigtest.New(t)
	phones := []*phone{
		startPhone(t, a, "redmi-note-8", "V11.0.3.0"),
		startPhone(t, a, "mi-9t", "V12.0.2.0"),
		startPhone(t, b, "redmi-note-8", "V12.5.1.0"),
		startPhone(t, b, "mi-9t", "V11.0.3.0"),
	}
	dir := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	// The fourth phone is reached the way a device farm's remote-connect
	// address is: not attached beforehand, but `adb connect`ed by the run
	// (through the first server).
	farm := phones[3]
	if err := b.Client().Disconnect(ctx, farm.Serial()); err != nil {
		t.Fatal(err)
	}
	farm.client = a.Client()
	code, out := runSuite(t, ctx, "--adb="+a.Client().Addr()+","+b.Client().Addr(), "--connect="+farm.Serial(), "--ap-hook="+apHook(t, phones...), "-p", "4", "--settle=2s", "--out="+dir)
	if code != 0 {
		t.Fatalf("telltale run exited %d:\n%s%s", code, tail(out, 60), failures(dir))
	}
	r, err := run.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Manifest.Status != run.StatusPassed || len(r.Manifest.Devices) != 4 {
		t.Fatalf("run.json: status %s, %d devices; want passed, 4", r.Manifest.Status, len(r.Manifest.Devices))
	}
	for _, p := range phones {
		dev, ok := r.Device(p.Serial())
		if !ok || dev.Model != p.model || !lease.FirmwareMatches(dev.Firmware, p.fw) || dev.CAStore != "system" || dev.Host != p.client.Addr() {
			t.Errorf("run.json device %s: %+v", p.Serial(), dev)
		}
		specs := map[string]int{}
		for _, s := range r.Specs {
			if s.Device == p.Serial() {
				specs[s.Key()]++
				if s.State != run.StatePassed {
					t.Errorf("%s %s: %s %s", p.Serial(), s.Key(), s.State, s.Failure)
				}
			}
		}
		// Leased once: each spec of the device recorded exactly once.
		for k, n := range specs {
			if n != 1 {
				t.Errorf("%s: spec %s recorded %d times", p.Serial(), k, n)
			}
		}
		if len(specs) < 9 {
			t.Errorf("%s: only %d specs recorded: %v", p.Serial(), len(specs), specs)
		}
		leaked := map[string]bool{}
		for _, s := range r.Specs {
			if s.Device == p.Serial() && s.Leaked() {
				leaked[s.Key()] = true
			}
		}
		// The 2020 leak on every firmware (the fix's switch is on by
		// default), gone only with the switch off.
		if !leaked["browse-incognito"] || leaked["browse-incognito [aggregated switch off]"] {
			t.Errorf("%s %s: incognito leaks %v", p.model, p.fw, leaked)
		}
		if got, want := leaked["connect-wifi"], strings.HasPrefix(p.fw, "V12.5"); got != want {
			t.Errorf("%s %s: connect-wifi leaked %v, want %v", p.model, p.fw, got, want)
		}
		p.checkRestored(t)
	}
	if left := containersFor(t, dir); len(left) > 0 {
		t.Errorf("proxy containers left: %v", left)
	}
	if entries, err := journal.Read(dir); err != nil || len(journal.Pending(entries)) != 0 {
		t.Errorf("journal: %d changes not undone (%v)", len(journal.Pending(entries)), err)
	}
}

// TestRunPhoneLostMidSpec: one of two phones drops off its adb server while
// a spec runs. That spec fails as "device lost" within its deadline, the
// phone's remaining specs are skipped with the reason, and the other phone
// finishes its whole suite.
func TestRunPhoneLostMidSpec(t *testing.T) {
	c := rigtest.New(t)
	victim := startPhone(t, c, "redmi-note-8", "V11.0.3.0")
	other := startPhone(t, c, "mi-9t", "V11.0.3.0")
	dir := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	// Kill the victim once its first action window has started.
	go func() {
		for ctx.Err() == nil {
			entries, _ := journal.Read(dir)
			for _, e := range entries {
				if e.Serial == victim.Serial() && e.Op == journal.OpInstall {
					time.Sleep(200 * time.Millisecond)
					victim.Close()
					return
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	start := time.Now()
	code, out := runSuite(t, ctx, "--adb="+c.Client().Addr(), "-p", "2", "--settle=2s", "--out="+dir)
	elapsed := time.Since(start)
	if code == 0 {
		t.Fatalf("run passed although a phone was lost:\n%s", tail(out, 60))
	}
	if !strings.Contains(out, "device lost") {
		t.Errorf("output does not say device lost:\n%s", tail(out, 60))
	}
	r, err := run.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var lost, otherPassed int
	for _, s := range r.Specs {
		switch s.Device {
		case victim.Serial():
			if s.State == run.StateFailed && strings.Contains(s.Failure, "device lost") {
				lost++
			}
		case other.Serial():
			if s.State == run.StatePassed {
				otherPassed++
			}
		}
	}
	if lost != 1 {
		t.Errorf("victim: %d specs failed as device lost, want 1", lost)
	}
	if otherPassed < 9 {
		t.Errorf("other phone: %d specs passed, want all (>= 9)", otherPassed)
	}
	skipped := ginkgoSkips(t, dir, "device lost earlier")
	if skipped < 5 {
		t.Errorf("victim: %d specs skipped with the device-lost reason, want the rest of its suite", skipped)
	}
	if elapsed > 4*time.Minute {
		t.Errorf("run took %s: a lost device must not stall it", elapsed)
	}
	other.checkRestored(t)
	if left := containersFor(t, dir); len(left) > 0 {
		t.Errorf("proxy containers left: %v", left)
	}
}

// TestRunInterruptRestoresPhone: a Ctrl-C in the middle of the run stops it
// as interrupted, leaves no container, and the phone as it was.
func TestRunInterruptRestoresPhone(t *testing.T) {
	c := rigtest.New(t)
	p := startPhone(t, c, "redmi-note-8", "V12.0.2.0")
	dir := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	runCtx, interrupt := context.WithCancel(ctx)
	go func() {
		for runCtx.Err() == nil {
			if r, err := run.Open(dir); err == nil && len(r.Specs) >= 2 {
				interrupt() // as main's signal.NotifyContext does on Ctrl-C
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	code, out := runSuite(t, runCtx, "--adb="+c.Client().Addr(), "--settle=2s", "--out="+dir)
	r := interrupted(t, dir, code, out)
	if len(r.Specs) >= 11 {
		t.Errorf("all %d specs ran: the interrupt came too late to test anything", len(r.Specs))
	}
	p.checkRestored(t)
	if left := containersFor(t, dir); len(left) > 0 {
		t.Errorf("proxy containers left after Ctrl-C: %v", left)
	}
	if entries, err := journal.Read(dir); err != nil || len(journal.Pending(entries)) != 0 {
		t.Errorf("journal: %d changes not undone (%v)", len(journal.Pending(entries)), err)
	}
}

// ginkgoSkips counts specs in Ginkgo's report.json skipped with a message
// containing reason.
func ginkgoSkips(t *testing.T, dir, reason string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatalf("report.json: %v", err)
	}
	var reports []struct {
		SpecReports []struct {
			State   string
			Failure struct{ Message string }
		}
	}
	if err := json.Unmarshal(b, &reports); err != nil {
		t.Fatalf("report.json: %v", err)
	}
	n := 0
	for _, r := range reports {
		for _, s := range r.SpecReports {
			if s.State == "skipped" && strings.Contains(s.Failure.Message, reason) {
				n++
			}
		}
	}
	return n
}

// failures are the failed specs' messages in the run directory dir, which
// the suite's output may have scrolled away.
func failures(dir string) string {
	r, err := run.Open(dir)
	if err != nil {
		return fmt.Sprintf("\n(no run directory to read failures from: %v)", err)
	}
	var b strings.Builder
	for _, s := range r.Specs {
		if s.State == run.StateFailed {
			fmt.Fprintf(&b, "\n--- %s %s: %s", s.Device, s.Key(), s.Failure)
		}
	}
	return b.String()
}

// interrupted checks that a run stopped by a signal exited non-zero and
// left its run directory saying so, and returns that run.
func interrupted(t *testing.T, dir string, code int, out string) *run.Run {
	t.Helper()
	if code == 0 {
		t.Fatalf("interrupted run exited 0:\n%s", tail(out, 40))
	}
	r, err := run.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Manifest.Status != run.StatusInterrupted {
		t.Errorf("run.json status %q, want interrupted", r.Manifest.Status)
	}
	return r
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return fmt.Sprint(strings.Join(l, "\n"))
}

// TestRunRecordsWhySetupFailed: a suite whose set-up fails after the run
// directory exists (here: a machine without adb, which the simulated phone
// needs) closes run.json as failed with the set-up's own message, and
// telltale run prints it.
func TestRunRecordsWhySetupFailed(t *testing.T) {
	t.Setenv("PATH", pathWithout(t, "adb"))
	dir := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	code, out := runSuite(t, ctx, "--devices=sim:redmi-note-8", "--in-process-proxy", "--out="+dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, tail(out, 40))
	}
	r, err := run.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Manifest.Status != run.StatusFailed || !strings.Contains(r.Manifest.Reason, "SynchronizedBeforeSuite failed: preparing the run: ") ||
		!strings.Contains(r.Manifest.Reason, "apt-get install adb") {
		t.Errorf("run.json: status %q, reason %q", r.Manifest.Status, r.Manifest.Reason)
	}
	if !strings.Contains(out, "why: "+r.Manifest.Reason) {
		t.Errorf("telltale run does not say why:\n%s", tail(out, 20))
	}
}

// pathWithout is a PATH of one directory holding links to every command on
// the current PATH but the named one, as on a machine without it.
func pathWithout(t *testing.T, missing string) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		entries, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range entries {
			link := filepath.Join(dir, e.Name())
			if e.Name() == missing || e.IsDir() {
				continue
			}
			if _, err := os.Lstat(link); err == nil {
				continue // an earlier PATH entry wins, as in a shell
			}
			if err := os.Symlink(filepath.Join(d, e.Name()), link); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--policy=lenient"}, {"-p", "0"}, {"extra"}, {"--nope"}} {
		var out syncBuffer
		if code := runMain(context.Background(), args, &out, &out); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage)\n%s", args, code, out.String())
		}
	}
}

// TestRunFailsWhenBehaviourChanges is the regression promise: the suite
// asserts each firmware's known leaks, so a phone that starts leaking what
// its profile says it does not, or stops leaking what it says it does, fails
// with the decoded evidence; and an action that plants nothing (locking the
// screen) fails when its window sends what the profile does not list. The
// profile is edited (TELLTALE_PROFILES) to play a firmware update in both
// directions.
func TestRunFailsWhenBehaviourChanges(t *testing.T) {
	b, err := os.ReadFile("../../devices/profiles/redmi-note-8.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const incognito = "      - {action: browse-incognito, host: sa.api.intl.miui.com, via: [form:data_list, base64, gzip, json]}\n"
	y := string(b)
	if !strings.Contains(y, incognito) {
		t.Fatalf("profile no longer has the line this test edits: %q", incognito)
	}
	// V11 (the first firmware) now claims no incognito leak but an SSID leak.
	y = strings.Replace(y, incognito, "      - {action: connect-wifi, host: tracking.intl.miui.com, via: [onetrack-aes, gzip, json]}\n", 1)
	// ... and that locking the screen sends nothing.
	const lock = "      - {action: lock-screen, endpoint: data.mistat.intl.xiaomi.com/mistats/v3, events: [screen_lock]}\n"
	if !strings.Contains(y, lock) {
		t.Fatalf("profile no longer has the line this test edits: %q", lock)
	}
	y = strings.Replace(y, lock, "", 1)
	profDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(profDir, "redmi-note-8.yaml"), []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TELLTALE_PROFILES", profDir)

	c := rigtest.New(t)
	p := startPhone(t, c, "redmi-note-8", "V11.0.3.0")
	r, failed := runFailing(t, c, p, "browse-incognito || connect-wifi || lock-screen")
	// A new leak: the failure shows the decoded URL and the chain.
	url := ""
	for _, s := range r.Specs {
		if s.Action == "browse-incognito" && len(s.Canaries) > 0 {
			url = s.Canaries[0].Value
		}
	}
	if f := failed["browse-incognito"].Failure; url == "" || !strings.Contains(f, url) || !strings.Contains(f, "form:data_list > base64 > gzip > json") {
		t.Errorf("browse-incognito failure lacks the decoded URL %q and its chain:\n%s", url, f)
	}
	// A leak gone: the failure names what was expected.
	if f := failed["connect-wifi"].Failure; !strings.Contains(f, "tracking.intl.miui.com") {
		t.Errorf("connect-wifi failure does not name the expected leak:\n%s", f)
	}
	// Traffic the profile does not list: the failure names it.
	if f := failed["lock-screen"].Failure; !strings.Contains(f, "new endpoint data.mistat.intl.xiaomi.com/mistats/v3") || !strings.Contains(f, "new event screen_lock") {
		t.Errorf("lock-screen failure does not name the new traffic:\n%s", f)
	}
	// The two leaks that came after their windows fail in the sweep spec,
	// one Ginkgo spec; each action's record still says it failed.
	if !strings.Contains(r.Manifest.Reason, "2 spec(s) failed") || len(failed) != 3 {
		t.Errorf("run.json reason %q, %d actions failed; want 2 specs (lock-screen and the sweep), 3 actions", r.Manifest.Reason, len(failed))
	}
	p.checkRestored(t)
}

// TestRunFailsOnAnExtraLeakHost plays a firmware update the profile does
// not know yet: the phone's telemetry also sends each incognito URL to a
// second host, and no longer reports screen locks. Under known-leaks the
// incognito spec fails with the second host's decoded evidence (the known
// route is still taken), and the lock-screen spec fails for the endpoint
// and event it stopped sending.
func TestRunFailsOnAnExtraLeakHost(t *testing.T) {
	rules, err := sdk.DefaultRules()
	if err != nil {
		t.Fatal(err)
	}
	update := *sdk.Select(rules, "redmi-note-8", "V11.0.3.0.PCOMIXM")
	update.Rules = nil
	for _, rule := range sdk.Select(rules, "redmi-note-8", "V11.0.3.0.PCOMIXM").Rules {
		switch rule.Action {
		case profiles.ActionLockScreen:
			continue
		case profiles.ActionBrowseIncognito:
			update.Rules = append(update.Rules, sdk.Rule{Action: rule.Action, Event: rule.Event, Format: sdk.FormatMistat,
				Host: "data.mistat.intl.xiaomi.com", Path: "/mistats/v3", Values: []string{"url"}})
		}
		update.Rules = append(update.Rules, rule)
	}
	c := rigtest.New(t)
	p := startConfigured(t, c, sim.Config{Model: "redmi-note-8", Firmware: "V11.0.3.0", Telemetry: &update})
	r, failed := runFailing(t, c, p, "browse-incognito || lock-screen")
	incognito, ok := failed[profiles.ActionBrowseIncognito]
	if !ok || len(incognito.Canaries) != 1 {
		t.Fatalf("the incognito spec did not fail: %+v", r.Specs)
	}
	url := incognito.Canaries[0].Value
	for _, want := range []string{"leak(s) on no expected route", "-> data.mistat.intl.xiaomi.com", url} {
		if !strings.Contains(incognito.Failure, want) {
			t.Errorf("incognito failure lacks %q:\n%s", want, incognito.Failure)
		}
	}
	if strings.Contains(incognito.Failure, "No finding took") {
		t.Errorf("the known route to Sensors Analytics was reported missing:\n%s", incognito.Failure)
	}
	if f := failed[profiles.ActionLockScreen].Failure; !strings.Contains(f, "missing endpoint data.mistat.intl.xiaomi.com/mistats/v3") || !strings.Contains(f, "missing event screen_lock") {
		t.Errorf("lock-screen failure does not name what stopped:\n%s", f)
	}
	p.checkRestored(t)
}
