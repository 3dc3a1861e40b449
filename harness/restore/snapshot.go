package restore

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"telltale.dev/devices/adb"
)

// Snapshot is a phone's settings, namespace -> key -> value: taken before a
// run, and compared after its restore.
type Snapshot map[string]map[string]string

var namespaces = []string{"system", "secure", "global"}

// TakeSnapshot lists every setting in the three namespaces.
func TakeSnapshot(ctx context.Context, d *adb.Device) (Snapshot, error) {
	snap := Snapshot{}
	for _, ns := range namespaces {
		out, err := d.RunCommand(ctx, "settings list", ns)
		if err != nil {
			return nil, fmt.Errorf("settings list %s: %w", ns, err)
		}
		m := map[string]string{}
		for _, line := range strings.Split(out, "\n") {
			line = strings.TrimRight(line, "\r")
			if k, v, ok := strings.Cut(line, "="); ok {
				m[k] = v
			}
		}
		snap[ns] = m
	}
	return snap, nil
}

// Diff lists every setting that differs between two snapshots, one line each.
func (a Snapshot) Diff(b Snapshot) []string {
	var out []string
	for _, ns := range namespaces {
		for k, v := range a[ns] {
			if w, ok := b[ns][k]; !ok {
				out = append(out, fmt.Sprintf("%s:%s was %q, now unset", ns, k, v))
			} else if w != v {
				out = append(out, fmt.Sprintf("%s:%s was %q, now %q", ns, k, v, w))
			}
		}
		for k, w := range b[ns] {
			if _, ok := a[ns][k]; !ok {
				out = append(out, fmt.Sprintf("%s:%s was unset, now %q", ns, k, w))
			}
		}
	}
	sort.Strings(out)
	return out
}
