package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"telltale.dev/reports/run"
)

func init() {
	register(command{name: "report", summary: "render a run's index.html, or merge runs from several machines or shards", run: runReport})
}

func runReport(_ context.Context, args []string) int {
	return reportMain(args, os.Stdout, os.Stderr)
}

func reportMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "merge: the new run directory to create")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage:\n  telltale report html RUN_DIR                    re-render RUN_DIR/index.html\n  telltale report merge --out DIR RUN_DIR...      combine runs (machines, CI shards) into one")
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return usageExit(err)
	}
	switch {
	case len(pos) == 2 && pos[0] == "html":
		if err := run.Render(pos[1]); err != nil {
			fmt.Fprintln(stderr, "telltale report html:", err)
			return 2
		}
		fmt.Fprintln(stdout, filepath.Join(pos[1], run.IndexFile))
		return 0
	case len(pos) >= 2 && pos[0] == "merge" && *out != "":
		r, err := run.Merge(*out, pos[1:]...)
		if err != nil {
			fmt.Fprintln(stderr, "telltale report merge:", err)
			return 2
		}
		fmt.Fprintf(stdout, "%s: %d runs, %d devices, %d specs, status %s\n", filepath.Join(r.Dir, run.IndexFile), len(r.Manifest.Shards), len(r.Manifest.Devices), len(r.Specs), r.Manifest.Status)
		return 0
	}
	fs.Usage()
	return 2
}
