package restore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"telltale.dev/devices/adb"
	"telltale.dev/harness/journal"
)

// derived are settings the phone writes itself when another one changes: a
// restore that puts back the one must put these back too, or the phone is
// left with the run's traces.
var derived = map[string]struct {
	keys []string
	why  string
}{
	"global:http_proxy": {
		[]string{"global:global_http_proxy_host", "global:global_http_proxy_port", "global:global_http_proxy_exclusion_list", "global:global_http_proxy_pac"},
		"the system writes them when http_proxy is set and keeps them after \":0\" (AOSP ProxyTracker.setGlobalProxy)",
	},
	"system:screen_brightness": {
		[]string{"system:screen_brightness_float"},
		"Android 11+ keeps it in step with screen_brightness (AOSP BrightnessSynchronizer)",
	},
	"global:device_name": {
		[]string{"secure:bluetooth_name"},
		"renaming the device in Settings renames Bluetooth too (AOSP DeviceNamePreferenceController)",
	},
}

// Derived are the settings ("namespace:key") the phone writes itself when
// ns:key changes.
func Derived(ns, key string) []string { return derived[ns+":"+key].keys }

// Verdict is a restore checked against the settings snapshot taken before
// the run.
type Verdict struct {
	// After is the phone's settings once the check was done.
	After Snapshot
	// Cleaned are settings the system derived from the run's own changes,
	// put back as they were, each with why.
	Cleaned []string
	// Left are settings the phone changed by itself during the run: not
	// telltale's to put back (as Tradefed restores only what it set), left
	// as they are and listed so a person can judge.
	Left []string
	// Incomplete are settings the run changed (or that derive from them)
	// that still differ.
	Incomplete []string
}

// Err is an error listing what was not put back, nil when all was.
func (v Verdict) Err() error {
	if len(v.Incomplete) == 0 {
		return nil
	}
	return fmt.Errorf("RESTORE INCOMPLETE: settings the run changed differ from the snapshot taken before it:\n  %s\n"+
		"put them back by hand (adb shell settings put NAMESPACE KEY VALUE), or run `telltale restore` on the run directory again",
		strings.Join(v.Incomplete, "\n  "))
}

// Check compares the phone's settings with before the way Tradefed's
// DeviceSetup restore-settings does: only what the run changed must be as it
// was. Settings the system derived from the run's changes (the
// global_http_proxy_* keys of http_proxy) are put back first, as they were;
// every other difference is the phone's own doing and is listed, with the
// reason, in Left. changed are the run's journal entries for the phone.
func Check(ctx context.Context, d *adb.Device, before Snapshot, changed []journal.Entry) (Verdict, error) {
	var v Verdict
	after, err := TakeSnapshot(ctx, d)
	if err != nil {
		return v, err
	}
	owned, why := map[string]bool{}, map[string]string{}
	for _, e := range changed {
		if e.Op != journal.OpSetting {
			continue
		}
		name := e.Namespace + ":" + e.Key
		owned[name] = true
		for _, k := range derived[name].keys {
			why[k] = derived[name].why
		}
	}
	cleaned := false
	for _, c := range before.changes(after) {
		reason, ok := why[c.name()]
		if !ok {
			continue
		}
		cmd := []string{"settings put", c.ns, c.key, adb.Quote(c.was)}
		if !c.wasSet {
			cmd = []string{"settings delete", c.ns, c.key}
		}
		if _, err := d.RunCommand(ctx, cmd[0], cmd[1:]...); err != nil {
			v.Incomplete = append(v.Incomplete, fmt.Sprintf("%s (%s): %v", c, reason, err))
			continue
		}
		v.Cleaned = append(v.Cleaned, fmt.Sprintf("%s: put back (%s)", c, reason))
		cleaned = true
	}
	if cleaned {
		if after, err = TakeSnapshot(ctx, d); err != nil {
			return v, err
		}
	}
	v.After = after
	for _, c := range before.changes(after) {
		switch {
		case owned[c.name()]:
			v.Incomplete = append(v.Incomplete, c.String()+" (telltale changed it)")
		case why[c.name()] != "":
			if !slices.ContainsFunc(v.Incomplete, func(s string) bool { return strings.HasPrefix(s, c.String()) }) {
				v.Incomplete = append(v.Incomplete, fmt.Sprintf("%s (%s)", c, why[c.name()]))
			}
		default:
			v.Left = append(v.Left, c.String()+": changed by the phone during the run, not by telltale: left as it is")
		}
	}
	return v, nil
}
