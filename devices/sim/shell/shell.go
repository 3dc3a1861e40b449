// Package shell is the simulated phone's /system/bin/sh: Android's mksh as
// scripts notice it, built on the mvdan.cc/sh interpreter. It knows nothing
// about phones: the phone supplies the commands (toybox applets and its own
// tools), the file system and who runs them. The interpreter never touches
// the host: programs, files, directories and globbing all go through the
// phone's handlers, and the builtins that would search the host's PATH are
// answered from the phone's command table instead.
package shell

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"syscall"
)

// Name is the shell's path. adbd runs it by this name, so mksh starts each
// message with it: "/system/bin/sh: foo: inaccessible or not found".
const Name = "/system/bin/sh"

// IO is a command's standard streams.
type IO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Func runs one command; args[0] is the command name as typed. It returns the
// exit status. The context carries who runs it (UID), the working directory
// (Dir, Abs) and the exported environment (Environ, Getenv).
type Func func(ctx context.Context, sio IO, args []string) int

// FS is the phone's file system as the shell uses it: redirects, `.`,
// globbing, cd and test. Paths are absolute; the caller's identity is UID(ctx).
// Errors should be syscall.Errno values (possibly wrapped) so messages read
// like a phone's.
type FS interface {
	// Stat describes name, following a final symlink when follow is set.
	// FileInfo.Sys may return *syscall.Stat_t for owner and group.
	Stat(ctx context.Context, name string, follow bool) (fs.FileInfo, error)
	ReadDir(ctx context.Context, name string) ([]fs.DirEntry, error)
	// Open opens name with os.O_* flags; perm applies to a file it creates.
	Open(ctx context.Context, name string, flag int, perm fs.FileMode) (io.ReadWriteCloser, error)
}

// Shell runs command lines. Commands are looked up by base name, so
// /system/bin/ls finds "ls".
type Shell struct {
	Commands map[string]Func
	// FS is the file system redirects, globs, cd and test see; a shell
	// without one sees no files at all.
	FS FS
	// Env is the environment a shell started by adbd gets; nil means
	// DefaultEnv for the caller's UID.
	Env []string
}

// ExitNotFound is sh's status for a command that does not exist.
const ExitNotFound = 127

// exitCannotExecute is mksh's status for a file it cannot run.
const exitCannotExecute = 126

// exitSyntax is mksh's status when it cannot parse a script: 1, where dash
// and bash use 2 (checked against mksh R59c).
const exitSyntax = 1

// exitKilled is the status of a script whose context ended, as if the
// shell were killed by SIGINT (128+2): modeled, adbd's hang-up kills the
// real one with a signal too.
const exitKilled = 130

// Run runs line as `sh -c line` does and returns its exit status.
func (s *Shell) Run(ctx context.Context, line string, sio IO) int {
	return s.script(ctx, sio, strings.NewReader(line), runOpts{})
}

// Exec runs one already-split command, for commands that run others (su,
// nsenter, xargs, env, toybox). sh itself is the one command Exec knows
// without the table.
func (s *Shell) Exec(ctx context.Context, sio IO, args []string) int {
	if len(args) == 0 {
		return 0
	}
	if sio.Stdin == nil {
		sio.Stdin = strings.NewReader("")
	}
	name := path.Base(args[0])
	if name == "sh" {
		return s.sh(ctx, sio, args)
	}
	f, ok := s.Commands[name]
	if !ok || (strings.Contains(args[0], "/") && !s.onPath(ctx, args[0])) {
		fmt.Fprintf(sio.Stderr, "%s%s: inaccessible or not found\n", errPrefix(ctx), args[0])
		return ExitNotFound
	}
	return f(ctx, sio, args)
}

// onPath says whether a command typed with a directory names one of the
// phone's commands: its directory is on PATH, or the file exists there.
func (s *Shell) onPath(ctx context.Context, p string) bool {
	dir := path.Dir(Abs(ctx, p))
	for _, kv := range s.environ(ctx) {
		if k, v, _ := strings.Cut(kv, "="); k == "PATH" && slices.Contains(strings.Split(v, ":"), dir) {
			return true
		}
	}
	_, err := s.files().Stat(ctx, Abs(ctx, p), true)
	return err == nil
}

func (s *Shell) files() FS {
	if s.FS == nil {
		return noFiles{}
	}
	return s.FS
}

// noFiles is the file system of a shell given none.
type noFiles struct{}

func (noFiles) Stat(context.Context, string, bool) (fs.FileInfo, error) { return nil, syscall.ENOENT }
func (noFiles) ReadDir(context.Context, string) ([]fs.DirEntry, error)  { return nil, syscall.ENOENT }
func (noFiles) Open(context.Context, string, int, fs.FileMode) (io.ReadWriteCloser, error) {
	return nil, syscall.ENOENT
}

// ErrText words an error the way toybox and mksh print errno: "No such
// file or directory".
func ErrText(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		t := en.Error()
		return strings.ToUpper(t[:1]) + t[1:]
	}
	return err.Error()
}
