package flows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"telltale.dev/devices/profiles"
	"telltale.dev/harness/ui"
)

// StepError is a flow stopped by a step that failed: what it was, where it
// is written, and what the phone showed then.
type StepError struct {
	// Chain is the flow and the flows it ran down to the failing step's:
	// [browse-incognito address-bar].
	Chain []string
	// Index is the step's position in its flow, from 0.
	Index int
	Step  profiles.Step
	// Expanded is the step as run, its parameters filled in.
	Expanded string
	// Screen is the hierarchy when the step failed (nil if none could be
	// read); Screenshot the screen as PNG (nil if none could be taken).
	Screen     *ui.Screen
	Screenshot []byte
	// Evidence says why Screen or Screenshot is missing.
	Evidence []string
	Err      error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("flow %s, step %d (%s): %s: %v", strings.Join(e.Chain, " > "), e.Index+1, e.Step.Where(), e.Expanded, e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// Selectors are the selectors the step tried, as written.
func (e *StepError) Selectors() []string {
	return append(append([]string(nil), e.Step.On...), e.Step.Row...)
}

// evidenceTimeout bounds reading the screen after a failure: the phone may
// be the reason for it.
const evidenceTimeout = 15 * time.Second

// fail wraps a step's error with the evidence: the dump the driver already
// has (a NotFoundError's), else a fresh one, and a screenshot. Both are
// read even when ctx has ended (a spec timeout), within their own deadline.
func (r *Runner) fail(ctx context.Context, chain []string, i int, s *profiles.Step, params map[string]string, err error) error {
	e := &StepError{Chain: append([]string(nil), chain...), Index: i, Step: *s, Expanded: s.String(), Err: err}
	if x, xerr := profiles.Expand(s.String(), params); xerr == nil {
		e.Expanded = x
	}
	var nf *ui.NotFoundError
	if errors.As(err, &nf) {
		e.Screen = nf.Screen
	}
	// A phone that is gone, or a run that was stopped, has no screen to
	// show; the caller reports why.
	if ctx.Err() != nil || (r.phone.Lost != nil && r.phone.Lost() != nil) {
		return e
	}
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), evidenceTimeout)
	defer cancel()
	if e.Screen == nil {
		sc, derr := r.phone.UI.Dump(ectx)
		if derr != nil {
			e.Evidence = append(e.Evidence, "no hierarchy: "+derr.Error())
		}
		e.Screen = sc
	}
	png, serr := r.phone.UI.Screenshot(ectx)
	if serr != nil {
		e.Evidence = append(e.Evidence, "no screenshot: "+serr.Error())
	}
	e.Screenshot = png
	return e
}
