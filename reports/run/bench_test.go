package run_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"telltale.dev/reports/run"
	"telltale.dev/reports/runtest"
)

// farm is 20 phones: four Xiaomi models at three firmware versions and the
// emulator, with flows per spec chosen so the run holds ~100k flows.
func farm() ([]runtest.Phone, int) {
	models := []string{"redmi-note-8", "mi-9t", "mi-10", "mi-mix-3", "aosp-emulator"}
	fws := []string{runtest.FirmwareLeaky, runtest.FirmwareFixed, runtest.FirmwareLater}
	var phones []runtest.Phone
	for i := range 20 {
		p := runtest.Phone{Serial: fmt.Sprintf("lab%d-%02d", i%3, i), Model: models[i%len(models)], Firmware: fws[i%len(fws)]}
		if p.Model == "aosp-emulator" {
			p.Firmware = runtest.FirmwareAOSP
		}
		phones = append(phones, p)
	}
	const flows = 100_000
	specs := 0
	for _, p := range phones {
		specs += len(runtest.SpecsFor(p))
	}
	return phones, (flows + specs - 1) / specs
}

func fileSize(b *testing.B, path string) float64 {
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return float64(st.Size())
}

// BenchmarkRender100k renders index.html for a 20-phone run with 100k flows.
func BenchmarkRender100k(b *testing.B) {
	phones, per := farm()
	r, err := runtest.Write(b.TempDir(), phones, runtest.Options{FlowsPerSpec: per})
	if err != nil {
		b.Fatal(err)
	}
	flows := 0
	for _, s := range r.Specs {
		flows += s.Flows
	}
	b.ResetTimer()
	for b.Loop() {
		if err := run.Render(r.Dir); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(flows), "flows")
	b.ReportMetric(float64(len(r.Specs)), "specs")
	b.ReportMetric(fileSize(b, filepath.Join(r.Dir, run.IndexFile)), "html-bytes")
	b.ReportMetric(fileSize(b, filepath.Join(r.Dir, run.FindingsFile)), "findings-bytes")
}

// BenchmarkWriteRun100k records a whole 20-phone, 100k-flow run as the suite
// would (run.json, a HAR per spec, findings.json after each spec) and
// finishes it (renders index.html).
func BenchmarkWriteRun100k(b *testing.B) {
	phones, per := farm()
	var dir string
	for b.Loop() {
		dir = b.TempDir()
		if _, err := runtest.Write(dir, phones, runtest.Options{FlowsPerSpec: per}); err != nil {
			b.Fatal(err)
		}
	}
	var hars float64
	entries, _ := os.ReadDir(filepath.Join(dir, run.SpecsDir))
	for _, e := range entries {
		hars += fileSize(b, filepath.Join(dir, run.SpecsDir, e.Name()))
	}
	b.ReportMetric(hars, "har-bytes")
}
