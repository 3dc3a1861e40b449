// Package security decides who may be root on the phone: adbd as root
// after `adb root` where the build allows it, and su where the phone is
// rooted. It answers adbd's root: service and runs su.
package security

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/identity"
	"telltale.dev/devices/sim/shell"
)

// Shell runs commands for su.
type Shell interface {
	Run(ctx context.Context, line string, sio shell.IO) int
	Exec(ctx context.Context, sio shell.IO, args []string) int
}

// Config builds the security service.
type Config struct {
	Bus *event.Bus
	// Debuggable is a userdebug or eng build (ro.debuggable=1), where adbd
	// may restart as root and su is the AOSP one.
	Debuggable bool
	// Unrooted is a retail phone without Magisk: no su.
	Unrooted bool
	Shell    Shell
}

// Security holds the root state.
type Security struct {
	debuggable bool
	sh         Shell

	mu       sync.Mutex
	adbRoot  bool
	unrooted bool
}

// New returns adbd unprivileged, as after boot; a reboot drops adb root.
func New(cfg Config) *Security {
	s := &Security{debuggable: cfg.Debuggable, sh: cfg.Shell, unrooted: cfg.Unrooted}
	event.On(cfg.Bus, func(event.Rebooted) {
		s.mu.Lock()
		s.adbRoot = false
		s.mu.Unlock()
	})
	return s
}

// AdbdUID is who adbd runs commands and file transfers as.
func (s *Security) AdbdUID() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.adbRoot {
		return identity.Root
	}
	return identity.Shell
}

// Root answers adbd's root: service (AOSP adbd's restart_root_service).
func (s *Security) Root() (msg string, restart bool) {
	if !s.debuggable {
		return "adbd cannot run as root in production builds\n", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.adbRoot {
		return "adbd is already running as root\n", false
	}
	s.adbRoot = true
	return "restarting adbd as root\n", true
}

// SetUnrooted removes su from (or gives it back to) a production build: an
// unrooted retail phone, where the harness can only use the user CA store.
func (s *Security) SetUnrooted(unrooted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unrooted = unrooted
}

func (s *Security) hasSu() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.debuggable || !s.unrooted
}

// Commands is su.
func (s *Security) Commands() map[string]shell.Func { return map[string]shell.Func{"su": s.su} }

// su runs a command as root where the phone has su: userdebug images
// (`su 0 CMD...`, AOSP system/extras/su) and rooted phones (Magisk's
// `su -c 'CMD'`). Magisk's first-use prompt is not modeled yet.
func (s *Security) su(ctx context.Context, sio shell.IO, args []string) int {
	if !s.hasSu() {
		// mksh words a missing program this way (the shell package checks it
		// against mksh R59c); su is missing on an unrooted phone.
		fmt.Fprintf(sio.Stderr, "%s: %s: inaccessible or not found\n", shell.Name, args[0])
		return shell.ExitNotFound
	}
	args = args[1:]
	if len(args) > 0 && (args[0] == "0" || args[0] == "root") {
		args = args[1:]
	}
	ctx = shell.WithUID(ctx, identity.Root)
	switch {
	case len(args) >= 2 && args[0] == "-c":
		return s.sh.Run(ctx, strings.Join(args[1:], " "), sio)
	case len(args) > 0:
		return s.sh.Exec(ctx, sio, args)
	}
	return s.sh.Exec(ctx, sio, []string{"sh"})
}
