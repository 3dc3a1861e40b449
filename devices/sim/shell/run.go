package shell

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// runOpts says how a script reaches the shell.
type runOpts struct {
	// origin is "" for `sh -c`; "<stdin>" or a file name otherwise, and
	// then mksh puts "origin[line]: " before each message.
	origin string
	// stream runs each line as soon as it is read, as mksh does with a
	// script on stdin (adb's `shell:` with no command).
	stream bool
	// name is $0 (Name when empty); params are $1...; flags are set -o
	// letters such as "-e".
	name   string
	params []string
	flags  []string
}

// script is what the handlers need to know about the running script.
type script struct {
	origin string
	// funcs are the functions the script declares, so `command -v f` and
	// `type f` answer "function" before looking at the phone's commands.
	// stdin is what a command reads when the interpreter has no stdin of
	// its own for it: the shell's.
	stdin io.Reader
	mu    sync.Mutex
	funcs map[string]bool
	calls atomic.Int64 // function calls, to pace the recursion check
}

type scriptKey struct{}

func scriptOf(ctx context.Context) *script {
	if sc, ok := ctx.Value(scriptKey{}).(*script); ok {
		return sc
	}
	return &script{}
}

func (sc *script) declare(stmts []*syntax.Stmt) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for _, st := range stmts {
		syntax.Walk(st, func(n syntax.Node) bool {
			if fd, ok := n.(*syntax.FuncDecl); ok && fd.Name != nil {
				sc.funcs[fd.Name.Value] = true
			}
			return true
		})
	}
}

func (sc *script) isFunc(name string) bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.funcs[name]
}

type lineKey struct{}

// errPrefix starts a message as mksh does: its name, then for a script read
// from stdin or a file the origin and line of the command.
func errPrefix(ctx context.Context) string {
	line, _ := ctx.Value(lineKey{}).(uint)
	if sc := scriptOf(ctx); sc.origin != "" && line > 0 {
		return fmt.Sprintf("%s: %s[%d]: ", Name, sc.origin, line)
	}
	return Name + ": "
}

// script parses and runs src. A syntax error stops it with mksh's message
// and status, after the lines before it ran, as mksh reads and runs a
// script line by line.
func (s *Shell) script(ctx context.Context, sio IO, src io.Reader, o runOpts) int {
	var mu sync.Mutex // background jobs write concurrently
	sio.Stdout, sio.Stderr = lockedWriter(&mu, sio.Stdout), lockedWriter(&mu, sio.Stderr)
	var text string
	if !o.stream {
		b, err := io.ReadAll(src)
		if err != nil {
			fmt.Fprintf(sio.Stderr, "%s: %v\n", Name, err)
			return 1
		}
		text = string(b)
	}
	// Commands read the shell's stdin as it is (see execMiddleware). The
	// interpreter's own read, mapfile and readarray need it as an *os.File,
	// which costs a pipe and a copier, so only scripts naming them get one.
	// A script on stdin is the shell's input itself; mksh reads it in
	// blocks, so a command finds nothing left to read (modeled).
	cmdIn := sio.Stdin
	if cmdIn == nil || o.stream {
		cmdIn = strings.NewReader("")
	}
	var stdin *os.File
	if o.stream || strings.Contains(text, "read") || strings.Contains(text, "mapfile") {
		var closeStdin func()
		var err error
		if stdin, closeStdin, err = osStdin(cmdIn); err != nil {
			fmt.Fprintf(sio.Stderr, "%s: %v\n", Name, err)
			return 1
		}
		defer closeStdin()
	}
	sc := &script{origin: o.origin, funcs: map[string]bool{}, stdin: cmdIn}
	ctx = context.WithValue(ctx, scriptKey{}, sc)
	r, err := s.runner(ctx, stdin, sio, o)
	if err != nil {
		fmt.Fprintf(sio.Stderr, "%s: %v\n", Name, err)
		return exitSyntax
	}
	name := o.name
	if name == "" {
		name = Name
	}
	run := func(stmts []*syntax.Stmt) int {
		sc.declare(stmts)
		asMksh(stmts)
		// Running a File makes $0 the shell's name, as in mksh.
		return s.status(ctx, sio, r.Run(ctx, &syntax.File{Name: name, Stmts: stmts}))
	}
	parser := syntax.NewParser(syntax.Variant(syntax.LangMirBSDKorn))
	if !o.stream {
		return s.whole(ctx, sio, parser, text, run, r)
	}
	status := 0
	for stmts, err := range parser.InteractiveSeq(cancellable(ctx, src)) {
		if err != nil {
			if ctx.Err() != nil {
				return exitKilled
			}
			syntaxError(ctx, sio, err, "")
			return exitSyntax
		}
		if parser.Incomplete() || len(stmts) == 0 {
			continue
		}
		status = run(stmts)
		if r.Exited() || ctx.Err() != nil {
			break
		}
	}
	if ctx.Err() != nil {
		return exitKilled // the parser takes a failed read for the end
	}
	return status
}

// whole runs a script given at once (sh -c): all of it when it parses, or
// the lines before a syntax error and then the error.
func (s *Shell) whole(ctx context.Context, sio IO, parser *syntax.Parser, text string, run func([]*syntax.Stmt) int, r *interp.Runner) int {
	f, perr := parser.Parse(strings.NewReader(text), "")
	if perr == nil {
		return run(f.Stmts)
	}
	if line := errorLine(perr); line > 1 {
		before := strings.Join(strings.SplitAfter(text, "\n")[:line-1], "")
		if f, err := parser.Parse(strings.NewReader(before), ""); err == nil {
			status := run(f.Stmts)
			if r.Exited() || ctx.Err() != nil {
				return status
			}
		}
	}
	syntaxError(ctx, sio, perr, text)
	return exitSyntax
}

// status turns what the interpreter returned into an exit status.
func (s *Shell) status(ctx context.Context, sio IO, err error) int {
	if err == nil {
		return 0
	}
	if code, ok := interp.IsExitStatus(err); ok {
		return int(code)
	}
	if ctx.Err() != nil {
		return exitKilled
	}
	fmt.Fprintf(sio.Stderr, "%s%v\n", errPrefix(ctx), err)
	return 1
}

// runner builds an interpreter whose every way out to the host goes
// through the phone instead.
func (s *Shell) runner(ctx context.Context, stdin *os.File, sio IO, o runOpts) (*interp.Runner, error) {
	env := s.environ(ctx)
	// interp fills $UID, $EUID and $GID from the host process unless they
	// are set; mksh has none of them, so they are set empty (and never
	// exported to commands: see exported).
	env = append(slices.Clip(env), "UID=", "EUID=", "GID=",
		pidVar+"="+strconv.FormatInt(nextPID.Add(1), 10), ppidVar+"="+adbdPID)
	opts := []interp.RunnerOption{
		interp.Env(expand.ListEnviron(env...)),
		// interp.Dir would stat the directory on the host.
		func(r *interp.Runner) error { r.Dir = Dir(ctx); return nil },
		interp.ExecHandlers(s.execMiddleware),
		interp.CallHandler(s.call),
		interp.OpenHandler(s.open),
		interp.ReadDirHandler2(s.readDir),
		interp.StatHandler(s.stat),
		interp.AccessHandler(s.access),
		interp.StdIO(fileOrNil(stdin), sio.Stdout, sio.Stderr),
	}
	if len(o.flags) > 0 || len(o.params) > 0 {
		opts = append(opts, interp.Params(append(append(slices.Clip(o.flags), "--"), o.params...)...))
	}
	return interp.New(opts...)
}

// hiddenVars are set for the interpreter's sake only (see runner).
var hiddenVars = []string{"UID", "EUID", "GID", pidVar, ppidVar}

// The interpreter answers $$ and $PPID with the host's process ids. The
// script is rewritten to read these variables instead: each shell gets
// the next pid, and its parent is adbd (pid 540, as toybox's pidof tells).
// Both are modeled.
const (
	pidVar  = "_SIM_SHELL_PID"
	ppidVar = "_SIM_SHELL_PPID"
	adbdPID = "540"
)

var nextPID atomic.Int64

func init() { nextPID.Store(4000) }

// asMksh rewrites what the interpreter would do unlike mksh: $$ and $PPID
// (see pidVar), and the last command of a pipeline, which the interpreter
// runs in the shell itself while mksh runs every stage in a subshell, so
// `echo a | read x` leaves x unset.
func asMksh(stmts []*syntax.Stmt) {
	for _, st := range stmts {
		syntax.Walk(st, func(n syntax.Node) bool {
			switch n := n.(type) {
			case *syntax.ParamExp:
				if n.Param == nil {
					break
				}
				switch n.Param.Value {
				case "$":
					n.Param.Value = pidVar
				case "PPID":
					n.Param.Value = ppidVar
				}
			case *syntax.BinaryCmd:
				if n.Op != syntax.Pipe && n.Op != syntax.PipeAll {
					break
				}
				if y, ok := n.Y.Cmd.(*syntax.BinaryCmd); ok && (y.Op == syntax.Pipe || y.Op == syntax.PipeAll) {
					break
				}
				if _, ok := n.Y.Cmd.(*syntax.Subshell); !ok {
					n.Y = &syntax.Stmt{Cmd: &syntax.Subshell{Stmts: []*syntax.Stmt{n.Y}}, Position: n.Y.Position}
				}
			}
			return true
		})
	}
}

// exported is the environment a command inherits: the exported variables,
// sorted by name.
func exported(env expand.Environ) []string {
	out := []string{}
	env.Each(func(name string, vr expand.Variable) bool {
		if vr.Exported && vr.IsSet() && vr.Kind == expand.String && !slices.Contains(hiddenVars, name) {
			out = append(out, name+"="+vr.Str)
		}
		return true
	})
	slices.Sort(out)
	return out
}

// execMiddleware runs every command that is not a function or a builtin
// through the phone's table; it never hands a command to the next handler,
// which would start a host program.
func (s *Shell) execMiddleware(interp.ExecHandlerFunc) interp.ExecHandlerFunc {
	return func(ctx context.Context, args []string) error {
		hc := interp.HandlerCtx(ctx)
		ctx = withProcess(ctx, hc.Dir, exported(hc.Env))
		ctx = context.WithValue(ctx, lineKey{}, hc.Pos.Line())
		sio := IO{Stdin: readerOf(hc.Stdin, scriptOf(ctx).stdin), Stdout: hc.Stdout, Stderr: hc.Stderr}
		var code int
		if shim, ok := shims[args[0]]; ok {
			code = shim(s, ctx, sio, args[1:])
		} else {
			code = s.Exec(ctx, sio, args)
		}
		if code == 0 {
			return nil
		}
		return interp.NewExitStatus(uint8(code))
	}
}

// readerOf is what a command reads: the interpreter's stdin when it has
// one (a pipe, a redirect), else the shell's own.
func readerOf(r io.Reader, shells io.Reader) io.Reader {
	if f, ok := r.(*os.File); ok && f != nil {
		return r
	}
	if shells == nil {
		return strings.NewReader("")
	}
	return shells
}

func (s *Shell) abs(ctx context.Context, p string) string {
	if strings.HasPrefix(p, "/") {
		return path.Clean(p)
	}
	return path.Join(interp.HandlerCtx(ctx).Dir, p)
}

// open serves redirects and `.`. Its errors are *fs.PathError values,
// which the interpreter prints as they are, so their parts are shaped to
// read as mksh's "/system/bin/sh: FILE: create: REASON".
func (s *Shell) open(ctx context.Context, p string, flag int, perm os.FileMode) (io.ReadWriteCloser, error) {
	f, err := s.files().Open(ctx, s.abs(ctx, p), flag, perm)
	if err != nil {
		op := "open"
		if flag&(os.O_WRONLY|os.O_RDWR) != 0 {
			op = "create"
		}
		return nil, &fs.PathError{Op: strings.TrimSuffix(errPrefix(ctx), " ") + " " + p + ":", Path: op, Err: errText{err}}
	}
	return f, nil
}

// errText prints an error as ErrText words it.
type errText struct{ err error }

func (e errText) Error() string { return ErrText(e.err) }
func (e errText) Unwrap() error { return e.err }

func (s *Shell) readDir(ctx context.Context, p string) ([]fs.DirEntry, error) {
	return s.files().ReadDir(ctx, s.abs(ctx, p))
}

func (s *Shell) stat(ctx context.Context, p string, follow bool) (fs.FileInfo, error) {
	return s.files().Stat(ctx, s.abs(ctx, p), follow)
}

// access checks permission bits against the caller, as access(2): root
// may read and write anything and execute what has any x bit.
func (s *Shell) access(ctx context.Context, p string, mode interp.AccessMode) error {
	info, err := s.stat(ctx, p, true)
	if err != nil {
		return err
	}
	perm := uint32(info.Mode().Perm())
	uid := UID(ctx)
	if uid == 0 {
		if mode&interp.AccessExec != 0 && !info.IsDir() && perm&0o111 == 0 {
			return os.ErrPermission
		}
		return nil
	}
	shift := 0 // others
	if owner, ok := ownerOf(info); ok && owner == uid {
		shift = 6
	}
	if uint32(mode)<<shift&perm != uint32(mode)<<shift {
		return os.ErrPermission
	}
	return nil
}

// ownerOf reads a file's owner from FileInfo.Sys. It must be a
// *syscall.Stat_t: the interpreter's `test -O` asserts that type.
func ownerOf(info fs.FileInfo) (uint32, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok || st == nil {
		return 0, false
	}
	return st.Uid, true
}

// lockedWriter serialises writes to w under mu; nil w discards.
func lockedWriter(mu *sync.Mutex, w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return &locked{mu: mu, w: w}
}

type locked struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *locked) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// fileOrNil keeps a nil *os.File from becoming a non-nil io.Reader, which
// the interpreter would take for a stdin to read.
func fileOrNil(f *os.File) io.Reader {
	if f == nil {
		return nil
	}
	return f
}

// osStdin gives the interpreter the *os.File it needs for stdin: the read
// end of a pipe fed from r (its write end closed at once when r is nil).
// close ends the feeding: a copier blocked on r returns when r's owner
// closes it.
func osStdin(r io.Reader) (*os.File, func(), error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("no pipe for stdin: %w", err)
	}
	if isEmpty(r) {
		pw.Close()
		return pr, func() { pr.Close() }, nil
	}
	go func() {
		_, _ = io.Copy(pw, r)
		pw.Close()
	}()
	return pr, func() { pr.Close() }, nil
}

// isEmpty spots readers known to hold nothing, so no copier is started.
func isEmpty(r io.Reader) bool {
	l, ok := r.(interface{ Len() int })
	return ok && l.Len() == 0
}

// cancellable returns a reader over r that fails once ctx ends, so a shell
// waiting for its next line on stdin stops when the session does.
func cancellable(ctx context.Context, r io.Reader) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		_, err := io.Copy(pw, r)
		pw.CloseWithError(err)
	}()
	context.AfterFunc(ctx, func() { pr.CloseWithError(ctx.Err()) })
	return pr
}
