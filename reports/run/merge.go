package run

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// statusRank orders run statuses for a merge: the merged run is as bad as
// its worst shard.
var statusRank = map[string]int{StatusPassed: 0, StatusRunning: 1, StatusInterrupted: 2, StatusFailed: 3}

// Merge combines run directories made on several machines or CI shards into
// one new run directory at out, and renders its index.html. Specs are
// renumbered and their HARs copied; each shard's own files (junit.xml,
// report.json, logs/, flows/) are kept under shards/<run-id>/. Two shards
// that both used a serial for different phones (emulator-5554 on two CI
// machines) keep both: the later one is renamed "<serial>@<run-id>".
func Merge(out string, dirs ...string) (*Run, error) {
	if len(dirs) == 0 {
		return nil, fmt.Errorf("run: merge: no run directories given")
	}
	runs := make([]*Run, 0, len(dirs))
	for _, d := range dirs {
		r, err := Open(d)
		if err != nil {
			return nil, fmt.Errorf("run: merge: %w", err)
		}
		runs = append(runs, r)
	}
	m := Manifest{
		SchemaVersion: SchemaVersion,
		Harness:       runs[0].Manifest.Harness,
		Start:         runs[0].Manifest.Start,
		Seed:          runs[0].Manifest.Seed,
		GinkgoFlags:   runs[0].Manifest.GinkgoFlags,
		Policy:        runs[0].Manifest.Policy,
	}
	for _, r := range runs {
		rm := r.Manifest
		if rm.Start.Before(m.Start) {
			m.Start = rm.Start
		}
		if rm.End.After(m.End) {
			m.End = rm.End
		}
		if statusRank[rm.Status] > statusRank[m.Status] || m.Status == "" {
			m.Status = rm.Status
		}
	}
	m.RunID = "merged-" + NewRunID(time.Now())
	if _, err := os.Stat(filepath.Join(out, ManifestFile)); err == nil {
		return nil, fmt.Errorf("run: merge: %s already holds a run; choose an empty --out directory", out)
	}
	if err := os.MkdirAll(filepath.Join(out, SpecsDir), 0o755); err != nil {
		return nil, fmt.Errorf("run: merge: %w", err)
	}

	f := Findings{SchemaVersion: SchemaVersion, RunID: m.RunID, Specs: []SpecResult{}}
	bySerial := map[string]Device{}
	for _, r := range runs {
		shardID := r.Manifest.RunID
		if shardID == "" {
			shardID = Slug(r.Dir)
		}
		shard := Shard{RunID: shardID, Status: r.Manifest.Status, Dir: filepath.ToSlash(filepath.Join("shards", Slug(shardID)))}
		m.Shards = append(m.Shards, shard)
		renamed := map[string]string{}
		for _, d := range r.Manifest.Devices {
			if prev, ok := bySerial[d.Serial]; ok {
				if sameDevice(prev, d) {
					continue
				}
				renamed[d.Serial] = d.Serial + "@" + shardID
				d.Serial = renamed[d.Serial]
			}
			bySerial[d.Serial] = d
			m.Devices = append(m.Devices, d)
		}
		for _, s := range r.Specs {
			if n, ok := renamed[s.Device]; ok {
				s.Device = n
			}
			s.ID = len(f.Specs) + 1
			if s.HAR != "" {
				har := filepath.ToSlash(filepath.Join(SpecsDir, fmt.Sprintf("%03d-%s.har", s.ID, Slug(s.Device+"-"+s.Key()))))
				if err := copyFile(filepath.Join(r.Dir, s.HAR), filepath.Join(out, har)); err != nil {
					return nil, fmt.Errorf("run: merge: spec %s of %s: %w", s.Name, r.Dir, err)
				}
				s.HAR = har
			}
			f.Specs = append(f.Specs, s)
		}
		for _, name := range []string{"junit.xml", "report.json", LogsDir, FlowsDir} {
			if err := copyTree(filepath.Join(r.Dir, name), filepath.Join(out, shard.Dir, name)); err != nil {
				return nil, fmt.Errorf("run: merge: %w", err)
			}
		}
	}
	if err := writeJSON(filepath.Join(out, FindingsFile), f); err != nil {
		return nil, err
	}
	if err := writeJSON(filepath.Join(out, ManifestFile), m); err != nil {
		return nil, err
	}
	if err := Render(out); err != nil {
		return nil, err
	}
	return Open(out)
}

func sameDevice(a, b Device) bool {
	return a.Model == b.Model && a.Firmware == b.Firmware && a.Fingerprint == b.Fingerprint && a.Host == b.Host
}

// copyTree copies a file or directory; a missing source is not an error
// (not every shard has every file).
func copyTree(src, dst string) error {
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return copyFile(p, target)
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return atomicWrite(dst, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}
