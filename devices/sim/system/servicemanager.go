// Package system is the simulated phone's system_server: one package per
// Android service under it (props, settings, packages, activity, power,
// battery, wifi, window, security, logd), each with its own state behind its
// own lock, its own shell commands and its own dumpsys section. This package
// is servicemanager: it knows the services by name and routes `dumpsys NAME`,
// `cmd NAME` and `svc NAME` to them. Services talk to each other through
// events (devices/sim/event) and the narrow interfaces they declare, never
// through the phone.
package system

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"telltale.dev/devices/sim/shell"
)

// Dumper is a service with a dumpsys section (Binder.dump).
type Dumper interface {
	Dump(ctx context.Context, sio shell.IO, args []string) int
}

// Commander is a service that answers `cmd NAME ...` (Binder.onShellCommand).
type Commander interface {
	ShellCommand(ctx context.Context, sio shell.IO, args []string) int
}

// Svc is a service that answers `svc NAME ...` (the svc tool's commands).
type Svc interface {
	Svc(ctx context.Context, sio shell.IO, args []string) int
}

// Registry is servicemanager. The zero Registry is ready to use.
type Registry struct {
	mu    sync.Mutex
	names []string
	svcs  map[string]any
}

// Add registers svc under name ("battery", "activity", ...), as
// ServiceManager.addService does; a name is registered once.
func (r *Registry) Add(name string, svc any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.svcs == nil {
		r.svcs = map[string]any{}
	}
	if _, dup := r.svcs[name]; dup {
		return fmt.Errorf("system: service %q registered twice", name)
	}
	r.svcs[name] = svc
	r.names = append(r.names, name)
	return nil
}

func (r *Registry) lookup(name string) (any, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.svcs[name]
	return s, ok
}

// sorted is the service names as servicemanager lists them.
func (r *Registry) sorted() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(slices.Values(r.names))
}

// Commands are the tools that reach services by name.
func (r *Registry) Commands() map[string]shell.Func {
	return map[string]shell.Func{"dumpsys": r.dumpsys, "cmd": r.cmd, "svc": r.svc}
}

func (r *Registry) list(sio shell.IO) {
	fmt.Fprintln(sio.Stdout, "Currently running services:")
	for _, n := range r.sorted() {
		fmt.Fprintln(sio.Stdout, "  "+n)
	}
}

// dumpsys follows AOSP frameworks/native/cmds/dumpsys: no service dumps
// them all under a header each, -l lists them.
func (r *Registry) dumpsys(ctx context.Context, sio shell.IO, args []string) int {
	if len(args) < 2 {
		r.list(sio)
		for _, n := range r.sorted() {
			d, ok := r.dumper(n)
			if !ok {
				continue
			}
			fmt.Fprintln(sio.Stdout, "-------------------------------------------------------------------------------")
			fmt.Fprintf(sio.Stdout, "DUMP OF SERVICE %s:\n", n)
			d.Dump(ctx, sio, nil)
		}
		return 0
	}
	if args[1] == "-l" {
		r.list(sio)
		return 0
	}
	d, ok := r.dumper(args[1])
	if !ok {
		fmt.Fprintf(sio.Stderr, "Can't find service: %s\n", args[1])
		return 0
	}
	return d.Dump(ctx, sio, args[2:])
}

func (r *Registry) dumper(name string) (Dumper, bool) {
	s, ok := r.lookup(name)
	if !ok {
		return nil, false
	}
	d, ok := s.(Dumper)
	return d, ok
}

// cmd follows AOSP frameworks/native/cmds/cmd: exit 20 when the service
// cannot be found.
func (r *Registry) cmd(ctx context.Context, sio shell.IO, args []string) int {
	if len(args) < 2 {
		fmt.Fprintln(sio.Stderr, "cmd: No service specified; use -l to list all running services")
		return 20
	}
	if args[1] == "-l" {
		r.list(sio)
		return 0
	}
	s, _ := r.lookup(args[1])
	c, ok := s.(Commander)
	if !ok {
		fmt.Fprintf(sio.Stderr, "cmd: Can't find service: %s\n", args[1])
		return 20
	}
	return c.ShellCommand(ctx, sio, args[2:])
}

// svc routes `svc NAME ...` to the service of that name. Subcommands of the
// real tool that no service here models (svc data, svc usb ...) succeed and
// change nothing. Modeled.
func (r *Registry) svc(ctx context.Context, sio shell.IO, args []string) int {
	if len(args) < 3 {
		fmt.Fprintln(sio.Stderr, "usage: svc [wifi|data|power|usb] ...")
		return 1
	}
	s, _ := r.lookup(args[1])
	if v, ok := s.(Svc); ok {
		return v.Svc(ctx, sio, args[2:])
	}
	return 0
}
