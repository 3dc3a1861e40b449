package capture

import (
	"cmp"
	"math"
	"slices"
	"strings"
)

// Window is a named span of the flow sequence, between the marks
// "start:NAME" and "end:NAME". Flows with Start < Seq < End fall inside.
type Window struct {
	Name       string
	Start, End int64
}

// Windows pairs start and end marks by name, in order of their start. A
// window whose end mark never came (a crash mid-action) runs to the end of
// the log, so nothing recorded after its start is left out.
func Windows(flows []Flow) []Window {
	var out []Window
	open := map[string]int{} // name -> index in out of its unclosed window
	for _, f := range flows {
		if f.Kind != KindMark {
			continue
		}
		if name, ok := strings.CutPrefix(f.Mark, "start:"); ok {
			open[name] = len(out)
			out = append(out, Window{Name: name, Start: f.Seq, End: math.MaxInt64})
		} else if name, ok := strings.CutPrefix(f.Mark, "end:"); ok {
			if i, ok := open[name]; ok {
				out[i].End = f.Seq
				delete(open, name)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Window) int { return cmp.Compare(a.Start, b.Start) })
	return out
}

// Between returns the non-mark flows inside w.
func Between(flows []Flow, w Window) []Flow {
	var out []Flow
	for _, f := range flows {
		if f.Kind != KindMark && f.Seq > w.Start && f.Seq < w.End {
			out = append(out, f)
		}
	}
	return out
}

func sortBySeq(flows []Flow) {
	slices.SortStableFunc(flows, func(a, b Flow) int { return cmp.Compare(a.Seq, b.Seq) })
}
