package flows

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"

	"telltale.dev/devices/profiles"
	"telltale.dev/harness/ui"
)

// Switch opens the page holding sw, reads its state, sets it to `to` ("on"
// or "off"; "" only reads) and leaves the page. It returns the state it
// found.
func (r *Runner) Switch(ctx context.Context, sw profiles.Switch, to string) (was bool, err error) {
	if err := r.Run(ctx, sw.Flow, nil); err != nil {
		return false, err
	}
	row, err := expandAll(sw.Row)
	if err != nil {
		return false, err
	}
	sc, label, err := r.find(ctx, r.timeout(&profiles.Step{}), row, nil)
	if err != nil {
		return false, r.fail(ctx, []string{sw.Flow}, 0, &profiles.Step{Do: profiles.StepAssert, On: sw.Row}, nil, err)
	}
	w := switchOf(sc, label)
	if w == nil {
		return false, fmt.Errorf("switch %q: nothing checkable in its row on %s", label.Text(), sc.Summary(10))
	}
	was = checked(w)
	if to != "" {
		if err := r.toggle(ctx, r.timeout(&profiles.Step{}), &expanded{On: row, Value: to}); err != nil {
			return was, r.fail(ctx, []string{sw.Flow}, 0, &profiles.Step{Do: profiles.StepToggle, On: sw.Row, Value: to}, nil, err)
		}
	}
	if sw.Leave != "" {
		return was, r.Run(ctx, sw.Leave, nil)
	}
	return was, nil
}

func expandAll(sels profiles.Selectors) ([]ui.Selector, error) {
	x, err := expand(&profiles.Step{On: sels}, nil)
	if err != nil {
		return nil, err
	}
	return x.On, nil
}

// Recorded is a flow kept to be run later, when no profile is at hand: the
// undo of a change made on the screen, in the run's journal for `telltale
// restore`. It holds the flow, every flow it runs, and its parameters.
type Recorded struct {
	Run    string            `json:"run"`
	Params map[string]string `json:"params,omitempty"`
	Flows  profiles.Flows    `json:"flows"`
}

// Record keeps flow name with params (over the globals) and everything it
// runs, for RunRecorded.
func (r *Runner) Record(name string, params map[string]string) (json.RawMessage, error) {
	f, ok := r.flows[name]
	if !ok {
		return nil, fmt.Errorf("no flow %s to record", name)
	}
	return r.record(f, params)
}

// RecordSwitch keeps what sets sw to `to` from any screen: open its page,
// toggle it, leave.
func (r *Runner) RecordSwitch(sw profiles.Switch, to string) (json.RawMessage, error) {
	f := &profiles.Flow{Name: "set-switch", Steps: []profiles.Step{
		{Do: profiles.StepRun, Value: sw.Flow},
		{Do: profiles.StepToggle, On: sw.Row, Value: to},
	}}
	if sw.Leave != "" {
		f.Steps = append(f.Steps, profiles.Step{Do: profiles.StepRun, Value: sw.Leave})
	}
	return r.record(f, nil)
}

func (r *Runner) record(root *profiles.Flow, params map[string]string) (json.RawMessage, error) {
	all := maps.Clone(r.globals)
	if all == nil {
		all = map[string]string{}
	}
	maps.Copy(all, params)
	rec := Recorded{Run: root.Name, Params: all, Flows: profiles.Flows{root.Name: root}}
	for _, s := range root.Steps {
		if s.Do != profiles.StepRun {
			continue
		}
		if err := r.flows.Walk(s.Value, func(f *profiles.Flow, _ *profiles.Step) error {
			rec.Flows[f.Name] = f
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return json.Marshal(rec)
}

// RunRecorded runs a flow kept by Record.
func RunRecorded(ctx context.Context, phone Phone, raw json.RawMessage) error {
	var rec Recorded
	if err := json.Unmarshal(raw, &rec); err != nil {
		return fmt.Errorf("a recorded flow that cannot be read: %w", err)
	}
	for name, f := range rec.Flows {
		f.Name = name
	}
	return New(phone, rec.Flows, nil).Run(ctx, rec.Run, rec.Params)
}
