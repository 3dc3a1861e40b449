package run

import (
	"slices"
	"strings"

	"telltale.dev/devices/profiles"
)

// Verdict is what a spec (or a matrix cell, the worst of its specs) says:
// the same words, ranked the same way, in the HTML report and the text
// matrix. Class is the HTML cell's class.
type Verdict struct {
	Class string
	Text  string
}

// Verdicts from least to most important: a cell shows its worst spec. A
// failed spec outranks "not decrypted": the failure is the news, and the
// undecryptable hosts are listed beside it anyway.
var (
	NotRun       = Verdict{"", "not run"}
	NoLeak       = Verdict{"clean", "no leak"}
	Skipped      = Verdict{"skipped", "skipped"}
	NotDecrypted = Verdict{"tls", "not decrypted"}
	// Bypassed: the phone opened connections around the proxy in the
	// window, so what they carried was never seen.
	Bypassed   = Verdict{"bypass", "bypassed the proxy"}
	SpecFailed = Verdict{"failed", "spec failed"}
	Leaked     = Verdict{"leak", "LEAKED"}
	// LeakedLate is a leak at least one place of which came after the
	// action's window (a batched upload), found by its canary.
	LeakedLate = Verdict{"leak late", "LEAKED late"}
)

var verdictRank = []Verdict{NotRun, NoLeak, Skipped, NotDecrypted, Bypassed, SpecFailed, Leaked, LeakedLate}

// Verdict is the spec's own verdict. A spec that planted nothing
// (lock-screen) and passed reads "no leak" like any other: what it made the
// phone send is in its differential view.
func (s SpecResult) Verdict() Verdict {
	switch {
	case s.Late():
		return LeakedLate
	case s.Leaked():
		return Leaked
	case s.State == StateFailed:
		return SpecFailed
	case len(s.Bypassed) > 0:
		return Bypassed
	case len(s.TLSFailures) > 0:
		return NotDecrypted
	case s.State == StateSkipped:
		return Skipped
	}
	return NoLeak
}

// Worse returns the more important of two verdicts.
func (v Verdict) Worse(o Verdict) Verdict {
	if slices.Index(verdictRank, o) > slices.Index(verdictRank, v) {
		return o
	}
	return v
}

// KeyLess orders matrix rows and baseline entries: by action in the order
// of profiles.AllActions (unknown actions last), then by variant.
func KeyLess(a, b string) bool {
	ra, rb := actionRank(a), actionRank(b)
	if ra != rb {
		return ra < rb
	}
	return a < b
}

func actionRank(key string) int {
	action, _, _ := strings.Cut(key, " [")
	if i := slices.Index(profiles.AllActions, action); i >= 0 {
		return i
	}
	return len(profiles.AllActions)
}

// Chain writes a finding's decoding chain the way matrices and baselines
// compare it: JSON paths dropped, because the same leak moving to another
// field of the same event is not a regression; "plain" for a value sent as
// it is.
func Chain(steps []string) string {
	if len(steps) == 0 {
		return "plain"
	}
	out := make([]string, len(steps))
	for i, s := range steps {
		if strings.HasPrefix(s, "json:") {
			s = "json"
		}
		out[i] = s
	}
	return strings.Join(out, " > ")
}
