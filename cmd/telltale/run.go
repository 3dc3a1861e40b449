package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"telltale.dev/harness/framework"
	"telltale.dev/reports/run"
)

func init() {
	register(command{name: "run", summary: "run the scenario suites against the selected phones (wraps go tool ginkgo)", run: runRun})
}

// EnvSource points `telltale run` at the telltale source tree when it is not
// run from inside it: the suites are Go tests, compiled by the Go toolchain.
const EnvSource = "TELLTALE_SRC"

// interruptGrace is how long a suite may take to put the phones back after
// a Ctrl-C before it is killed.
const interruptGrace = 3 * time.Minute

func runRun(ctx context.Context, args []string) int {
	return runMain(ctx, args, os.Stdout, os.Stderr)
}

// runOptions is a parsed `telltale run` command line.
type runOptions struct {
	src    string   // the telltale source tree
	dir    string   // the run directory
	suite  []string // the suite's flags, as the user set them
	procs  int
	labels string
	limit  time.Duration
}

func runMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseRun(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "telltale run: %v\n", err)
		return 2
	}
	ginkgo, err := ginkgoPath(ctx, o.src)
	if err != nil {
		fmt.Fprintf(stderr, "telltale run: %v\n", err)
		return 2
	}
	code := runGinkgo(ctx, exec.Command(ginkgo, o.ginkgoArgs()...), o.src, stdout, stderr)
	return printRun(o.dir, code, stdout, stderr)
}

// errUsage is a command line the flag package has already complained about.
var errUsage = errors.New("usage")

// parseRun reads the command line: the suite's own flags (defined by the
// framework, forwarded as the user set them) and the run's.
func parseRun(args []string, stderr io.Writer) (runOptions, error) {
	var o runOptions
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var suite framework.Flags
	suite.Register(fs)
	fs.IntVar(&o.procs, "p", 1, "parallel Ginkgo processes, one phone each")
	fs.StringVar(&o.labels, "label-filter", "", "Ginkgo label filter, e.g. 'browse-incognito || search'")
	fs.DurationVar(&o.limit, "timeout", 30*time.Minute, "whole-suite timeout")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: telltale run [flags]\n\nRuns the scenario suites (go tool ginkgo ./scenarios) and prints the leak matrix.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, errUsage
	}
	if fs.NArg() > 0 || o.procs < 1 {
		fs.Usage()
		return o, errUsage
	}
	var err error
	if o.src, err = sourceTree(); err != nil {
		return o, err
	}
	o.dir = suite.Out
	if o.dir == "" {
		o.dir = filepath.Join(o.src, "reports", "out", run.NewRunID(time.Now()))
	}
	if o.dir, err = filepath.Abs(o.dir); err != nil {
		return o, err
	}
	// The suite writes the run directory where we read it afterwards.
	if err := fs.Set("out", o.dir); err != nil {
		return o, err
	}
	o.suite = framework.Forward(fs)
	return o, nil
}

func (o runOptions) ginkgoArgs() []string {
	args := []string{"--timeout=" + o.limit.String(), "--poll-progress-after=2m"}
	if o.procs > 1 {
		args = append(args, "-p", "--procs="+strconv.Itoa(o.procs))
	}
	if o.labels != "" {
		args = append(args, "--label-filter="+o.labels)
	}
	args = append(args, "./scenarios", "--")
	return append(args, o.suite...)
}

// runGinkgo runs the suite in src and returns its exit code. It gets its own
// process group: a Ctrl-C reaches ginkgo and its suite processes once, from
// us, as a terminal would deliver it, so they run their clean-up (restore
// the phone, remove the proxy container); a second signal would make Ginkgo
// skip that.
func runGinkgo(ctx context.Context, cmd *exec.Cmd, src string, stdout, stderr io.Writer) int {
	cmd.Dir = src
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.Env = append(os.Environ(), "TESTCONTAINERS_RYUK_DISABLED=true")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	fmt.Fprintf(stderr, "telltale run: ginkgo %s\n", strings.Join(cmd.Args[1:], " "))
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "telltale run: start ginkgo: %v\n", err)
		return 2
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		select {
		case err = <-done:
		case <-time.After(interruptGrace):
			fmt.Fprintf(stderr, "telltale run: the suite did not finish its clean-up within %s after the interrupt: killed it; run `telltale restore` on the run directory\n", interruptGrace)
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			err = <-done
		}
	}
	if err == nil {
		return 0
	}
	if ee := (*exec.ExitError)(nil); !errors.As(err, &ee) {
		fmt.Fprintf(stderr, "telltale run: %v\n", err)
	}
	return 1
}

// printRun prints where the run directory is, its status and why, and the
// leak matrix. A run that wrote no run directory fails whatever ginkgo said.
func printRun(dir string, code int, stdout, stderr io.Writer) int {
	r, err := run.Open(dir)
	if err != nil {
		fmt.Fprintf(stderr, "telltale run: no run directory was written (%v)\n", err)
		return max(code, 1)
	}
	fmt.Fprintf(stdout, "\nrun directory: %s (%s)\n", dir, r.Manifest.Status)
	if r.Manifest.Reason != "" {
		fmt.Fprintf(stdout, "why: %s\n", r.Manifest.Reason)
	}
	if err := r.WriteMatrix(stdout); err != nil {
		fmt.Fprintf(stderr, "telltale run: print the matrix: %v\n", err)
		return max(code, 1)
	}
	if c, ok, err := framework.ReadTruthCheck(dir); err != nil {
		fmt.Fprintf(stderr, "telltale run: %v\n", err)
		return max(code, 1)
	} else if ok {
		fmt.Fprintln(stdout, c)
	}
	return code
}

// ginkgoPath is the Ginkgo CLI pinned in go.mod as a tool, built if needed.
// Running it directly, not under `go tool`, lets a Ctrl-C reach it unaltered.
func ginkgoPath(ctx context.Context, src string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "tool", "-n", "ginkgo")
	cmd.Dir = src
	out, err := cmd.Output()
	if err != nil {
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return "", fmt.Errorf("find the Ginkgo CLI (go tool -n ginkgo in %s): %w (is the Go toolchain installed?)", src, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// sourceTree finds the telltale module: $TELLTALE_SRC, else the nearest
// go.mod of module telltale.dev above the working directory.
func sourceTree() (string, error) {
	if d := os.Getenv(EnvSource); d != "" {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.HasPrefix(string(b), "module telltale.dev") {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("the scenario suites are Go tests: run inside the telltale source tree or set %s to it", EnvSource)
		}
	}
}
