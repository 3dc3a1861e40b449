package ui

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

var (
	// ErrNoUIAutomator is returned when the phone has no `uiautomator` command.
	ErrNoUIAutomator = errors.New("the phone has no uiautomator command (it ships with Android 4.1+; a stripped build may lack it)")
	// ErrInputRefused is returned when the phone refuses injected input.
	ErrInputRefused = errors.New("the phone refuses injected input (INJECT_EVENTS): on MIUI turn on Settings > Additional settings > Developer options > \"USB debugging (Security settings)\" (needs a Mi Account and a SIM), then try again")
)

// NotFoundError says what was looked for and what the screen had instead.
type NotFoundError struct {
	Selectors []Selector
	// Waited is how long the driver looked (0 for a single look).
	Waited time.Duration
	// Screen is the last dump, nil if none succeeded; attach its XML to a report.
	Screen *Screen
	// State is the screen's power and lock state when the look ended, if it could be read.
	State *State
	// Last is the last dump failure while waiting, if any.
	Last error
}

func (e *NotFoundError) Error() string {
	var b strings.Builder
	b.WriteString("no visible node matches ")
	b.WriteString(describeSelectors(e.Selectors))
	if e.Waited > 0 {
		fmt.Fprintf(&b, " after %v", e.Waited.Round(10*time.Millisecond))
	}
	if e.State != nil && !e.State.Ready() {
		fmt.Fprintf(&b, "; the phone is not ready (%s): wake and unlock it first", e.State)
	}
	if e.Screen != nil {
		b.WriteString("; the screen had ")
		b.WriteString(e.Screen.Summary(20))
	}
	if e.Last != nil {
		fmt.Fprintf(&b, "; last dump failed: %v", e.Last)
	}
	return b.String()
}

func (e *NotFoundError) Unwrap() error { return e.Last }

func describeSelectors(sels []Selector) string {
	q := make([]string, len(sels))
	for i, s := range sels {
		q[i] = strconv.Quote(s.String())
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// Summary describes the screen in one line for error messages: its packages
// and the labels of up to max visible nodes a person could name: their
// text, else content-desc, else (for a clickable node) the short resource id.
func (sc *Screen) Summary(max int) string {
	var pkgs, labels []string
	seen := map[string]bool{}
	more := 0
	for _, n := range sc.Nodes {
		if p := n.Package(); p != "" && !slices.Contains(pkgs, p) {
			pkgs = append(pkgs, p)
		}
		l := label(n)
		if l == "" || seen[l] || !sc.Visible(n) {
			continue
		}
		seen[l] = true
		if len(labels) < max {
			labels = append(labels, l)
		} else {
			more++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d nodes", len(sc.Nodes))
	if len(pkgs) > 0 {
		b.WriteString(" of " + strings.Join(pkgs, ", "))
	}
	switch {
	case max == 0:
	case len(labels) == 0:
		b.WriteString(", nothing labelled on screen")
	default:
		b.WriteString(": " + strings.Join(labels, ", "))
	}
	if more > 0 {
		fmt.Fprintf(&b, " and %d more", more)
	}
	return b.String()
}

func label(n *Node) string {
	switch {
	case n.Text() != "":
		return strconv.Quote(n.Text())
	case n.Desc() != "" && n.Desc() != "null":
		return "desc=" + strconv.Quote(n.Desc())
	case n.ID() != "" && n.get("clickable") == "true":
		_, short, ok := strings.Cut(n.ID(), ":id/")
		if !ok {
			short = n.ID()
		}
		return "id=" + short
	}
	return ""
}

// DumpError is a `uiautomator dump` that failed every attempt.
type DumpError struct {
	Attempts int
	// Reason says what the phone's output means and what to do about it.
	Reason string
	// Output is the last attempt's stdout and stderr.
	Output string
}

func (e *DumpError) Error() string {
	return fmt.Sprintf("uiautomator dump failed %d times: %s (last output: %s)", e.Attempts, e.Reason, excerpt(e.Output))
}
