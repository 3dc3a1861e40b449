package shell

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
)

// maxScript bounds a script file sh reads into memory.
const maxScript = 1 << 20

// sh is mksh's command line: `sh -c CMD [NAME ARGS...]`, `sh FILE
// [ARGS...]`, and `sh` (or `sh -s`, `sh -`) reading a script from stdin
// line by line, as adbd's interactive shell does. Leading option letters
// (-e, -x, -u ...) are set before the script runs.
func (s *Shell) sh(ctx context.Context, sio IO, args []string) int {
	var o runOpts
	var cmd *string
	i := 1
loop:
	for ; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-c":
			if i+1 >= len(args) {
				fmt.Fprintf(sio.Stderr, "%s: -c: option requires an argument\n", Name)
				return 1
			}
			cmd = &args[i+1]
			i += 2
			break loop
		case a == "-" || a == "--":
			i++
			break loop
		case a == "-s":
		case len(a) > 1 && (a[0] == '-' || a[0] == '+'):
			o.flags = append(o.flags, a)
		default:
			break loop
		}
	}
	rest := args[i:]
	switch {
	case cmd != nil:
		if len(rest) > 0 {
			o.name, o.params = rest[0], rest[1:]
		}
		return s.script(ctx, sio, strings.NewReader(*cmd), o)
	case len(rest) > 0:
		return s.shFile(ctx, sio, rest, o)
	}
	o.origin, o.stream, o.params = "<stdin>", true, rest
	return s.script(ctx, sio, sio.Stdin, o)
}

// shFile runs a script file from the phone's file system.
func (s *Shell) shFile(ctx context.Context, sio IO, args []string, o runOpts) int {
	f, err := s.files().Open(ctx, Abs(ctx, args[0]), os.O_RDONLY, 0)
	if err != nil {
		fmt.Fprintf(sio.Stderr, "%s: %s: %s\n", Name, args[0], ErrText(err))
		return ExitNotFound
	}
	text, err := io.ReadAll(io.LimitReader(f, maxScript))
	f.Close()
	if err != nil {
		fmt.Fprintf(sio.Stderr, "%s: %s: %s\n", Name, args[0], ErrText(err))
		return exitCannotExecute
	}
	o.origin, o.name, o.params = args[0], args[0], args[1:]
	return s.script(ctx, sio, strings.NewReader(string(text)), o)
}
