// Package matchers has Gomega matchers over the leak detector's findings, for
// scenarios: Expect(report).To(Leak(c, To("sa.api.intl.miui.com"))). They
// take a leak.Report, its []leak.Finding, or a session's []leak.Place.
// Failure messages list the findings with their chain and decoded evidence
// (and, for places, how many requests and how long after the planting).
package matchers

import (
	"fmt"
	"strings"

	"github.com/onsi/gomega/types"

	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/leak"
)

// Option narrows which findings count; all given options must hold for the
// same finding.
type Option func(*criteria)

type criteria struct {
	canary *canary.Canary
	host   string
	chain  []string
	where  string
}

// To keeps findings sent to host, or to a service named in the endpoint
// catalog (e.g. "OneTrack").
func To(host string) Option { return func(c *criteria) { c.host = host } }

// Via keeps findings whose chain is steps, outermost first. A step without
// ':' matches any step of that kind ("json" matches "json:$[1].url"); a single
// argument may hold the whole chain as "form:data_list > base64 > gzip > json".
func Via(steps ...string) Option {
	return func(c *criteria) { c.chain = splitChain(steps) }
}

// At keeps findings in one part of the request: "body", "url", "query:q",
// "header:Referer"; a value ending in ':' matches any name ("header:").
func At(where string) Option { return func(c *criteria) { c.where = where } }

// Leak succeeds when canary c was found (and the options hold for the same
// finding).
func Leak(c canary.Canary, opts ...Option) types.GomegaMatcher {
	m := &matcher{}
	m.crit.canary = &c
	for _, o := range opts {
		o(&m.crit)
	}
	return m
}

// LeakTo succeeds when any canary was found in a request to host (or to the
// named catalog service).
func LeakTo(host string, opts ...Option) types.GomegaMatcher {
	return anyLeak(append([]Option{To(host)}, opts...))
}

// LeakVia succeeds when any canary was found through exactly this chain.
func LeakVia(steps ...string) types.GomegaMatcher {
	return anyLeak([]Option{Via(steps...)})
}

// HaveNoLeaks succeeds when the report has no findings at all.
func HaveNoLeaks() types.GomegaMatcher { return &matcher{none: true} }

// anyLeak is Leak without a canary: any finding that satisfies opts.
func anyLeak(opts []Option) types.GomegaMatcher {
	m := &matcher{}
	for _, o := range opts {
		o(&m.crit)
	}
	return m
}

type matcher struct {
	crit criteria
	none bool // HaveNoLeaks: success is "nothing matched"
	// Filled by Match, for the messages. notes (for places) say how often
	// and how late, parallel to rep.Findings; matchedNotes to matched.
	rep          leak.Report
	notes        []string
	matched      []leak.Finding
	matchedNotes []string
}

func (m *matcher) Match(actual any) (bool, error) {
	switch r := actual.(type) {
	case leak.Report:
		m.rep = r
	case *leak.Report:
		if r == nil {
			return false, fmt.Errorf("leak matcher: got a nil *leak.Report")
		}
		m.rep = *r
	case []leak.Finding:
		m.rep = leak.Report{Findings: r, Entries: -1}
	case []leak.Place:
		m.rep = leak.Report{Findings: make([]leak.Finding, len(r)), Entries: -1}
		m.notes = make([]string, len(r))
		for i, p := range r {
			m.rep.Findings[i], m.notes[i] = p.Finding, placeNote(p)
		}
	default:
		return false, fmt.Errorf("leak matcher: expected a leak.Report, []leak.Finding or []leak.Place, got %T", actual)
	}
	m.matched, m.matchedNotes = m.matched[:0], m.matchedNotes[:0]
	for i, f := range m.rep.Findings {
		if m.crit.accepts(f) {
			m.matched = append(m.matched, f)
			if m.notes != nil {
				m.matchedNotes = append(m.matchedNotes, m.notes[i])
			}
		}
	}
	if m.none {
		return len(m.matched) == 0, nil
	}
	return len(m.matched) > 0, nil
}

func (c *criteria) accepts(f leak.Finding) bool {
	if c.canary != nil && f.Canary != c.canary.ID {
		return false
	}
	if c.host != "" && !strings.EqualFold(f.Host, c.host) && f.Endpoint != c.host {
		return false
	}
	if c.where != "" && f.Where != c.where && !(strings.HasSuffix(c.where, ":") && strings.HasPrefix(f.Where, c.where)) {
		return false
	}
	if c.chain != nil && !chainMatches(c.chain, f.Chain) {
		return false
	}
	return true
}

func splitChain(steps []string) []string {
	out := []string{}
	for _, s := range steps {
		for _, p := range strings.Split(s, ">") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func chainMatches(want, got []string) bool {
	if len(want) != len(got) {
		return false
	}
	for i, w := range want {
		if w != got[i] && (strings.Contains(w, ":") || !strings.HasPrefix(got[i], w+":")) {
			return false
		}
	}
	return true
}

// describe says what the matcher looks for, e.g. `a leak of canary url1
// ("https://...") to sa.api.intl.miui.com via form > base64`.
func (m *matcher) describe() string {
	var b strings.Builder
	if c := m.crit.canary; c != nil {
		fmt.Fprintf(&b, "a leak of canary %s (%q)", c.ID, c.Value)
	} else {
		b.WriteString("a leak of any canary")
	}
	if m.crit.host != "" {
		b.WriteString(" to " + m.crit.host)
	}
	if m.crit.where != "" {
		b.WriteString(" in " + m.crit.where)
	}
	if m.crit.chain != nil {
		b.WriteString(" via " + strings.Join(m.crit.chain, " > "))
	}
	return b.String()
}

func (m *matcher) FailureMessage(any) string {
	if m.none {
		return fmt.Sprintf("Expected no leaks, but found %d:\n%s", len(m.matched), listNoted(m.matched, m.matchedNotes))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Expected %s, but no finding matched.\n", m.describe())
	if len(m.rep.Findings) == 0 {
		b.WriteString("The report has no findings")
	} else {
		fmt.Fprintf(&b, "The report has %d finding(s)", len(m.rep.Findings))
	}
	if m.rep.Entries >= 0 {
		fmt.Fprintf(&b, " in %d request(s)", m.rep.Entries)
	}
	if len(m.rep.Findings) > 0 {
		b.WriteString(":\n" + listNoted(m.rep.Findings, m.notes))
	} else {
		b.WriteString(".\n")
	}
	if len(m.rep.Capped) > 0 {
		b.WriteString("Decoding stopped at a bound here (a leak may hide there):\n")
		for _, c := range m.rep.Capped {
			fmt.Fprintf(&b, "  entry %d %s: %s\n", c.Entry, c.Where, c.Limit)
		}
	}
	return b.String()
}

func (m *matcher) NegatedFailureMessage(any) string {
	if m.none {
		return "Expected leaks, but the report has none.\n"
	}
	return fmt.Sprintf("Expected no %s, but found %d:\n%s", strings.TrimPrefix(m.describe(), "a "), len(m.matched), listNoted(m.matched, m.matchedNotes))
}

// maxListed keeps messages readable when a capture is full of findings.
const maxListed = 20

func listFindings(fs []leak.Finding) string { return listNoted(fs, nil) }

// listNoted lists fs, each with its note when notes is given.
func listNoted(fs []leak.Finding, notes []string) string {
	var b strings.Builder
	for i, f := range fs {
		if i == maxListed {
			fmt.Fprintf(&b, "  ... and %d more\n", len(fs)-maxListed)
			break
		}
		host := f.Host
		if f.Endpoint != "" {
			host += " (" + f.Endpoint + ")"
		}
		chain := strings.Join(f.Chain, " > ")
		if chain == "" {
			chain = "(plain)"
		}
		// Evidence is already printable (the detector replaces control bytes).
		fmt.Fprintf(&b, "  %s -> %s [entry %d, %s %s] %s\n", f.Canary, host, f.Entry, f.Method, f.Where, chain)
		if notes != nil {
			fmt.Fprintf(&b, "      %s\n", notes[i])
		}
		fmt.Fprintf(&b, "      evidence: %s\n", f.Evidence)
	}
	return b.String()
}

// placeNote says how often and how late a canary reached its place.
func placeNote(p leak.Place) string {
	when := fmt.Sprintf("first at seq %d", p.Seq)
	if p.Delay != 0 {
		when = fmt.Sprintf("first %s after its planting at seq %d (seq %d)", p.Delay, p.Planted.Seq, p.Seq)
	}
	return fmt.Sprintf("%d request(s), %s", p.Requests, when)
}
