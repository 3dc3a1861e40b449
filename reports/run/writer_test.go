package run_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"telltale.dev/harness/capture"
	"telltale.dev/reports/run"
	"telltale.dev/reports/runtest"
)

func TestInterruptedRunKeepsWhatWasRecorded(t *testing.T) {
	dir := t.TempDir()
	w, err := run.Create(dir, run.Manifest{Harness: run.Harness{Version: "t"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.AddDevice(runtest.Device(runtest.Phone{Serial: "emulator-5554", Model: "redmi-note-8", Firmware: runtest.FirmwareLeaky})); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	flows := []capture.Flow{
		{Seq: 5, Kind: capture.KindMark, Mark: "start", Start: t0},
		{Seq: 6, Kind: capture.KindHTTP, Start: t0.Add(time.Second), Request: &capture.Request{Method: "GET", URL: "https://a.example/x"}},
		{Seq: 7, Kind: capture.KindTLSFailure, Start: t0.Add(2 * time.Second), TLS: &capture.TLSInfo{SNI: "pinned.example", Alert: "unknown ca"}},
		{Seq: 8, Kind: capture.KindHTTP, Start: t0.Add(3 * time.Second), Request: &capture.Request{Method: "GET", URL: "https://a.example/y"}},
	}
	got, err := w.RecordSpec(run.SpecResult{Name: "charge", Device: "emulator-5554", Action: "charge"}, flows)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != 1 || got.Flows != 3 || got.State != run.StatePassed {
		t.Errorf("stored spec: id %d flows %d state %q, want 1, 3, passed", got.ID, got.Flows, got.State)
	}
	if len(got.Hosts) != 2 || got.Hosts[0] != (run.HostCount{Host: "a.example", Flows: 2}) || got.Hosts[1] != (run.HostCount{Host: "pinned.example", Flows: 1}) {
		t.Errorf("hosts = %+v", got.Hosts)
	}
	if len(got.TLSFailures) != 1 || got.TLSFailures[0].SNI != "pinned.example" {
		t.Errorf("TLS failures = %+v, want pinned.example", got.TLSFailures)
	}
	if sum(got.Histogram) != 3 || got.Histogram[0] != 1 || got.Histogram[len(got.Histogram)-1] != 1 {
		t.Errorf("histogram = %v: want 3 flows, first and last bucket 1", got.Histogram)
	}
	if got.HAR != "specs/001-emulator-5554-charge.har" {
		t.Errorf("HAR path = %q", got.HAR)
	}
	hf, err := os.Open(filepath.Join(dir, got.HAR))
	if err != nil {
		t.Fatal(err)
	}
	back, err := capture.ReadHAR(hf)
	hf.Close()
	if err != nil {
		t.Fatalf("spec HAR does not read back: %v", err)
	}
	if len(back) != len(flows) || back[2].Kind != capture.KindTLSFailure {
		t.Errorf("HAR read back as %d flows (third %+v), want all %d with the TLS failure third", len(back), back[min(2, len(back)-1)], len(flows))
	}

	// The process dies here, without Finish: everything so far must read back.
	r, err := run.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Manifest.Status != run.StatusRunning || !r.Manifest.End.IsZero() || len(r.Specs) != 1 || len(r.Manifest.Devices) != 1 {
		t.Fatalf("unfinished run read back as status %q end %v, %d specs, %d devices", r.Manifest.Status, r.Manifest.End, len(r.Specs), len(r.Manifest.Devices))
	}
	if err := w.Finish(run.StatusInterrupted, "Interrupted by User"); err != nil {
		t.Fatal(err)
	}
	r, err = run.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Manifest.Status != run.StatusInterrupted || r.Manifest.End.IsZero() || r.Manifest.Reason != "Interrupted by User" {
		t.Errorf("after Finish: status %q (%q) end %v", r.Manifest.Status, r.Manifest.Reason, r.Manifest.End)
	}
	if _, err := os.Stat(filepath.Join(dir, run.IndexFile)); err != nil {
		t.Errorf("Finish did not render index.html: %v", err)
	}
	if _, err := run.Create(dir, run.Manifest{}); err == nil || !strings.Contains(err.Error(), "already holds a run") {
		t.Errorf("Create over an existing run: err = %v, want 'already holds a run'", err)
	}
	if err := w.Finish("done", ""); err == nil {
		t.Error("Finish accepted an unknown status")
	}
}

func sum(xs []int) (n int) {
	for _, x := range xs {
		n += x
	}
	return n
}

// Parallel Ginkgo processes each hold their own Writer on one directory.
func TestParallelWritersShareOneRun(t *testing.T) {
	dir := t.TempDir()
	if _, err := run.Create(dir, run.Manifest{}); err != nil {
		t.Fatal(err)
	}
	const writers, each = 4, 15
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for i := range writers {
		w, err := run.Join(dir)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			serial := fmt.Sprintf("phone-%d", i)
			if err := w.AddDevice(run.Device{Serial: serial, Model: "m"}); err != nil {
				errs <- err
			}
			for j := range each {
				f := []capture.Flow{{Seq: int64(j), Kind: capture.KindHTTP, Start: time.Now(), Request: &capture.Request{URL: "https://h.example/"}}}
				if _, err := w.RecordSpec(run.SpecResult{Device: serial, Action: "charge", Name: fmt.Sprint(j)}, f); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	r, err := run.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Manifest.Devices) != writers || len(r.Specs) != writers*each {
		t.Fatalf("got %d devices and %d specs, want %d and %d", len(r.Manifest.Devices), len(r.Specs), writers, writers*each)
	}
	ids := map[int]bool{}
	for _, s := range r.Specs {
		if ids[s.ID] {
			t.Errorf("spec id %d used twice", s.ID)
		}
		ids[s.ID] = true
		if _, err := os.Stat(filepath.Join(dir, s.HAR)); err != nil {
			t.Errorf("spec %d: %v", s.ID, err)
		}
	}
}

func TestOpenExplainsBadDirectories(t *testing.T) {
	if _, err := run.Open(t.TempDir()); err == nil || !strings.Contains(err.Error(), "telltale run directory") {
		t.Errorf("empty dir: err = %v", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, run.ManifestFile), []byte(`{"schemaVersion": 99}`), 0o644)
	if _, err := run.Open(dir); err == nil || !strings.Contains(err.Error(), "upgrade telltale") {
		t.Errorf("newer schema: err = %v", err)
	}
}
