package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"telltale.dev/reports/baseline"
	"telltale.dev/reports/run"
)

func init() {
	register(command{name: "baseline", summary: "save what a run leaked, per model, firmware and action, as a baseline", run: runBaseline})
}

func runBaseline(_ context.Context, args []string) int {
	return baselineMain(args, os.Stdout, os.Stderr)
}

func baselineMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("baseline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: telltale baseline save RUN_DIR > baseline.json\n\nWrites the hosts and decoding chains each action leaked to, per phone model and\nfirmware, for 'telltale diff' to compare later runs against.")
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return usageExit(err)
	}
	if len(pos) != 2 || pos[0] != "save" {
		fs.Usage()
		return 2
	}
	r, err := run.Open(pos[1])
	if err != nil {
		fmt.Fprintln(stderr, "telltale baseline:", err)
		return 2
	}
	if err := baseline.FromRun(r).Write(stdout); err != nil {
		fmt.Fprintln(stderr, "telltale baseline:", err)
		return 2
	}
	return 0
}
