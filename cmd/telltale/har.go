package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"telltale.dev/harness/capture"
)

func init() {
	register(command{name: "har", summary: "convert a flow log (or HAR) to HAR 1.2 on stdout", run: runHAR})
}

func runHAR(_ context.Context, args []string) int {
	fs := flag.NewFlagSet("har", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: telltale har FLOWS.jsonl > out.har")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	flows, err := capture.ReadFile(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "telltale har:", err)
		return 1
	}
	w := bufio.NewWriter(os.Stdout)
	if err := capture.WriteHAR(w, flows); err != nil {
		fmt.Fprintln(os.Stderr, "telltale har:", err)
		return 1
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "telltale har:", err)
		return 1
	}
	return 0
}
