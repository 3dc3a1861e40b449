package shell

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"

	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// The interpreter's own `type`, `command -v`, `cd` and `pwd -P` look at the
// host (its PATH, its directories), and its `echo` is bash's. The call
// handler steers those to shims that answer as mksh on the phone does. A
// shim's name starts with NUL, which no typed word can hold.
const (
	shimLookup = "\x00lookup"
	shimCd     = "\x00cd"
)

var shims = map[string]func(s *Shell, ctx context.Context, sio IO, args []string) int{
	shimLookup: (*Shell).lookup,
	shimCd:     (*Shell).cdFailed,
}

// maxCallFrames bounds the Go stack a script's function calls may take:
// about a thousand nested calls.
const maxCallFrames = 10000

// mkshBuiltins are the commands mksh runs itself (mksh(1), "Command
// execution"), as `type` reports them. printf is not one: Android's mksh
// runs /system/bin/printf (toybox).
var mkshBuiltins = []string{
	".", ":", "[", "alias", "bg", "bind", "break", "builtin", "cd", "command", "continue", "echo", "eval",
	"exec", "exit", "export", "false", "fc", "fg", "getopts", "global", "jobs", "kill", "let", "print",
	"pwd", "read", "readonly", "realpath", "rename", "return", "set", "shift", "source", "suspend", "test",
	"time", "times", "trap", "true", "typeset", "ulimit", "umask", "unalias", "unset", "wait", "whence",
}

// call rewrites a command before the interpreter looks it up.
func (s *Shell) call(ctx context.Context, args []string) ([]string, error) {
	if sc := scriptOf(ctx); sc.isFunc(args[0]) {
		// Each function call nests the interpreter deeper in Go's stack;
		// unbounded recursion would take the whole simulator down. mksh
		// has no limit and crashes; the phone stops the script instead
		// (modeled). Measuring the stack costs its depth, so it is done
		// every 64th call.
		var pc [1]uintptr
		if sc.calls.Add(1)%64 == 0 && runtime.Callers(maxCallFrames, pc[:]) > 0 {
			return nil, fmt.Errorf("%s: recursion too deep", args[0])
		}
		return args, nil
	}
	switch args[0] {
	case "command":
		if len(args) > 1 && (args[1] == "-v" || args[1] == "-V") {
			return append([]string{shimLookup}, args...), nil
		}
	case "type", "whence":
		return append([]string{shimLookup}, args...), nil
	case "echo":
		// mksh's echo expands backslash escapes unless given -E.
		return append([]string{"echo", "-e"}, args[1:]...), nil
	case "printf":
		if _, ok := s.Commands["printf"]; ok {
			return append([]string{"/system/bin/printf"}, args[1:]...), nil
		}
	case "cd":
		if msg := s.cdCheck(ctx, args[1:]); msg != "" {
			return []string{shimCd, msg}, nil
		}
	case "pwd":
		// -P would resolve $PWD through the host's symlinks; the shell's
		// directory is always a resolved one (modeled), so -L prints it.
		return slices.DeleteFunc(slices.Clone(args), func(a string) bool { return a == "-P" }), nil
	}
	return args, nil
}

// cdCheck returns mksh's complaint about cd's target, "" when cd may go.
func (s *Shell) cdCheck(ctx context.Context, args []string) string {
	hc := interp.HandlerCtx(ctx)
	target := hc.Env.Get("HOME").String()
	switch {
	case len(args) > 0 && args[0] == "-":
		return "" // $OLDPWD was a directory the shell was in
	case len(args) > 0:
		target = args[0]
	}
	if target == "" {
		return ""
	}
	p := s.abs(ctx, target)
	info, err := s.stat(ctx, p, true)
	switch {
	case err != nil:
		return fmt.Sprintf("cd: %s: %s", p, ErrText(err))
	case !info.IsDir():
		return fmt.Sprintf("cd: %s: Not a directory", p)
	case s.access(ctx, p, interp.AccessExec) != nil:
		return fmt.Sprintf("cd: %s: Permission denied", p)
	}
	return ""
}

// cdFailed prints cdCheck's message with mksh's status for a failed cd.
func (s *Shell) cdFailed(ctx context.Context, sio IO, args []string) int {
	fmt.Fprintf(sio.Stderr, "%s%s\n", errPrefix(ctx), args[0])
	return 2
}

// lookup is mksh's `command -v/-V`, `type` and `whence [-v]`, answered
// from the script's functions, mksh's builtins and the phone's commands.
func (s *Shell) lookup(ctx context.Context, sio IO, args []string) int {
	verbose := args[0] == "type"
	var names []string
	for _, a := range args[1:] {
		switch {
		case a == "-V" || a == "-v" && args[0] == "whence":
			verbose = true
		case a == "-v" || a == "-p":
		default:
			names = append(names, a)
		}
	}
	status := 0
	for _, name := range names {
		kind, where := s.kindOf(ctx, name)
		switch {
		case kind == "" && verbose:
			fmt.Fprintf(sio.Stdout, "%s not found\n", name)
		case kind == "":
		case !verbose && kind == "file":
			fmt.Fprintln(sio.Stdout, where)
		case !verbose:
			fmt.Fprintln(sio.Stdout, name)
		case kind == "file" && strings.Contains(name, "/"):
			fmt.Fprintf(sio.Stdout, "%s is %s\n", name, where)
		case kind == "file":
			// mksh remembers where it found a command as a tracked alias.
			fmt.Fprintf(sio.Stdout, "%s is a tracked alias for %s\n", name, where)
		default:
			fmt.Fprintf(sio.Stdout, "%s is %s\n", name, kind)
		}
		if kind == "" {
			status = 1
		}
	}
	return status
}

// kindOf says what running name would run: "a reserved word", "a
// function", "a shell builtin", or "file" and where it is; "" if nothing.
func (s *Shell) kindOf(ctx context.Context, name string) (kind, where string) {
	switch {
	case syntax.IsKeyword(name):
		return "a reserved word", ""
	case scriptOf(ctx).isFunc(name):
		return "a function", ""
	case slices.Contains(mkshBuiltins, name):
		return "a shell builtin", ""
	case strings.Contains(name, "/"):
		if info, err := s.files().Stat(ctx, Abs(ctx, name), true); err == nil && !info.IsDir() {
			return "file", name
		}
		return "", ""
	}
	if _, ok := s.Commands[name]; ok || name == "sh" {
		return "file", "/system/bin/" + name
	}
	return "", ""
}
