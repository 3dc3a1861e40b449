package redirect

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Table names one table of one tool: "iptables -t nat".
type Table string

// Tables are the tables the rules touch, read by State.
var Tables = []Table{"iptables -t filter", "iptables -t nat", "ip6tables -t filter"}

// State is the phone's rules as `-S` lists them, table by table, to compare
// after a run with before it.
type State map[Table][]string

// ReadState lists the rules of every table in Tables.
func ReadState(ctx context.Context, run Run) (State, error) {
	st := State{}
	for _, t := range Tables {
		out, err := run(ctx, string(t)+" -S")
		if err != nil {
			return nil, fmt.Errorf("redirect: read the rules (%s -S): %w", t, err)
		}
		var lines []string
		for _, l := range strings.Split(out, "\n") {
			if l = strings.TrimRight(l, "\r "); l != "" {
				lines = append(lines, l)
			}
		}
		st[t] = lines
	}
	return st, nil
}

// Owned lists the tables that already hold telltale's chain.
func (s State) Owned() []Table {
	var out []Table
	for _, t := range Tables {
		if slices.Contains(s[t], "-N "+Chain) {
			out = append(out, t)
		}
	}
	return out
}

// CheckFree fails with ErrChainExists, and how to clear it, when any table
// already holds telltale's chain.
func (s State) CheckFree() error {
	owned := s.Owned()
	if len(owned) == 0 {
		return nil
	}
	var fix []string
	for _, t := range owned {
		fix = append(fix, fmt.Sprintf("%s -D OUTPUT -j %s; %s -F %s; %s -X %s", t, Chain, t, Chain, t, Chain))
	}
	return fmt.Errorf("%w (in %s): if no run is capturing this phone, `telltale restore RUN_DIR` the run that left it, or as root: %s",
		ErrChainExists, joinTables(owned), strings.Join(fix, "; "))
}

func joinTables(ts []Table) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// Diff lists how b differs from s, one line per rule: "iptables -t nat: +
// -A ..." for a rule only b has, "-" for one only s has, and a line for a
// table whose rules are the same but in another order (order decides what
// iptables does).
func (s State) Diff(b State) []string {
	var out []string
	for _, t := range Tables {
		x, y := s[t], b[t]
		if slices.Equal(x, y) {
			continue
		}
		added, removed := minus(y, x), minus(x, y)
		for _, l := range removed {
			out = append(out, fmt.Sprintf("%s: - %s", t, l))
		}
		for _, l := range added {
			out = append(out, fmt.Sprintf("%s: + %s", t, l))
		}
		if len(added) == 0 && len(removed) == 0 {
			out = append(out, fmt.Sprintf("%s: the same rules in another order", t))
		}
	}
	return out
}

// minus is a without b, counting repeats.
func minus(a, b []string) []string {
	left := map[string]int{}
	for _, l := range b {
		left[l]++
	}
	var out []string
	for _, l := range a {
		if left[l] > 0 {
			left[l]--
			continue
		}
		out = append(out, l)
	}
	return out
}
