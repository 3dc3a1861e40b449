package matchers

import (
	"fmt"
	"slices"
	"strings"

	"github.com/onsi/gomega/types"

	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/leak"
)

// Route is one way a canary leaves the phone: the host it reaches and the
// decoding chain it hides under, outermost first, JSON paths left out as in
// Via ("form:data_list > base64 > gzip > json"); no steps for a value sent
// as it is.
type Route struct {
	Host string
	Via  []string
}

func (r Route) String() string {
	chain := splitChain(r.Via)
	if len(chain) == 0 {
		return r.Host + " as it is (no encoding)"
	}
	return r.Host + " via " + strings.Join(chain, " > ")
}

// Takes says whether a finding went this way.
func (r Route) Takes(f leak.Finding) bool {
	return (strings.EqualFold(f.Host, r.Host) || f.Endpoint == r.Host) && chainMatches(splitChain(r.Via), f.Chain)
}

// LeakExactly succeeds when canary c's findings take exactly these routes:
// each route by at least one finding, and no finding another way (a second
// host, a new chain). With no routes c must not leak at all. The failure
// names the routes no finding took and lists, with their decoded evidence,
// the findings on no route (for a session's places, with how often and how
// late each came). It takes a leak.Report, its findings or []leak.Place.
func LeakExactly(c canary.Canary, routes ...Route) types.GomegaMatcher {
	return &exactMatcher{canary: c, routes: routes}
}

type exactMatcher struct {
	canary  canary.Canary
	routes  []Route
	missing []Route
	extra   []leak.Finding
	notes   []string // parallel to extra, for places
}

func (m *exactMatcher) Match(actual any) (bool, error) {
	var findings []leak.Finding
	var notes []string
	switch r := actual.(type) {
	case leak.Report:
		findings = r.Findings
	case *leak.Report:
		if r == nil {
			return false, fmt.Errorf("LeakExactly: got a nil *leak.Report")
		}
		findings = r.Findings
	case []leak.Finding:
		findings = r
	case []leak.Place:
		notes = make([]string, len(r))
		for i, p := range r {
			findings = append(findings, p.Finding)
			notes[i] = placeNote(p)
		}
	default:
		return false, fmt.Errorf("LeakExactly: expected a leak.Report, []leak.Finding or []leak.Place, got %T", actual)
	}
	taken := make([]bool, len(m.routes))
	m.missing, m.extra, m.notes = nil, nil, nil
	for i, f := range findings {
		if f.Canary != m.canary.ID {
			continue
		}
		j := slices.IndexFunc(m.routes, func(r Route) bool { return r.Takes(f) })
		if j < 0 {
			m.extra = append(m.extra, f)
			if notes != nil {
				m.notes = append(m.notes, notes[i])
			}
			continue
		}
		taken[j] = true
	}
	for i, r := range m.routes {
		if !taken[i] {
			m.missing = append(m.missing, r)
		}
	}
	return len(m.missing) == 0 && len(m.extra) == 0, nil
}

func (m *exactMatcher) FailureMessage(any) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Expected canary %s (%q) to leak ", m.canary.ID, m.canary.Value)
	if len(m.routes) == 0 {
		b.WriteString("nowhere")
	} else {
		b.WriteString("exactly to:")
		for _, r := range m.routes {
			b.WriteString("\n  " + r.String())
		}
	}
	b.WriteString("\n")
	if len(m.missing) > 0 {
		b.WriteString("No finding took:\n")
		for _, r := range m.missing {
			b.WriteString("  " + r.String() + "\n")
		}
	}
	if len(m.extra) > 0 {
		fmt.Fprintf(&b, "Found %d leak(s) on no expected route:\n%s", len(m.extra), listNoted(m.extra, m.notes))
	}
	return b.String()
}

func (m *exactMatcher) NegatedFailureMessage(any) string {
	return fmt.Sprintf("Expected canary %s not to leak exactly as listed, but it did\n", m.canary.ID)
}

// Traffic is what an action's window adds to what the idle phone sends:
// endpoints ("host/path", no query) and telemetry event names.
type Traffic struct {
	Endpoints []string
	Events    []string
}

// SendExactly succeeds when a leak.Diff adds exactly want: its endpoints,
// their hosts and its events, nothing missing and nothing else, leaving
// aside what background names (traffic that may come at any time). The
// failure lists what is missing and what is new.
func SendExactly(want, background Traffic) types.GomegaMatcher {
	return &trafficMatcher{want: want, background: background}
}

type trafficMatcher struct {
	want, background Traffic
	problems         []string
}

func (m *trafficMatcher) Match(actual any) (bool, error) {
	var d leak.Diff
	switch v := actual.(type) {
	case leak.Diff:
		d = v
	case *leak.Diff:
		if v == nil {
			return false, fmt.Errorf("SendExactly: got a nil *leak.Diff")
		}
		d = *v
	default:
		return false, fmt.Errorf("SendExactly: expected a leak.Diff, got %T", actual)
	}
	m.problems = nil
	m.compare("host", d.Hosts, hosts(m.want.Endpoints), hosts(m.background.Endpoints))
	m.compare("endpoint", d.Paths, m.want.Endpoints, m.background.Endpoints)
	m.compare("event", d.Events, m.want.Events, m.background.Events)
	return len(m.problems) == 0, nil
}

// compare notes each wanted item the window lacks and each item it has
// that is neither wanted nor background.
func (m *trafficMatcher) compare(kind string, got, want, background []string) {
	for _, w := range want {
		if !slices.Contains(got, w) {
			m.problems = append(m.problems, fmt.Sprintf("missing %s %s", kind, w))
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) && !slices.Contains(background, g) {
			m.problems = append(m.problems, fmt.Sprintf("new %s %s", kind, g))
		}
	}
}

func hosts(endpoints []string) []string {
	var out []string
	for _, e := range endpoints {
		h, _, _ := strings.Cut(e, "/")
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

func (m *trafficMatcher) FailureMessage(actual any) string {
	var b strings.Builder
	b.WriteString("Expected the window to add exactly ")
	if len(m.want.Endpoints)+len(m.want.Events) == 0 {
		b.WriteString("nothing")
	} else {
		fmt.Fprintf(&b, "endpoints %v with events %v", m.want.Endpoints, m.want.Events)
	}
	if len(m.background.Endpoints)+len(m.background.Events) > 0 {
		fmt.Fprintf(&b, " (besides background %v, events %v)", m.background.Endpoints, m.background.Events)
	}
	b.WriteString(", but:\n")
	for _, p := range m.problems {
		b.WriteString("  " + p + "\n")
	}
	fmt.Fprintf(&b, "The window added: %+v\n", actual)
	return b.String()
}

func (m *trafficMatcher) NegatedFailureMessage(any) string {
	return "Expected the window not to add exactly the listed traffic, but it did\n"
}
