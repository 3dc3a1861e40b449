package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"telltale.dev/reports/baseline"
	"telltale.dev/reports/run"
	"telltale.dev/reports/runtest"
)

const fixtureDir = "../../fixtures/baselines"

func cli(t *testing.T, main func(args []string, stdout, stderr *bytes.Buffer) int, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := main(args, &out, &errb)
	return code, out.String(), errb.String()
}

func diffCLI(args []string, o, e *bytes.Buffer) int     { return diffMain(args, o, e) }
func baselineCLI(args []string, o, e *bytes.Buffer) int { return baselineMain(args, o, e) }
func reportCLI(args []string, o, e *bytes.Buffer) int   { return reportMain(args, o, e) }

func TestDiffLeakyToFixedListsExactlyTheExpectedDifferences(t *testing.T) {
	code, out, errs := cli(t, diffCLI, filepath.Join(fixtureDir, "redmi-note-8-V11.0.3.0.json"), filepath.Join(fixtureDir, "redmi-note-8-V12.0.2.0.json"))
	want := `redmi-note-8: V11.0.3.0.PCOMIXM -> V12.0.2.0.QCOMIXM
  GONE     browse-incognito [aggregated switch off]: sa.api.intl.miui.com via form:data_list > base64 > gzip > json (vs baseline browse-incognito)
0 new, 1 gone, 0 changed
`
	if code != 0 || out != want {
		t.Errorf("exit %d (stderr %q), output:\n%s\nwant exit 0 and:\n%s", code, errs, out, want)
	}
	if code, _, _ := cli(t, diffCLI, "--fail-on", "any", filepath.Join(fixtureDir, "redmi-note-8-V11.0.3.0.json"), filepath.Join(fixtureDir, "redmi-note-8-V12.0.2.0.json")); code != 1 {
		t.Errorf("--fail-on any with leaks gone: exit %d, want 1", code)
	}
}

func TestDiffFixedToLaterFailsOnTheNewLeak(t *testing.T) {
	fixed, later := filepath.Join(fixtureDir, "redmi-note-8-V12.0.2.0.json"), filepath.Join(fixtureDir, "redmi-note-8-V12.5.1.0.json")
	code, out, _ := cli(t, diffCLI, fixed, later, "--format", "json")
	if code != 1 {
		t.Errorf("exit %d, want 1 for a new leak", code)
	}
	var res baseline.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("--format json output is not JSON: %v\n%s", err, out)
	}
	if res.New != 1 || res.Gone != 0 || res.Changed != 0 || len(res.Models[0].Actions) != 1 ||
		res.Models[0].Actions[0].Action != "connect-wifi" || res.Models[0].Actions[0].New[0].Host != "tracking.intl.miui.com" {
		t.Errorf("result %+v, want one new connect-wifi leak to tracking.intl.miui.com", res)
	}
	if code, _, _ := cli(t, diffCLI, "--fail-on", "none", fixed, later); code != 0 {
		t.Errorf("--fail-on none: exit %d, want 0", code)
	}
	if code, _, errs := cli(t, diffCLI, fixed); code != 2 || !strings.Contains(errs, "usage") {
		t.Errorf("one argument: exit %d stderr %q, want 2 and usage", code, errs)
	}
	if code, _, errs := cli(t, diffCLI, fixed, "/nonexistent/run"); code != 2 || !strings.Contains(errs, "does not exist") {
		t.Errorf("missing run: exit %d stderr %q", code, errs)
	}
}

func TestBaselineSaveThenDiffAgainstTheSameRun(t *testing.T) {
	r, err := runtest.Write(t.TempDir(), []runtest.Phone{{Serial: "s1", Model: "redmi-note-8", Firmware: runtest.FirmwareLater}}, runtest.Options{FlowsPerSpec: 5})
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := cli(t, baselineCLI, "save", r.Dir)
	if code != 0 {
		t.Fatalf("baseline save: exit %d: %s", code, errs)
	}
	fixture, err := os.ReadFile(filepath.Join(fixtureDir, "redmi-note-8-V12.5.1.0.json"))
	if err != nil {
		t.Fatal(err)
	}
	// the saved baseline equals the checked-in one but for its run id
	got := strings.Replace(out, `"runId": "`+r.Manifest.RunID+`"`, `"runId": "behaviour-matrix"`, 1)
	if got != string(fixture) {
		t.Errorf("baseline save output differs from the fixture:\n%s", out)
	}
	path := filepath.Join(t.TempDir(), "baseline.json")
	os.WriteFile(path, []byte(out), 0o644)
	code, out, _ = cli(t, diffCLI, path, r.Dir)
	if code != 0 || !strings.HasSuffix(out, "0 new, 0 gone, 0 changed\n") {
		t.Errorf("a run against its own baseline: exit %d\n%s", code, out)
	}
}

func TestReportMergeAndHTML(t *testing.T) {
	// Two CI shards, each with an emulator that calls itself emulator-5554.
	a, err := runtest.Write(t.TempDir(), []runtest.Phone{{Serial: "emulator-5554", Model: "redmi-note-8", Firmware: runtest.FirmwareLeaky}}, runtest.Options{FlowsPerSpec: 5})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(a.Dir, "junit.xml"), []byte("<testsuites/>"), 0o644)
	b, err := runtest.Write(t.TempDir(), []runtest.Phone{{Serial: "emulator-5554", Model: "redmi-note-8", Firmware: runtest.FirmwareLater}}, runtest.Options{FlowsPerSpec: 5, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "merged")
	code, stdout, errs := cli(t, reportCLI, "merge", "--out", out, a.Dir, b.Dir)
	if code != 0 {
		t.Fatalf("merge: exit %d: %s", code, errs)
	}
	if !strings.Contains(stdout, "2 devices") {
		t.Errorf("merge said %q", stdout)
	}
	m, err := run.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Specs) != len(a.Specs)+len(b.Specs) || len(m.Manifest.Devices) != 2 || len(m.Manifest.Shards) != 2 {
		t.Fatalf("merged: %d specs, %d devices, %d shards", len(m.Specs), len(m.Manifest.Devices), len(m.Manifest.Shards))
	}
	if _, err := os.Stat(filepath.Join(out, m.Manifest.Shards[0].Dir, "junit.xml")); err != nil {
		t.Errorf("shard junit.xml not kept: %v", err)
	}
	for _, s := range m.Specs {
		if _, ok := m.Device(s.Device); !ok {
			t.Errorf("spec %d names device %q, not in the merged run.json", s.ID, s.Device)
		}
		if _, err := os.Stat(filepath.Join(out, s.HAR)); err != nil {
			t.Errorf("spec %d: %v", s.ID, err)
		}
	}
	// The merged run diffs per model and firmware: against the V11 baseline
	// the V11 shard is unchanged and the V12.5 shard shows the update.
	code, text, _ := cli(t, diffCLI, filepath.Join(fixtureDir, "redmi-note-8-V11.0.3.0.json"), out)
	if code != 1 || !strings.Contains(text, "V11.0.3.0.PCOMIXM -> V11.0.3.0.PCOMIXM\n  no changes") ||
		!strings.Contains(text, "V11.0.3.0.PCOMIXM -> V12.5.1.0.RCOMIXM") || !strings.Contains(text, "NEW      connect-wifi") {
		t.Errorf("diff of the merged run: exit %d\n%s", code, text)
	}
	os.Remove(filepath.Join(out, run.IndexFile))
	if code, _, errs := cli(t, reportCLI, "html", out); code != 0 {
		t.Fatalf("report html: exit %d: %s", code, errs)
	}
	html, err := os.ReadFile(filepath.Join(out, run.IndexFile))
	if err != nil || !strings.Contains(string(html), "emulator-5554@") {
		t.Errorf("re-rendered report lacks the renamed device (err %v)", err)
	}
	if code, _, _ := cli(t, reportCLI, "merge", a.Dir); code != 2 {
		t.Errorf("merge without --out: exit %d, want 2", code)
	}
	if code, _, errs := cli(t, reportCLI, "merge", "--out", out, a.Dir); code != 2 || !strings.Contains(errs, "already holds a run") {
		t.Errorf("merge into an existing run: exit %d %q", code, errs)
	}
}
