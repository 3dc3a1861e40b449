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
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"telltale.dev/reports/baseline"
	"telltale.dev/reports/run"
	"telltale.dev/scenarios"
)

func init() {
	register(command{name: "run", summary: "run the scenario suites against the selected phones (wraps go tool ginkgo)", run: runRun})
}

// EnvSource points `telltale run` at the telltale source tree when it is not
// run from inside it: the suites are Go tests, compiled by the Go toolchain.
const EnvSource = "TELLTALE_SRC"

func runRun(ctx context.Context, args []string) int {
	return runMain(ctx, args, os.Stdout, os.Stderr)
}

func runMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", "", "only these models (profile names, display names or codenames), comma separated")
	firmware := fs.String("firmware", "", "only this firmware (full or short form, e.g. V11.0.3.0)")
	adbList := fs.String("adb", "", "adb servers host:port,... (default $TELLTALE_ADB; none: a simulated Redmi Note 8)")
	connect := fs.String("connect", "", "adb connect these host:port first (DeviceFarmer/STF remote connect), comma separated")
	devices := fs.String("devices", "", "serial regex, or sim:MODEL[@FIRMWARE],... to start simulated phones")
	out := fs.String("out", "", "run directory (default reports/out/<run-id>)")
	procs := fs.Int("p", 1, "parallel Ginkgo processes, one phone each")
	policy := fs.String("policy", "known-leaks", "known-leaks or strict (every leak fails)")
	settle := fs.Duration("settle", 0, "settle window after each action (default: the profile's)")
	seed := fs.Int64("seed", 0, "canary seed (default from the clock)")
	labels := fs.String("label-filter", "", "Ginkgo label filter, e.g. 'browse-incognito || search'")
	timeout := fs.Duration("timeout", 30*time.Minute, "whole-suite timeout")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: telltale run [flags]\n\nRuns the scenario suites (go tool ginkgo ./scenarios) and prints the leak matrix.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || *procs < 1 {
		fs.Usage()
		return 2
	}
	if _, err := scenarios.ParsePolicy(*policy); err != nil {
		fmt.Fprintf(stderr, "telltale run: %v\n", err)
		return 2
	}
	src, err := sourceTree()
	if err != nil {
		fmt.Fprintf(stderr, "telltale run: %v\n", err)
		return 2
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join(src, "reports", "out", run.NewRunID(time.Now()))
	}
	if dir, err = filepath.Abs(dir); err != nil {
		fmt.Fprintf(stderr, "telltale run: %v\n", err)
		return 2
	}
	suiteArgs := []string{"--out=" + dir, "--policy=" + *policy, "--seed=" + strconv.FormatInt(*seed, 10)}
	for name, v := range map[string]string{"model": *model, "firmware": *firmware, "adb": *adbList, "devices": *devices, "connect": *connect} {
		if v != "" {
			suiteArgs = append(suiteArgs, "--"+name+"="+v)
		}
	}
	if *settle > 0 {
		suiteArgs = append(suiteArgs, "--settle="+settle.String())
	}
	sort.Strings(suiteArgs)
	ginkgo, err := ginkgoPath(ctx, src)
	if err != nil {
		fmt.Fprintf(stderr, "telltale run: %v\n", err)
		return 2
	}
	ginkgoArgs := []string{"--timeout=" + timeout.String(), "--poll-progress-after=2m"}
	if *procs > 1 {
		ginkgoArgs = append(ginkgoArgs, "-p", "--procs="+strconv.Itoa(*procs))
	}
	if *labels != "" {
		ginkgoArgs = append(ginkgoArgs, "--label-filter="+*labels)
	}
	ginkgoArgs = append(ginkgoArgs, "./scenarios", "--")
	ginkgoArgs = append(ginkgoArgs, suiteArgs...)

	cmd := exec.Command(ginkgo, ginkgoArgs...)
	cmd.Dir = src
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.Env = append(os.Environ(), "TESTCONTAINERS_RYUK_DISABLED=true")
	// Own process group: a Ctrl-C reaches ginkgo and its suite processes
	// once, from us, as a terminal would deliver it, so they run their
	// clean-up (restore the phone, remove the proxy container); a second
	// signal would make Ginkgo skip that.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	fmt.Fprintf(stderr, "telltale run: ginkgo %s\n", strings.Join(ginkgoArgs, " "))
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "telltale run: start ginkgo: %v\n", err)
		return 2
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var runErr error
	select {
	case runErr = <-done:
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		select {
		case runErr = <-done:
		case <-time.After(3 * time.Minute):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			runErr = <-done
		}
	}
	code := 0
	if runErr != nil {
		code = 1
		var ee *exec.ExitError
		if !errors.As(runErr, &ee) {
			fmt.Fprintf(stderr, "telltale run: %v\n", runErr)
		}
	}
	r, err := run.Open(dir)
	if err != nil {
		fmt.Fprintf(stderr, "telltale run: no run directory was written (%v)\n", err)
		if code == 0 {
			code = 1
		}
		return code
	}
	fmt.Fprintf(stdout, "\nrun directory: %s (%s)\n", dir, r.Manifest.Status)
	printMatrix(stdout, r)
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
		var ee *exec.ExitError
		if errors.As(err, &ee) {
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

// printMatrix prints one line per device and action: leaked or not, to
// which hosts, via which chain, and the spec's state.
func printMatrix(w io.Writer, r *run.Run) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DEVICE\tACTION\tLEAKED\tTO\tVIA\tSPEC")
	for _, s := range r.Specs {
		dev := s.Device
		if d, ok := r.Device(s.Device); ok {
			dev = d.Model + " " + d.Firmware
		}
		leaked, hosts, via := "no", "-", "-"
		if s.Leaked() {
			leaked = "YES"
			hosts = strings.Join(s.LeakHosts(), ",")
			chains := map[string]bool{}
			var list []string
			for _, f := range s.Findings {
				c := baseline.Chain(f.Chain)
				if !chains[c] {
					chains[c] = true
					list = append(list, c)
				}
			}
			via = strings.Join(list, "; ")
		} else if len(s.TLSFailures) > 0 {
			leaked = "not decrypted"
		} else if len(s.Canaries) == 0 && len(s.Diff.Hosts) > 0 {
			// Nothing planted (lock-screen): what the action caused is the
			// traffic the idle baseline did not have.
			leaked, hosts = "n/a", "new: "+strings.Join(s.Diff.Hosts, ",")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", dev, s.Key(), leaked, hosts, via, s.State)
	}
	tw.Flush()
}
