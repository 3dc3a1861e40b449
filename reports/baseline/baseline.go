// Package baseline keeps what a run leaked, per phone model, firmware and
// action, and compares two such records: the regression check run after a
// firmware update ("did MIUI V12.5 start leaking something V12.0 did not?").
package baseline

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"

	"telltale.dev/reports/run"
)

// SchemaVersion of the baseline file.
const SchemaVersion = 1

// Baseline is baseline.json: {"schemaVersion":1,"runId":...,"entries":[...]}.
type Baseline struct {
	SchemaVersion int     `json:"schemaVersion"`
	RunID         string  `json:"runId,omitempty"`
	Entries       []Entry `json:"entries"`
}

// Entry is what one action leaked on one model and firmware. An entry with
// no leaks records that the action ran and leaked nothing, which is not the
// same as an action that did not run.
type Entry struct {
	Model    string `json:"model"`
	Firmware string `json:"firmware"`
	// Action is the action, with the variant in brackets when there is one
	// ("search [aggregated switch off]").
	Action string `json:"action"`
	Leaks  []Leak `json:"leaks"`
}

// Leak is a host an action's canary reached and the chains it was found
// under, JSON paths left out ("form:data_list > base64 > gzip > json").
type Leak struct {
	Host   string   `json:"host"`
	Chains []string `json:"chains"`
}

// FromRun reduces a run to its baseline. Phones of the same model and
// firmware are merged: a leak seen on any of them counts. Skipped specs are
// left out (they say nothing); failed specs count, since a failed assertion
// still leaves real findings.
func FromRun(r *run.Run) Baseline {
	type key struct{ model, firmware, action string }
	hosts := map[key]map[string]map[string]bool{}
	var order []key
	for _, s := range r.Specs {
		if s.State == run.StateSkipped {
			continue
		}
		d, _ := r.Device(s.Device)
		k := key{d.Model, d.Firmware, s.Key()}
		if k.model == "" {
			k.model = s.Device
		}
		if hosts[k] == nil {
			hosts[k] = map[string]map[string]bool{}
			order = append(order, k)
		}
		for _, f := range s.Findings {
			if hosts[k][f.Host] == nil {
				hosts[k][f.Host] = map[string]bool{}
			}
			hosts[k][f.Host][run.Chain(f.Chain)] = true
		}
	}
	b := Baseline{SchemaVersion: SchemaVersion, RunID: r.Manifest.RunID, Entries: []Entry{}}
	for _, k := range order {
		e := Entry{Model: k.model, Firmware: k.firmware, Action: k.action, Leaks: []Leak{}}
		for h, chains := range hosts[k] {
			e.Leaks = append(e.Leaks, Leak{Host: h, Chains: sortedKeys(chains)})
		}
		sort.Slice(e.Leaks, func(i, j int) bool { return e.Leaks[i].Host < e.Leaks[j].Host })
		b.Entries = append(b.Entries, e)
	}
	b.sort()
	return b
}

func (b *Baseline) sort() {
	sort.SliceStable(b.Entries, func(i, j int) bool {
		x, y := b.Entries[i], b.Entries[j]
		if x.Model != y.Model {
			return x.Model < y.Model
		}
		if x.Firmware != y.Firmware {
			return x.Firmware < y.Firmware
		}
		return run.KeyLess(x.Action, y.Action)
	})
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Write writes the baseline as indented JSON.
func (b Baseline) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // chains read "a > b", not "a \u003e b"
	return enc.Encode(b)
}

// Load reads a baseline from a baseline file or from a run directory.
func Load(path string) (Baseline, error) {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Baseline{}, fmt.Errorf("baseline: %s does not exist; give a baseline.json or a run directory: %w", path, err)
		}
		return Baseline{}, fmt.Errorf("baseline: %w", err)
	}
	if st.IsDir() {
		r, err := run.Open(path)
		if err != nil {
			return Baseline{}, err
		}
		return FromRun(r), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Baseline{}, fmt.Errorf("baseline: %w", err)
	}
	var b Baseline
	if err := json.Unmarshal(data, &b); err != nil {
		return Baseline{}, fmt.Errorf("baseline: %s is not a baseline file (make one with 'telltale baseline save RUN_DIR'): %w", path, err)
	}
	if b.SchemaVersion == 0 || b.SchemaVersion > SchemaVersion {
		return Baseline{}, fmt.Errorf("baseline: %s has schema version %d; this telltale reads version %d (regenerate it with 'telltale baseline save')", path, b.SchemaVersion, SchemaVersion)
	}
	b.sort()
	return b, nil
}
