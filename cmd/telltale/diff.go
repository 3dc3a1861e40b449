package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"telltale.dev/reports/baseline"
)

func init() {
	register(command{name: "diff", summary: "compare a run with a baseline: new leaks, leaks gone, changed chains", run: runDiff})
}

// runDiff exits 0 when the comparison passes the --fail-on policy, 1 when it
// does not (a regression for CI to gate on), 2 on bad input.
func runDiff(_ context.Context, args []string) int {
	return diffMain(args, os.Stdout, os.Stderr)
}

func diffMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("diff", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "text", "output format: text or json")
	failOn := fs.String("fail-on", "new", "exit 1 on: new (new leaks), any (any difference), none (never)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: telltale diff [--format text|json] [--fail-on new|any|none] BASELINE|RUN_DIR RUN_DIR|BASELINE\n\nCompares what the second run leaked with the first, per phone model and action.\nBASELINE is a file from 'telltale baseline save'. Exit 1 when --fail-on is met.")
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return usageExit(err)
	}
	if len(pos) != 2 || (*format != "text" && *format != "json") || (*failOn != "new" && *failOn != "any" && *failOn != "none") {
		fs.Usage()
		return 2
	}
	base, err := baseline.Load(pos[0])
	if err != nil {
		fmt.Fprintln(stderr, "telltale diff:", err)
		return 2
	}
	cur, err := baseline.Load(pos[1])
	if err != nil {
		fmt.Fprintln(stderr, "telltale diff:", err)
		return 2
	}
	res, err := baseline.Compare(base, cur)
	if err != nil {
		fmt.Fprintln(stderr, "telltale diff:", err)
		return 2
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		err = enc.Encode(res)
	} else {
		err = res.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "telltale diff:", err)
		return 2
	}
	switch {
	case *failOn == "new" && res.New > 0, *failOn == "any" && res.New+res.Gone+res.Changed > 0:
		return 1
	}
	return 0
}

// usageExit is the exit code for a flag parsing error: 0 when help was asked
// for, 2 for a usage error (the flag package has printed it).
func usageExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

// parseInterspersed parses flags given before, between or after the
// positional arguments ("diff A B --format json"), which the flag package
// alone stops at.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
