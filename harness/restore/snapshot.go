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
	for _, c := range a.changes(b) {
		out = append(out, c.String())
	}
	return out
}

// change is one setting that differs between two snapshots.
type change struct {
	ns, key       string
	was, now      string
	wasSet, isSet bool
}

// name is "namespace:key".
func (c change) name() string { return c.ns + ":" + c.key }

func (c change) String() string {
	switch {
	case !c.isSet:
		return fmt.Sprintf("%s was %q, now unset", c.name(), c.was)
	case !c.wasSet:
		return fmt.Sprintf("%s was unset, now %q", c.name(), c.now)
	}
	return fmt.Sprintf("%s was %q, now %q", c.name(), c.was, c.now)
}

// changes lists the settings that differ from a to b, sorted by name.
func (a Snapshot) changes(b Snapshot) []change {
	var out []change
	for _, ns := range namespaces {
		for k, v := range a[ns] {
			if w, ok := b[ns][k]; !ok || w != v {
				out = append(out, change{ns: ns, key: k, was: v, now: w, wasSet: true, isSet: ok})
			}
		}
		for k, w := range b[ns] {
			if _, ok := a[ns][k]; !ok {
				out = append(out, change{ns: ns, key: k, now: w, isSet: true})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}
