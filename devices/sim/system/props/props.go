// Package props is the property service: the build properties a firmware
// sets and the runtime properties setprop changes.
package props

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"telltale.dev/devices/sim/identity"
	"telltale.dev/devices/sim/shell"
)

// Props holds the properties.
type Props struct {
	mu    sync.Mutex
	props map[string]string
}

// New returns the properties a phone boots with.
func New(initial map[string]string) *Props { return &Props{props: maps.Clone(initial)} }

// Get returns a property, "" when unset.
func (p *Props) Get(name string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.props[name]
}

// Init sets a property at boot, read-only ones included, as init does
// before anyone reads them.
func (p *Props) Init(name, value string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.props[name] = value
}

// Set changes a property as setprop does: ro. properties can be set once,
// when they do not exist yet (AOSP property_service).
func (p *Props) Set(name, value string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, exists := p.props[name]; exists && strings.HasPrefix(name, "ro.") {
		return fmt.Errorf("read-only property %s", name)
	}
	p.props[name] = value
	return nil
}

// Commands are getprop and setprop.
func (p *Props) Commands() map[string]shell.Func {
	return map[string]shell.Func{"getprop": p.getprop, "setprop": p.setprop}
}

func (p *Props) getprop(_ context.Context, sio shell.IO, args []string) int {
	if len(args) > 1 {
		p.mu.Lock()
		v, ok := p.props[args[1]]
		p.mu.Unlock()
		if !ok && len(args) > 2 {
			v = args[2]
		}
		fmt.Fprintln(sio.Stdout, v)
		return 0
	}
	p.mu.Lock()
	all := maps.Clone(p.props)
	p.mu.Unlock()
	for _, k := range slices.Sorted(maps.Keys(all)) {
		fmt.Fprintf(sio.Stdout, "[%s]: [%s]\n", k, all[k])
	}
	return 0
}

// rootOnly are property prefixes whose SELinux context the shell domain
// may not set on a retail phone (modeled from property_contexts: MIUI's
// security toggles live in a system-only context, so flipping them takes
// the Settings app or root).
var rootOnly = []string{"persist.security."}

func (p *Props) setprop(ctx context.Context, sio shell.IO, args []string) int {
	if len(args) != 3 {
		fmt.Fprintln(sio.Stderr, "setprop: need NAME VALUE")
		return 1
	}
	denied := shell.UID(ctx) != identity.Root && slices.ContainsFunc(rootOnly, func(pre string) bool { return strings.HasPrefix(args[1], pre) })
	if denied || p.Set(args[1], args[2]) != nil {
		fmt.Fprintf(sio.Stderr, "Failed to set property '%s' to '%s'.\nSee dmesg for error reason.\n", args[1], args[2])
		return 1
	}
	return 0
}
