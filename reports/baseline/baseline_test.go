package baseline_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"telltale.dev/reports/baseline"
	"telltale.dev/reports/runtest"
)

var update = flag.Bool("update", false, "rewrite fixtures/baselines from the behaviour matrix")

const fixtures = "../../fixtures/baselines"

// firmwareFixture names the checked-in baseline of redmi-note-8 at a firmware.
func firmwareFixture(fw string) string {
	short := strings.Join(strings.Split(fw, ".")[:4], ".")
	return filepath.Join(fixtures, "redmi-note-8-"+short+".json")
}

func synthetic(t *testing.T, fw string) baseline.Baseline {
	t.Helper()
	r, err := runtest.Write(t.TempDir(), []runtest.Phone{{Serial: "ginkgo-1", Model: "redmi-note-8", Firmware: fw}}, runtest.Options{FlowsPerSpec: 8})
	if err != nil {
		t.Fatal(err)
	}
	b := baseline.FromRun(r)
	b.RunID = "behaviour-matrix"
	return b
}

// The checked-in baselines are what the behaviour matrix says each firmware
// leaks; -update rewrites them.
func TestFixtureBaselines(t *testing.T) {
	for _, fw := range []string{runtest.FirmwareLeaky, runtest.FirmwareFixed, runtest.FirmwareLater} {
		var want bytes.Buffer
		if err := synthetic(t, fw).Write(&want); err != nil {
			t.Fatal(err)
		}
		path := firmwareFixture(fw)
		if *update {
			if err := os.WriteFile(path, want.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run 'go test ./reports/baseline -run TestFixtureBaselines -update' to create it)", err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s differs from the behaviour matrix; regenerate with -update and review the diff", path)
		}
	}
}

func load(t *testing.T, fw string) baseline.Baseline {
	t.Helper()
	b, err := baseline.Load(firmwareFixture(fw))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLeakyToFixedListsExactlyTheSwitchOffLeaksAsGone(t *testing.T) {
	res, err := baseline.Compare(load(t, runtest.FirmwareLeaky), load(t, runtest.FirmwareFixed))
	if err != nil {
		t.Fatal(err)
	}
	// The fixed firmware adds the aggregated switch: with it off, the URL no
	// longer leaks (compared with what the leaky firmware did by default);
	// with it on, the leak is the old one. Nothing else differs.
	want := []baseline.ActionDiff{{
		Action: "browse-incognito [aggregated switch off]", ComparedWith: "browse-incognito",
		Gone: []baseline.Leak{{Host: runtest.HostSA, Chains: []string{"form:data_list > base64 > gzip > json"}}},
	}}
	if res.New != 0 || res.Gone != 1 || res.Changed != 0 || len(res.Models) != 1 {
		t.Fatalf("counts new %d gone %d changed %d models %d, want 0 1 0 1", res.New, res.Gone, res.Changed, len(res.Models))
	}
	m := res.Models[0]
	if m.BaselineFirmware != runtest.FirmwareLeaky || m.Firmware != runtest.FirmwareFixed {
		t.Errorf("compared %s with %s", m.Firmware, m.BaselineFirmware)
	}
	if !reflect.DeepEqual(m.Actions, want) {
		t.Errorf("differences:\n got %+v\nwant %+v", m.Actions, want)
	}
}

func TestFixedToLaterReportsTheSSIDLeak(t *testing.T) {
	res, err := baseline.Compare(load(t, runtest.FirmwareFixed), load(t, runtest.FirmwareLater))
	if err != nil {
		t.Fatal(err)
	}
	want := []baseline.ActionDiff{{Action: "connect-wifi", New: []baseline.Leak{{Host: runtest.HostOneTrack, Chains: []string{"onetrack-aes > gzip > json"}}}}}
	if res.New != 1 || res.Gone != 0 || res.Changed != 0 || !reflect.DeepEqual(res.Models[0].Actions, want) {
		t.Fatalf("got %+v, want exactly one new connect-wifi leak to %s", res, runtest.HostOneTrack)
	}
	var text bytes.Buffer
	res.WriteText(&text)
	if !strings.Contains(text.String(), "NEW      connect-wifi: tracking.intl.miui.com via onetrack-aes > gzip > json") {
		t.Errorf("text output:\n%s", text.String())
	}
}

func TestChangedChainAndPartialRuns(t *testing.T) {
	base := baseline.Baseline{SchemaVersion: 1, Entries: []baseline.Entry{
		{Model: "m", Firmware: "1", Action: "charge", Leaks: []baseline.Leak{{Host: "h", Chains: []string{"gzip > json"}}}},
		{Model: "m", Firmware: "1", Action: "search", Leaks: []baseline.Leak{{Host: "h", Chains: []string{"json"}}}},
	}}
	cur := baseline.Baseline{SchemaVersion: 1, Entries: []baseline.Entry{
		{Model: "m", Firmware: "2", Action: "charge", Leaks: []baseline.Leak{{Host: "h", Chains: []string{"onetrack-aes > gzip > json"}}}},
		{Model: "m", Firmware: "2", Action: "open-app", Leaks: []baseline.Leak{{Host: "t", Chains: []string{"json"}}}},
	}}
	res, err := baseline.Compare(base, cur)
	if err != nil {
		t.Fatal(err)
	}
	m := res.Models[0]
	if res.Changed != 1 || res.New != 1 || res.Gone != 0 || len(m.NotRun) != 1 || m.NotRun[0] != "search" {
		t.Fatalf("got %+v", res)
	}
	if !m.Actions[1].NotInBaseline || m.Actions[0].Changed[0].Before[0] != "gzip > json" {
		t.Errorf("actions %+v", m.Actions)
	}
	base.Entries = append(base.Entries, baseline.Entry{Model: "m", Firmware: "3", Action: "charge"})
	if _, err := baseline.Compare(base, cur); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("two baseline firmware versions: err = %v, want ambiguous", err)
	}
}

func TestLoadExplainsBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "x.json")
	os.WriteFile(bad, []byte("<html>"), 0o644)
	for path, want := range map[string]string{
		filepath.Join(dir, "missing.json"): "does not exist",
		bad:                                "baseline save",
		dir:                                "telltale run directory",
	} {
		if _, err := baseline.Load(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%s): err = %v, want it to mention %q", path, err, want)
		}
	}
}
