package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"

	"telltale.dev/devices/adb"
	"telltale.dev/devices/adb/adbtest"
	"telltale.dev/devices/sim"
	"telltale.dev/harness/leak"
	"telltale.dev/harness/session"
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
	before session.Snapshot
}

func startPhone(t *testing.T, c *adb.Client, model, fw string) *phone {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := sim.Start(ctx, sim.Config{Model: model, Firmware: fw})
	if err != nil {
		t.Fatalf("start simulated %s %s: %v", model, fw, err)
	}
	t.Cleanup(func() { p.Close() })
	adbtest.Connect(t, c, p.Serial())
	ph := &phone{Phone: p, client: c, model: model, fw: fw}
	ph.before = ph.settings(t)
	return ph
}

func (p *phone) settings(t *testing.T) session.Snapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	snap := session.Snapshot{}
	for _, ns := range []string{"system", "secure", "global"} {
		out, err := p.client.Device(p.Serial()).RunCommand(ctx, "settings list "+ns)
		if err != nil {
			t.Fatalf("settings list %s on %s: %v", ns, p.Serial(), err)
		}
		m := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				m[k] = v
			}
		}
		snap[ns] = m
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
	a, b := adbtest.StartServer(t), adbtest.StartServer(t)
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
	if err := b.Disconnect(ctx, farm.Serial()); err != nil {
		t.Fatal(err)
	}
	farm.client = a
	code, out := runSuite(t, ctx, "--adb="+a.Addr()+","+b.Addr(), "--connect="+farm.Serial(), "-p", "4", "--settle=2s", "--out="+dir)
	if code != 0 {
		t.Fatalf("telltale run exited %d:\n%s", code, tail(out, 200))
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
		if !ok || dev.Model != p.model || !session.FirmwareMatches(dev.Firmware, p.fw) || dev.CAStore != "system" || dev.Host != p.client.Addr() {
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
	if entries, err := session.ReadJournal(dir); err != nil || len(session.Pending(entries)) != 0 {
		t.Errorf("journal: %d changes not undone (%v)", len(session.Pending(entries)), err)
	}
}

// TestRunPhoneLostMidSpec: one of two phones drops off its adb server while
// a spec runs. That spec fails as "device lost" within its deadline, the
// phone's remaining specs are skipped with the reason, and the other phone
// finishes its whole suite.
func TestRunPhoneLostMidSpec(t *testing.T) {
	c := adbtest.StartServer(t)
	victim := startPhone(t, c, "redmi-note-8", "V11.0.3.0")
	other := startPhone(t, c, "mi-9t", "V11.0.3.0")
	dir := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	// Kill the victim once its first action window has started.
	go func() {
		for ctx.Err() == nil {
			entries, _ := session.ReadJournal(dir)
			for _, e := range entries {
				if e.Serial == victim.Serial() && e.Op == session.OpInstall {
					time.Sleep(200 * time.Millisecond)
					victim.Close()
					return
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	start := time.Now()
	code, out := runSuite(t, ctx, "--adb="+c.Addr(), "-p", "2", "--settle=2s", "--out="+dir)
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
	c := adbtest.StartServer(t)
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
	code, out := runSuite(t, runCtx, "--adb="+c.Addr(), "--settle=2s", "--out="+dir)
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
	if len(r.Specs) >= 11 {
		t.Errorf("all %d specs ran: the interrupt came too late to test anything", len(r.Specs))
	}
	p.checkRestored(t)
	if left := containersFor(t, dir); len(left) > 0 {
		t.Errorf("proxy containers left after Ctrl-C: %v", left)
	}
	if entries, err := session.ReadJournal(dir); err != nil || len(session.Pending(entries)) != 0 {
		t.Errorf("journal: %d changes not undone (%v)", len(session.Pending(entries)), err)
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

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return fmt.Sprint(strings.Join(l, "\n"))
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--policy=lenient"}, {"-p", "0"}, {"extra"}, {"--nope"}} {
		var out syncBuffer
		if code := runMain(context.Background(), args, &out, &out); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage)\n%s", args, code, out.String())
		}
	}
}

func TestPrintMatrix(t *testing.T) {
	r := &run.Run{
		Manifest: run.Manifest{Devices: []run.Device{{Serial: "s1", Model: "redmi-note-8", Firmware: "V11.0.3.0.PCOMIXM"}}},
		Specs: []run.SpecResult{
			{Device: "s1", Action: "search", State: run.StatePassed, Findings: []leak.Finding{
				{Canary: "q", Host: "sa.api.intl.miui.com", Chain: []string{"form:data_list", "base64", "gzip", "json:$[0].properties.search_word"}},
				{Canary: "q", Host: "sa.api.intl.miui.com", Chain: []string{"form:data_list", "base64", "gzip", "json:$[0].properties.url", "percent"}},
			}},
			{Device: "s1", Action: "browse-incognito", Variant: "aggregated switch off", State: run.StatePassed},
			{Device: "s1", Action: "lock-screen", State: run.StatePassed, Diff: leak.Diff{Hosts: []string{"data.mistat.intl.xiaomi.com"}}},
			{Device: "s1", Action: "open-app", State: run.StateFailed, TLSFailures: []run.TLSFailure{{SNI: "tracking.intl.miui.com"}}},
		},
	}
	var b bytes.Buffer
	printMatrix(&b, r)
	got := strings.Join(strings.Fields(b.String()), " ") // column widths aside
	for _, want := range []string{
		"redmi-note-8 V11.0.3.0.PCOMIXM search YES sa.api.intl.miui.com form:data_list > base64 > gzip > json; form:data_list > base64 > gzip > json > percent passed",
		"browse-incognito [aggregated switch off] no - - passed",
		"lock-screen n/a new: data.mistat.intl.xiaomi.com - passed",
		"open-app not decrypted - - failed",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("matrix lacks %q:\n%s", want, b.String())
		}
	}
}

// TestRunFailsWhenBehaviourChanges is the regression promise: the suite
// asserts each firmware's known leaks, so a phone that starts leaking what
// its profile says it does not, or stops leaking what it says it does, fails
// with the decoded evidence. The profile is edited (TELLTALE_PROFILES) to
// play a firmware update in both directions.
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
	profDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(profDir, "redmi-note-8.yaml"), []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TELLTALE_PROFILES", profDir)

	c := adbtest.StartServer(t)
	p := startPhone(t, c, "redmi-note-8", "V11.0.3.0")
	dir := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	code, out := runSuite(t, ctx, "--adb="+c.Addr(), "--label-filter=browse-incognito || connect-wifi", "--settle=2s", "--out="+dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, tail(out, 60))
	}
	r, err := run.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	failed := map[string]string{}
	for _, s := range r.Specs {
		if s.State == run.StateFailed {
			failed[s.Action] = s.Failure
		}
	}
	// A new leak: the failure shows the decoded URL and the chain.
	url := ""
	for _, s := range r.Specs {
		if s.Action == "browse-incognito" && len(s.Canaries) > 0 {
			url = s.Canaries[0].Value
		}
	}
	if f := failed["browse-incognito"]; url == "" || !strings.Contains(f, url) || !strings.Contains(f, "form:data_list > base64 > gzip > json") {
		t.Errorf("browse-incognito failure lacks the decoded URL %q and its chain:\n%s", url, f)
	}
	// A leak gone: the failure names what was expected.
	if f := failed["connect-wifi"]; !strings.Contains(f, "tracking.intl.miui.com") {
		t.Errorf("connect-wifi failure does not name the expected leak:\n%s", f)
	}
	p.checkRestored(t)
}
