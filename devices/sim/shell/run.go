package shell

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"syscall"
)

// IO is a command's standard streams.
type IO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Func runs one command; args[0] is the command name as typed. It returns the
// exit status.
type Func func(ctx context.Context, sio IO, args []string) int

// Shell runs command lines. Commands are looked up by base name, so
// /system/bin/ls finds "ls".
type Shell struct {
	Commands map[string]Func
	// Glob expands a pattern to matching paths (nil or empty: no match, the
	// word stays as typed, as sh does).
	Glob func(pattern string) []string
	// Create opens a file for a > or >> redirect.
	Create func(ctx context.Context, path string, appendTo bool) (io.WriteCloser, error)
}

// ExitNotFound is sh's status for a command that does not exist.
const ExitNotFound = 127

// exitState is one shell's: `exit` sets done so the rest of its line is
// skipped. A nested `sh -c` gets its own.
type exitState struct{ done bool }

type exitKey struct{}

// Run parses and runs line. A syntax error prints sh's message and exits 2.
func (s *Shell) Run(ctx context.Context, line string, sio IO) int {
	pls, err := Parse(line)
	if err != nil {
		fmt.Fprintf(sio.Stderr, "/system/bin/sh: %v\n", err)
		return 2
	}
	st := &exitState{}
	ctx = context.WithValue(ctx, exitKey{}, st)
	status := 0
	for i, pl := range pls {
		if ctx.Err() != nil {
			return 130
		}
		if st.done {
			return status
		}
		if i > 0 {
			prev := pls[i-1].Next
			if (prev == "&&" && status != 0) || (prev == "||" && status == 0) {
				continue
			}
		}
		status = s.pipeline(ctx, pl, sio)
	}
	return status
}

// pipeline runs the stages one after another, each reading the previous
// stage's whole output: the simulated commands are not streaming ones.
func (s *Shell) pipeline(ctx context.Context, pl Pipeline, sio IO) int {
	in := sio.Stdin
	status := 0
	for i, c := range pl.Commands {
		stage := IO{Stdin: in, Stdout: sio.Stdout, Stderr: sio.Stderr}
		var buf *bytes.Buffer
		if i < len(pl.Commands)-1 {
			buf = &bytes.Buffer{}
			stage.Stdout = buf
		}
		status = s.simple(ctx, c, stage)
		if buf != nil {
			in = buf
		}
	}
	return status
}

func (s *Shell) simple(ctx context.Context, c Simple, sio IO) int {
	var args []string
	for _, w := range c.Words {
		if w.Subst {
			w.Text = s.substitute(ctx, w.Text, sio)
		}
		if w.Glob && s.Glob != nil {
			if m := s.Glob(w.Text); len(m) > 0 {
				args = append(args, m...)
				continue
			}
		}
		args = append(args, w.Text)
	}
	var closers []io.Closer
	defer func() {
		for _, cl := range closers {
			cl.Close()
		}
	}()
	for _, r := range c.Redirects {
		if r.Dup {
			sio.Stderr = sio.Stdout
			continue
		}
		var w io.Writer = io.Discard
		if r.Path != "/dev/null" {
			f, err := s.create(ctx, r.Path, r.Append)
			if err != nil {
				fmt.Fprintf(sio.Stderr, "/system/bin/sh: can't create %s: %s\n", r.Path, ErrText(err))
				return 1
			}
			closers = append(closers, f)
			w = f
		}
		if r.Fd == 1 {
			sio.Stdout = w
		} else {
			sio.Stderr = w
		}
	}
	if len(args) == 0 {
		return 0
	}
	if sio.Stdin == nil {
		sio.Stdin = strings.NewReader("")
	}
	return s.Exec(ctx, sio, args)
}

// substitute replaces each $(cmd) in text with cmd's output, trailing
// newlines removed, as sh does.
func (s *Shell) substitute(ctx context.Context, text string, sio IO) string {
	var out strings.Builder
	for {
		i := strings.Index(text, "$(")
		if i < 0 {
			out.WriteString(text)
			return out.String()
		}
		out.WriteString(text[:i])
		depth, j := 0, i+1
		for ; j < len(text); j++ {
			if text[j] == '(' {
				depth++
			} else if text[j] == ')' {
				if depth--; depth == 0 {
					break
				}
			}
		}
		var buf bytes.Buffer
		s.Run(ctx, text[i+2:j], IO{Stdin: strings.NewReader(""), Stdout: &buf, Stderr: sio.Stderr})
		out.WriteString(strings.TrimRight(buf.String(), "\n"))
		text = text[min(j+1, len(text)):]
	}
}

func (s *Shell) create(ctx context.Context, p string, appendTo bool) (io.WriteCloser, error) {
	if s.Create == nil {
		return nil, syscall.EROFS
	}
	return s.Create(ctx, p, appendTo)
}

// Exec runs one already-split command, for commands that run others (sh -c,
// nsenter, su).
func (s *Shell) Exec(ctx context.Context, sio IO, args []string) int {
	name := path.Base(args[0])
	switch name {
	case "sh":
		return s.sh(ctx, sio, args)
	case "true", ":":
		return 0
	case "false":
		return 1
	case "exit":
		return exit(ctx, sio, args)
	}
	f, ok := s.Commands[name]
	if !ok {
		fmt.Fprintf(sio.Stderr, "/system/bin/sh: %s: not found\n", args[0])
		return ExitNotFound
	}
	return f(ctx, sio, args)
}

func exit(ctx context.Context, sio IO, args []string) int {
	if st, ok := ctx.Value(exitKey{}).(*exitState); ok {
		st.done = true
	}
	if len(args) < 2 {
		return 0
	}
	n, err := strconv.Atoi(args[1])
	if err != nil {
		fmt.Fprintf(sio.Stderr, "/system/bin/sh: exit: Illegal number: %s\n", args[1])
		return 2
	}
	return n & 0xff
}

func (s *Shell) sh(ctx context.Context, sio IO, args []string) int {
	if len(args) >= 3 && args[1] == "-c" {
		return s.Run(ctx, args[2], sio)
	}
	if len(args) == 1 {
		// "sh" with a script on stdin, as `adb shell < script` sends it.
		b, err := io.ReadAll(io.LimitReader(sio.Stdin, 1<<20))
		if err != nil {
			fmt.Fprintf(sio.Stderr, "sh: %v\n", err)
			return 1
		}
		return s.Run(ctx, string(b), sio)
	}
	fmt.Fprintf(sio.Stderr, "sh: %s: can't open script files on the simulated phone; use sh -c\n", args[1])
	return 2
}

// ErrText words an error the way toybox prints errno: "No such file or directory".
func ErrText(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		t := en.Error()
		return strings.ToUpper(t[:1]) + t[1:]
	}
	return err.Error()
}
