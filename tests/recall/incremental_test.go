package recall

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"

	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/actions"
	"telltale.dev/harness/capture"
	"telltale.dev/harness/leak"
)

// checkIncremental replays the session's whole flow log into a
// leak.Session the way the harness feeds one: flow by flow in log order,
// each canary planted at the start mark of the first window that planted it
// (windows in the order they ran), before the flows after it. The session
// must find exactly what the whole-capture scan found (so recall and false
// positives are the same), and every place must come after its canary's
// planting.
func checkIncremental(t *testing.T, windows []*actions.Result, flows []capture.Flow, whole leak.Report) {
	t.Helper()
	byWindow := map[string][]canary.Canary{}
	first := map[string]bool{}
	for _, w := range windows {
		for _, c := range w.Canaries {
			if !first[c.ID] {
				first[c.ID] = true
				byWindow[w.Window] = append(byWindow[w.Window], c)
			}
		}
	}
	s := leak.NewSession()
	planted := map[string]bool{}
	for _, f := range flows {
		if name, ok := strings.CutPrefix(f.Mark, "start:"); ok && f.Kind == capture.KindMark && !planted[name] {
			planted[name] = true
			if err := s.Plant(leak.Planting{Seq: f.Seq, Time: f.Start}, byWindow[name]...); err != nil {
				t.Fatalf("planting the canaries of %s: %v", name, err)
			}
		}
		s.Add(f)
	}
	for name, cs := range byWindow {
		if !planted[name] {
			t.Errorf("the flow log has no start mark for window %s, which plants %d canaries", name, len(cs))
		}
	}

	key := func(f leak.Finding) string {
		return fmt.Sprintf("seq %d %s -> %s %s: %s", f.Seq, f.Canary, f.Host, f.Where, strings.Join(f.Chain, " > "))
	}
	var want, got []string
	for _, f := range whole.Findings {
		want = append(want, key(f))
	}
	rep := s.Report(leak.Query{})
	for _, f := range rep.Findings {
		got = append(got, key(f))
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) || rep.Entries != whole.Entries {
		t.Errorf("incremental detection differs from the whole-capture scan (%d vs %d requests):\n  incremental %q\n  whole       %q",
			rep.Entries, whole.Entries, got, want)
	}

	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "canary\thost\trequests\tplanted at\tfirst at\tdelay\tchain")
	requests := 0
	for _, p := range s.Places(leak.Query{}) {
		requests += p.Requests
		if p.Seq <= p.Planted.Seq || p.Delay < 0 {
			t.Errorf("%s reached %s at seq %d (%v), not after its planting at seq %d", p.Canary, p.Host, p.Seq, p.Delay, p.Planted.Seq)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%v\t%s: %s\n", p.Canary, p.Host, p.Requests, p.Planted.Seq, p.Seq, p.Delay,
			p.Where, strings.Join(p.Chain, " > "))
	}
	tw.Flush()
	if requests != len(rep.Findings) {
		t.Errorf("places count %d requests, the session has %d findings", requests, len(rep.Findings))
	}
	t.Logf("attribution by canary, one line per place:\n%s", table.String())
}
