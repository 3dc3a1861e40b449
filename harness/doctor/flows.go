package doctor

import (
	"context"
	"fmt"
	"strings"

	"telltale.dev/devices/profiles"
	"telltale.dev/harness/flows"
)

// actionFlows are the UI flows each action runs and the parameters it gives them.
var actionFlows = []struct {
	Action, Flow string
	Params       []string
}{
	{profiles.ActionBrowseIncognito, profiles.ActionBrowseIncognito, []string{"url"}},
	{profiles.ActionSearch, profiles.ActionSearch, []string{"phrase"}},
	{profiles.ActionCreateFolder, profiles.ActionCreateFolder, []string{"name"}},
}

// flows checks that the profile's flows for this firmware hold what the
// actions run: each flow exists, every flow it runs exists, every
// parameter has a value and every selector parses.
func (d *doctor) flows(context.Context) (Check, bool) {
	r := flows.New(flows.Phone{}, d.prof.FlowsFor(d.fw), map[string]string{"browser": d.prof.Actions.Browser.Component})
	var bad, missing []string
	check := func(action, flow string, params ...string) {
		if !r.Has(flow) {
			missing = append(missing, fmt.Sprintf("%s (flow %s)", action, flow))
			return
		}
		if err := r.Check(flow, params...); err != nil {
			bad = append(bad, err.Error())
		}
	}
	for _, f := range actionFlows {
		check(f.Action, f.Flow, f.Params...)
	}
	for _, t := range d.prof.Actions.Settings {
		check(profiles.ActionChangeSetting+" "+t.Namespace+":"+t.Key, t.Flow, "value", "percent")
	}
	if atoi(d.props["ro.build.version.sdk"]) < 30 {
		check(profiles.ActionConnectWifi+" on Android 10", "connect-wifi", "ssid")
		check(profiles.ActionConnectWifi+" undo", "forget-wifi", "ssid")
	}
	for name, sw := range d.prof.Switches {
		if !dependsOn(d.fw, name) {
			continue
		}
		check("switch "+name, sw.Flow)
		if sw.Leave != "" {
			check("switch "+name, sw.Leave)
		}
	}
	switch {
	case len(bad) > 0:
		return Check{Status: Fail, Found: strings.Join(bad, "; "), Fix: "correct the flow in the file and line named (`telltale ui find` tries a selector on the screen)"}, true
	case len(missing) > 0:
		return Check{Status: Warn, Found: "no flow for " + strings.Join(missing, ", ") + ": those actions will fail",
			Fix: fmt.Sprintf("add the flows to %s (flow_libraries: [aosp] gives the AOSP ones)", d.prof.Source)}, true
	}
	return Check{Status: OK, Found: fmt.Sprintf("every action's flow is there (%d flows for %s)", len(d.prof.FlowsFor(d.fw)), d.fw.Version)}, true
}

// dependsOn says whether a known leak of fw depends on the switch.
func dependsOn(fw *profiles.Firmware, name string) bool {
	for _, kl := range fw.KnownLeaks {
		if strings.HasPrefix(kl.When, "switch:"+name+"=") {
			return true
		}
	}
	return false
}
