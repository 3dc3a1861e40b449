package baseline

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"telltale.dev/reports/run"
)

// Result is the comparison of a run (or baseline) against a baseline.
type Result struct {
	Models []ModelDiff `json:"models"`
	// New, Gone and Changed count leaks (host per action) over all models.
	New     int `json:"new"`
	Gone    int `json:"gone"`
	Changed int `json:"changed"`
}

// ModelDiff compares one model and firmware of the run with the baseline's
// entries for that model.
type ModelDiff struct {
	Model            string       `json:"model"`
	BaselineFirmware string       `json:"baselineFirmware,omitempty"` // "" when the baseline lacks the model
	Firmware         string       `json:"firmware"`
	Actions          []ActionDiff `json:"actions"`
	// NotRun lists baseline actions the run did not do: not compared, so a
	// CI shard that ran part of the suite does not report leaks as gone.
	NotRun []string `json:"notRun,omitempty"`
}

// ActionDiff is what changed for one action.
type ActionDiff struct {
	Action string `json:"action"`
	// ComparedWith is set when the baseline lacks this variant and the
	// action's default was compared instead: a variant that only exists on
	// the new firmware (the browser's aggregated switch, added by the 2020
	// fix) is measured against what the old firmware did by default.
	ComparedWith string `json:"comparedWith,omitempty"`
	// NotInBaseline is set when the baseline never ran the action; its leaks
	// all count as new.
	NotInBaseline bool     `json:"notInBaseline,omitempty"`
	New           []Leak   `json:"new,omitempty"`
	Gone          []Leak   `json:"gone,omitempty"`
	Changed       []Change `json:"changed,omitempty"`
}

// Change is a host that leaked in both, under different decoding chains.
type Change struct {
	Host   string   `json:"host"`
	Before []string `json:"before"`
	After  []string `json:"after"`
}

// Compare compares cur against base. Entries are paired by model and
// firmware, and within them by action and variant (a variant the baseline
// lacks is compared with the baseline's default for the action); a model whose firmware the baseline lacks is compared with the
// baseline's only firmware of that model (the firmware-update case). If the
// baseline holds several other firmware versions of the model, the pairing is
// ambiguous and Compare says so.
func Compare(base, cur Baseline) (Result, error) {
	type mf struct{ model, firmware string }
	baseFW := map[string][]string{}
	baseEntries := map[mf]map[string]Entry{}
	for _, e := range base.Entries {
		k := mf{e.Model, e.Firmware}
		if baseEntries[k] == nil {
			baseEntries[k] = map[string]Entry{}
			baseFW[e.Model] = append(baseFW[e.Model], e.Firmware)
		}
		baseEntries[k][e.Action] = e
	}
	curEntries := map[mf][]Entry{}
	var order []mf
	for _, e := range cur.Entries {
		k := mf{e.Model, e.Firmware}
		if curEntries[k] == nil {
			order = append(order, k)
		}
		curEntries[k] = append(curEntries[k], e)
	}
	var res Result
	for _, k := range order {
		md := ModelDiff{Model: k.model, Firmware: k.firmware}
		switch fws := baseFW[k.model]; {
		case slices.Contains(fws, k.firmware):
			md.BaselineFirmware = k.firmware
		case len(fws) == 1:
			md.BaselineFirmware = fws[0]
		case len(fws) > 1:
			return Result{}, fmt.Errorf("baseline: the baseline has %s at %s but not %s, so which to compare with is ambiguous; save a baseline of one firmware per model", k.model, strings.Join(fws, ", "), k.firmware)
		}
		old := baseEntries[mf{k.model, md.BaselineFirmware}]
		ran := map[string]bool{}
		for _, e := range curEntries[k] {
			ran[e.Action] = true
			b, ok := old[e.Action]
			compared := ""
			if action, _, variant := strings.Cut(e.Action, " ["); !ok && variant {
				b, ok = old[action]
				compared = action
			}
			ad := diffAction(e.Action, b.Leaks, e.Leaks)
			ad.NotInBaseline = !ok
			if ok {
				ad.ComparedWith = compared
			}
			if len(ad.New)+len(ad.Gone)+len(ad.Changed) > 0 {
				md.Actions = append(md.Actions, ad)
				res.New += len(ad.New)
				res.Gone += len(ad.Gone)
				res.Changed += len(ad.Changed)
			}
		}
		for a := range old {
			if !ran[a] {
				md.NotRun = append(md.NotRun, a)
			}
		}
		sort.Slice(md.NotRun, func(i, j int) bool { return run.KeyLess(md.NotRun[i], md.NotRun[j]) })
		res.Models = append(res.Models, md)
	}
	return res, nil
}

func diffAction(action string, before, after []Leak) ActionDiff {
	ad := ActionDiff{Action: action}
	prev := map[string]Leak{}
	for _, l := range before {
		prev[l.Host] = l
	}
	for _, l := range after {
		p, ok := prev[l.Host]
		switch {
		case !ok:
			ad.New = append(ad.New, l)
		case !slices.Equal(p.Chains, l.Chains):
			ad.Changed = append(ad.Changed, Change{Host: l.Host, Before: p.Chains, After: l.Chains})
		}
		delete(prev, l.Host)
	}
	for _, l := range before {
		if _, ok := prev[l.Host]; ok {
			ad.Gone = append(ad.Gone, l)
		}
	}
	return ad
}

// WriteText writes the result for a person: one line per difference,
// grouped by model and action, then a summary line.
func (r Result) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, m := range r.Models {
		from := m.BaselineFirmware
		if from == "" {
			from = "(not in baseline)"
		}
		fmt.Fprintf(&b, "%s: %s -> %s\n", m.Model, from, m.Firmware)
		if len(m.Actions) == 0 {
			b.WriteString("  no changes\n")
		}
		for _, a := range m.Actions {
			note := ""
			switch {
			case a.NotInBaseline:
				note = " (action not in baseline)"
			case a.ComparedWith != "":
				note = " (vs baseline " + a.ComparedWith + ")"
			}
			for _, l := range a.New {
				fmt.Fprintf(&b, "  NEW      %s: %s via %s%s\n", a.Action, l.Host, strings.Join(l.Chains, " | "), note)
			}
			for _, l := range a.Gone {
				fmt.Fprintf(&b, "  GONE     %s: %s via %s%s\n", a.Action, l.Host, strings.Join(l.Chains, " | "), note)
			}
			for _, c := range a.Changed {
				fmt.Fprintf(&b, "  CHANGED  %s: %s via %s (was %s)%s\n", a.Action, c.Host, strings.Join(c.After, " | "), strings.Join(c.Before, " | "), note)
			}
		}
		if len(m.NotRun) > 0 {
			fmt.Fprintf(&b, "  not run (not compared): %s\n", strings.Join(m.NotRun, ", "))
		}
	}
	fmt.Fprintf(&b, "%d new, %d gone, %d changed\n", r.New, r.Gone, r.Changed)
	_, err := io.WriteString(w, b.String())
	return err
}
