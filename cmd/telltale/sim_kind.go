package main

import (
	"fmt"
	"slices"

	"telltale.dev/devices/sim"
)

// checkKind reads --stock, --kind and --su-policy: known values, and
// --stock agreeing with --kind. Whether the model can be that kind is the
// phone's to say when it starts.
func (o *simOptions) checkKind() error {
	if o.stock {
		if o.kind != "" && o.kind != string(sim.KindStock) {
			return fmt.Errorf("--stock and --kind %s ask for two kinds of phone; give one", o.kind)
		}
		o.kind = string(sim.KindStock)
	}
	if o.kind != "" && !slices.Contains(sim.Kinds, sim.Kind(o.kind)) {
		return fmt.Errorf("--kind %q: want research, stock or emulator", o.kind)
	}
	if o.suPolicy != "" && !slices.Contains(sim.SuPolicies, sim.SuPolicy(o.suPolicy)) {
		return fmt.Errorf("--su-policy %q: want granted, prompt or deny", o.suPolicy)
	}
	return nil
}
