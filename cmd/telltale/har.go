package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"telltale.dev/harness/capture"
)

func init() {
	register(command{name: "har", summary: "convert a capture (flow log, mitmproxy dump, HAR) to HAR 1.2 on stdout", run: runHAR})
}

func runHAR(ctx context.Context, args []string) int { return harMain(ctx, args, os.Stdout, os.Stderr) }

func harMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("har", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: telltale har CAPTURE > out.har

Converts a capture to HAR 1.2, which browsers' DevTools (Network panel,
Import HAR) and HAR viewers open. A CAPTURE is telltale's flow log, a
mitmproxy dump (mitmdump -w, mitmproxy 7 to 11) or a HAR, possibly gzipped,
told apart by content. The conversion streams: a capture of any size
converts in the memory of one flow. WebSocket messages go in Chrome's
_webSocketMessages; what HAR has no field for goes in _telltale.

Exit status: 0 on success, 2 on a usage error or input that was not
understood (then the output is incomplete and must not be used).
`)
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return usageExit(err)
	}
	if len(pos) != 1 {
		fs.Usage()
		return 2
	}
	f, err := capture.OpenFile(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "telltale har: %s: %v\n", pos[0], err)
		return 2
	}
	defer f.Close()
	w := bufio.NewWriterSize(stdout, 1<<16)
	hw := capture.NewHARWriter(w)
	for fl, err := range f.Flows() {
		if err == nil {
			err = ctx.Err()
		}
		if err == nil {
			err = hw.Write(&fl)
		}
		if err != nil {
			w.Flush()
			fmt.Fprintf(stderr, "telltale har: %s: %v (the HAR written is incomplete)\n", pos[0], err)
			if ctx.Err() != nil {
				return 130
			}
			return 2
		}
	}
	if err := hw.Close(); err != nil {
		fmt.Fprintln(stderr, "telltale har:", err)
		return 2
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(stderr, "telltale har:", err)
		return 2
	}
	for _, n := range f.Notes() {
		fmt.Fprintf(stderr, "telltale har: warning: %s (%s): %s\n", pos[0], f.Describe(), n)
	}
	return 0
}
