package security

import (
	"context"
	"fmt"
	"strings"

	"telltale.dev/devices/sim/identity"
	"telltale.dev/devices/sim/shell"
)

// Exit statuses of the two su programs.
const (
	// exitDenied is MagiskSU's client when the daemon refuses: it prints
	// strerror(EACCES) and returns EACCES (topjohnwu/Magisk
	// native/jni/su/su.cpp, su_client_main).
	exitDenied = 13
	// exitError is bionic's error(1, ...) in AOSP su.
	exitError = 1
	// exitUsage is MagiskSU's usage(2) after a bad option.
	exitUsage = 2
	// exitGone is a su whose caller went away while the prompt was up:
	// the shell is killed with the stream (modeled, as the shell's own
	// exitKilled).
	exitGone = 130
)

// magiskVersion is the MagiskSU that `su -v` and `su -V` name: v23.0, the
// release reference/miui-ui.md section 6 was checked against.
const (
	magiskVersion     = "23.0"
	magiskVersionCode = 23000
)

// Commands is su where the phone has one. A stock phone has none, so the
// shell says so itself ("/system/bin/sh: su: inaccessible or not found", 127).
func (s *Security) Commands() map[string]shell.Func {
	switch s.cfg.Kind {
	case Emulator:
		return map[string]shell.Func{"su": s.aospSu}
	case Research:
		return map[string]shell.Func{"su": s.magiskSu}
	}
	return map[string]shell.Func{}
}

// aospSu is AOSP system/extras/su/su.cpp, the su of userdebug images:
// `su [WHO [COMMAND...]]`. WHO is a user name or number; COMMAND is exec'd
// as it is, so `su 0 'cp a b'` looks for a program named "cp a b", and
// `su -c CMD` takes "-c" for a user and fails. Messages are bionic's
// error(): "su: MESSAGE" and exit 1.
func (s *Security) aospSu(ctx context.Context, sio shell.IO, args []string) int {
	if uid := shell.UID(ctx); uid != identity.Root && uid != identity.Shell {
		fmt.Fprintln(sio.Stderr, "su: not allowed")
		return exitError
	}
	args = args[1:]
	if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
		fmt.Fprint(sio.Stderr, "usage: su [WHO [COMMAND...]]\n\n"+
			"Switch to WHO (default 'root') and run the given COMMAND (default sh).\n\n"+
			"WHO is a comma-separated list of user, group, and supplementary groups\nin that order.\n\n")
		return 0
	}
	target := identity.Root
	if len(args) > 0 {
		// pwtoid: getpwnam, else strtoul, for each of user, group, groups.
		for i, tok := range strings.Split(args[0], ",") {
			id, ok := identity.Lookup(tok)
			if !ok {
				fmt.Fprintf(sio.Stderr, "su: invalid uid/gid '%s'\n", tok)
				return exitError
			}
			if i == 0 {
				target = id
			}
		}
		args = args[1:]
	}
	ctx = shell.WithUID(ctx, target)
	if len(args) == 0 {
		return s.cfg.Shell.Exec(ctx, sio, []string{shell.Name})
	}
	if !s.cfg.Shell.Has(args[0]) {
		fmt.Fprintf(sio.Stderr, "su: failed to exec %s: No such file or directory\n", args[0])
		return exitError
	}
	return s.cfg.Shell.Exec(ctx, sio, args)
}

// magiskRequest is a parsed MagiskSU command line.
type magiskRequest struct {
	uid     uint32
	command string
}

// magiskSu is MagiskSU's client (su.cpp, su_client_main): it asks the
// daemon, which answers from magisk.db or by showing the prompt, then runs
// COMMAND with /system/bin/sh -c, or a shell on stdin without one.
func (s *Security) magiskSu(ctx context.Context, sio shell.IO, args []string) int {
	s.mu.Lock()
	unrooted := s.unrooted
	s.mu.Unlock()
	if unrooted {
		fmt.Fprintf(sio.Stderr, "%s: %s: inaccessible or not found\n", shell.Name, args[0])
		return shell.ExitNotFound
	}
	req, code, done := parseMagisk(sio, args[1:])
	if done {
		return code
	}
	allow, err := s.mayBeRoot(ctx, shell.UID(ctx))
	switch {
	case err != nil:
		return exitGone
	case !allow:
		fmt.Fprintln(sio.Stderr, "Permission denied")
		return exitDenied
	}
	ctx = shell.WithUID(ctx, req.uid)
	if req.command == "" {
		return s.cfg.Shell.Exec(ctx, sio, []string{shell.Name})
	}
	return s.cfg.Shell.Run(ctx, req.command, sio)
}

// magiskUsage is MagiskSU's usage text (su.cpp, usage()).
const magiskUsage = "MagiskSU\n\n" +
	"Usage: su [options] [-] [user [argument...]]\n\n" +
	"Options:\n" +
	"  -c, --command COMMAND         pass COMMAND to the invoked shell\n" +
	"  -h, --help                    display this help message and exit\n" +
	"  -, -l, --login                pretend the shell to be a login shell\n" +
	"  -m, -p,\n" +
	"  --preserve-environment        preserve the entire environment\n" +
	"  -s, --shell SHELL             use SHELL instead of the default " + shell.Name + "\n" +
	"  -v, --version                 display version number and exit\n" +
	"  -V                            display version code and exit\n" +
	"  -mm, -M,\n" +
	"  --mount-master                force run in the global mount namespace\n"

// parseMagisk reads MagiskSU's options the way its getopt_long loop does:
// -c takes every argument after it as the command, words joined by
// spaces; the first operand is the user (a name, else a number; MagiskSU's
// parse_int makes anything else -1, which leaves the daemon's root in
// place, so it is root here too). Further operands are ignored. done is
// set when the command line is answered without running anything.
func parseMagisk(sio shell.IO, args []string) (req magiskRequest, code int, done bool) {
	var operands []string
	takesArg := map[string]bool{"-s": true, "--shell": true, "-z": true, "--context": true, "-cn": true}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-c" || a == "--command":
			if i+1 >= len(args) {
				fmt.Fprintf(sio.Stderr, "su: option requires an argument -- c\n\n%s", magiskUsage)
				return req, exitUsage, true
			}
			req.command = strings.Join(args[i+1:], " ")
			i = len(args)
		case a == "-h" || a == "--help":
			fmt.Fprint(sio.Stdout, magiskUsage)
			return req, 0, true
		case a == "-v" || a == "--version":
			fmt.Fprintln(sio.Stdout, magiskVersion+":MAGISKSU")
			return req, 0, true
		case a == "-V":
			fmt.Fprintln(sio.Stdout, magiskVersionCode)
			return req, 0, true
		case takesArg[a]:
			i++
		case a == "-", a == "-l", a == "--login", a == "-m", a == "-p", a == "--preserve-environment",
			a == "-mm", a == "-M", a == "--mount-master":
		case strings.HasPrefix(a, "-"):
			fmt.Fprintf(sio.Stderr, "su: unknown option -- %s\n\n%s", strings.TrimLeft(a, "-"), magiskUsage)
			return req, exitUsage, true
		default:
			operands = append(operands, a)
		}
	}
	if len(operands) > 0 {
		if id, ok := identity.Lookup(operands[0]); ok {
			req.uid = id
		}
	}
	return req, 0, false
}

// mayBeRoot is the Magisk daemon's decision for a request from uid: root
// always may; otherwise the stored policy, or the user's answer on the
// prompt, which is stored (the prompt's scope is "Forever", its first
// entry, for a first request: SuRequestViewModel). One request asks at a
// time; those that waited read the answer it stored.
func (s *Security) mayBeRoot(ctx context.Context, uid uint32) (bool, error) {
	if uid == identity.Root {
		return true, nil
	}
	if p, ok := s.stored(); ok {
		return p == SuGranted, nil
	}
	if err := take(ctx, s.promptTurn); err != nil {
		return false, err
	}
	defer func() { <-s.promptTurn }()
	if p, ok := s.stored(); ok {
		return p == SuGranted, nil
	}
	label, pkg := requester(uid)
	grant, err := s.cfg.Prompt.AskSu(ctx, label, pkg)
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	s.policy = map[bool]SuPolicy{true: SuGranted, false: SuDeny}[grant]
	s.mu.Unlock()
	// Magisk's default "Superuser Notification" is a toast with these words
	// (app strings su_allow_toast / su_deny_toast).
	verb := map[bool]string{true: "granted", false: "denied"}[grant]
	s.cfg.Log.Printf("I", "Magisk", "%s was %s Superuser rights", label, verb)
	return grant, nil
}

// stored is magisk.db's policy for the shell, if any.
func (s *Security) stored() (SuPolicy, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.policy, s.policy != ""
}

// requester is how Magisk's prompt names the app behind uid: the shell
// user is the Shell app, com.android.shell.
func requester(uid uint32) (label, pkg string) {
	if uid == identity.Shell {
		return "Shell", "com.android.shell"
	}
	return identity.Name(uid), identity.Name(uid)
}

// take takes a one-slot semaphore, or gives up when ctx ends.
func take(ctx context.Context, sem chan struct{}) error {
	select {
	case sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
