package flows

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"telltale.dev/devices/profiles"
	"telltale.dev/harness/ui"
)

// expanded is a step with its parameters filled in and its selectors parsed.
type expanded struct {
	Value, Point, To string
	On, Row, If      []ui.Selector
	Unless           []ui.Selector
	params           map[string]string
}

// expand fills in a step's ${params} and parses its selectors.
func expand(s *profiles.Step, params map[string]string) (*expanded, error) {
	x := &expanded{}
	var err error
	text := func(t string) string {
		if err != nil {
			return ""
		}
		var out string
		out, err = profiles.Expand(t, params)
		return out
	}
	sels := func(list profiles.Selectors) []ui.Selector {
		var out []ui.Selector
		for _, t := range list {
			t = text(t)
			if err != nil {
				return nil
			}
			sel, perr := ui.ParseSelector(t)
			if perr != nil {
				err = fmt.Errorf("selector %q: %w", t, perr)
				return nil
			}
			out = append(out, sel)
		}
		return out
	}
	x.Value, x.Point, x.To = text(s.Value), text(s.Point), text(s.To)
	x.On, x.Row, x.If, x.Unless = sels(s.On), sels(s.Row), sels(s.If), sels(s.Unless)
	if len(s.Params) > 0 {
		x.params = map[string]string{}
		for _, k := range slices.Sorted(maps.Keys(s.Params)) {
			x.params[k] = text(s.Params[k])
		}
	}
	if err != nil {
		return nil, err
	}
	return x, nil
}

// Check says whether flow name can run with the parameters given (and the
// runner's globals): every flow it runs exists, every ${param} has a value
// where it is used, every selector parses. Errors name the file and line.
func (r *Runner) Check(name string, given ...string) error {
	have := map[string]string{}
	for k := range r.globals {
		have[k] = "x"
	}
	for _, k := range given {
		have[k] = "x"
	}
	return r.check([]string{name}, have)
}

func (r *Runner) check(chain []string, params map[string]string) error {
	name := chain[len(chain)-1]
	if slices.Contains(chain[:len(chain)-1], name) {
		return fmt.Errorf("flow %s runs itself: %s", name, strings.Join(chain, " > "))
	}
	f, ok := r.flows[name]
	if !ok {
		return fmt.Errorf("no flow %s (have %s)", name, strings.Join(slices.Sorted(maps.Keys(r.flows)), ", "))
	}
	for i := range f.Steps {
		s := &f.Steps[i]
		// Points hold numbers only once expanded: check them with a number.
		p := maps.Clone(params)
		for k := range p {
			p[k] = "50"
		}
		x, err := expand(s, p)
		if err == nil && s.Point != "" {
			_, _, err = profiles.ParsePoint(x.Point)
		}
		if err != nil {
			return fmt.Errorf("%s: flow %s, %s: %w", s.Where(), strings.Join(chain, " > "), s, err)
		}
		if s.Do == profiles.StepRun {
			sub := maps.Clone(params)
			for k := range s.Params {
				sub[k] = "x"
			}
			if err := r.check(append(slices.Clone(chain), s.Value), sub); err != nil {
				return err
			}
		}
	}
	return nil
}
