package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/capture"
	"telltale.dev/harness/leak"
)

func init() {
	register(command{name: "analyze", summary: "find canaries in captures (HAR, mitmproxy dumps, flow logs)", run: runAnalyze})
	register(command{name: "canaries", summary: "generate a reproducible canaries file from a seed", run: runCanaries})
}

func runAnalyze(ctx context.Context, args []string) int {
	return analyzeMain(ctx, args, os.Stdout, os.Stderr)
}

// analyzeFinding is one finding as `telltale analyze --format json` prints it.
type analyzeFinding struct {
	Canary   string   `json:"canary"`
	Entry    int      `json:"entry"`
	Host     string   `json:"host"`
	URL      string   `json:"url"`
	Where    string   `json:"where"`
	Chain    []string `json:"chain"`
	Evidence string   `json:"evidence"`
}

// analyzeCapture says how one input file was read.
type analyzeCapture struct {
	Path     string   `json:"path"`
	Format   string   `json:"format"`
	Requests int      `json:"requests"`
	Notes    []string `json:"notes"`
}

type analyzeOutput struct {
	Findings []analyzeFinding `json:"findings"`
	Entries  int              `json:"entries"`
	Capped   []leak.Capped    `json:"capped"`
	Captures []analyzeCapture `json:"captures"`
}

func analyzeMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("analyze", flag.ContinueOnError)
	fs.SetOutput(stderr)
	canariesPath := fs.String("canaries", "", "canaries file: {\"canaries\": [{\"id\", \"value\", \"kind\"}]} (required)")
	format := fs.String("format", "text", "output: text (a table) or json")
	failOnLeak := fs.Bool("fail-on-leak", false, "exit 1 when anything leaked (for CI)")
	partial := fs.Bool("partial", false, "analyse the complete part of a truncated capture (with a warning) instead of exiting 2")
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: telltale analyze --canaries FILE [--format text|json] [--fail-on-leak] [--partial] CAPTURE...

Finds every canary in the requests of the captures, through any chain of
decodings, and says where and how. A CAPTURE is, told apart by its content:
a HAR file (Chrome, Firefox, HTTP Toolkit, Charles, Fiddler, mitmproxy's
savehar, ours), a mitmproxy dump (mitmdump -w, mitmproxy 7 to 11), or
telltale's JSON-lines flow log; any of them may be gzip-compressed.
Captures are read entry by entry, so their size is not bounded by memory;
a progress bar shows on a terminal when it takes a while.

Several captures are read as one in the order given, so a key exchanged in
one file opens uploads in the next; "entry" numbers the HTTP requests (not
marks or TLS failures) from 0 across all files in that order: the first
request of the second file follows the last of the first.

Exit status: 0 when the captures were analysed (leaks or not), 1 with
--fail-on-leak when something leaked, 2 on a usage error or input that was
not understood: a file of another format, a truncated file (unless
--partial), an empty file, or captures with no request at all. No verdict
is given for input that was not read.

flags:
`)
		fs.PrintDefaults()
	}
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		return usageExit(err)
	}
	if *canariesPath == "" || len(paths) == 0 || (*format != "text" && *format != "json") {
		fs.Usage()
		return 2
	}
	cs, err := canary.Load(*canariesPath)
	if err != nil {
		fmt.Fprintln(stderr, "telltale analyze:", err)
		return 2
	}
	// Every file is opened and its format told before the long work starts,
	// so a wrong file fails at once.
	var files []*capture.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	var total int64
	for _, p := range paths {
		f, err := capture.OpenFile(p)
		if err != nil {
			fmt.Fprintf(stderr, "telltale analyze: %s: %v\n", p, err)
			return 2
		}
		files = append(files, f)
		total += f.Size
	}

	scan, err := newStreamScan(cs)
	if err != nil {
		fmt.Fprintln(stderr, "telltale analyze:", err)
		return 2
	}
	caps, err := scan.files(ctx, paths, files, newProgress(stderr, total), *partial)
	for _, c := range caps {
		for _, n := range c.Notes {
			fmt.Fprintf(stderr, "telltale analyze: warning: %s (%s): %s\n", c.Path, c.Format, n)
		}
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "telltale analyze: interrupted: no verdict")
		return 130
	}
	if err != nil {
		fmt.Fprintln(stderr, "telltale analyze:", err)
		return 2
	}
	rep := scan.finish()
	out := analyzeOutput{Findings: []analyzeFinding{}, Captures: caps}
	if rep.Entries == 0 {
		fmt.Fprintln(stderr, "telltale analyze: no HTTP request in any capture: nothing to analyse, no verdict")
		return 2
	}
	if *format == "json" {
		out.Entries, out.Capped = rep.Entries, rep.Capped
		for _, f := range rep.Findings {
			out.Findings = append(out.Findings, analyzeFinding{Canary: f.Canary, Entry: f.Entry, Host: f.Host,
				URL: f.URL, Where: f.Where, Chain: f.Chain, Evidence: f.Evidence})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			fmt.Fprintln(stderr, "telltale analyze:", err)
			return 2
		}
	} else {
		printFindings(stdout, rep)
	}
	if *failOnLeak && len(rep.Findings) > 0 {
		return 1
	}
	return 0
}

// streamScan feeds the captures to one detector session, a flow at a time,
// so memory is bounded by the session's findings and the few encrypted
// bodies waiting for their key, not by the captures. The canaries are
// planted before every flow: "entry" numbers the requests across all files
// in the order given, and a key exchanged in one file opens uploads in the
// next.
type streamScan struct {
	sess  *leak.Session
	flows int
}

func newStreamScan(cs []canary.Canary) (*streamScan, error) {
	sess := leak.NewSession()
	if err := sess.Plant(leak.Planting{}, cs...); err != nil {
		return nil, err
	}
	return &streamScan{sess: sess}, nil
}

// files scans the captures in order and says how each was read. A read
// error ends the scan unless it is a truncation and partial is set, which
// makes it a note of that capture.
func (s *streamScan) files(ctx context.Context, paths []string, files []*capture.File, prog *progress, partial bool) ([]analyzeCapture, error) {
	defer prog.clear()
	caps := []analyzeCapture{}
	var doneBytes int64
	requests := 0
	for i, f := range files {
		var readErr error
		for fl, err := range f.Flows() {
			if err == nil {
				err = ctx.Err()
			}
			if err != nil {
				readErr = err
				break
			}
			s.sess.Add(fl)
			s.flows++
			prog.update(doneBytes+f.Offset(), s.flows)
		}
		doneBytes += f.Size
		before := requests
		requests = s.sess.Report(leak.Query{}).Entries
		c := analyzeCapture{Path: paths[i], Format: f.Describe(), Requests: requests - before, Notes: f.Notes()}
		switch {
		case readErr == nil:
		case ctx.Err() != nil:
			return caps, ctx.Err()
		case partial && errors.Is(readErr, capture.ErrTruncated):
			c.Notes = append(c.Notes, fmt.Sprintf("PARTIAL: only the %d request(s) before the cut were analysed: %v", c.Requests, readErr))
		case errors.Is(readErr, capture.ErrTruncated):
			return caps, fmt.Errorf("%s: %w\nno verdict; run with --partial to analyse the %d complete request(s) before the cut", paths[i], readErr, c.Requests)
		default:
			return caps, fmt.Errorf("%s: %w", paths[i], readErr)
		}
		if c.Requests == 0 {
			c.Notes = append(c.Notes, "no HTTP request in this capture: nothing of it was analysed")
		}
		if c.Notes == nil {
			c.Notes = []string{}
		}
		caps = append(caps, c)
	}
	return caps, nil
}

func (s *streamScan) finish() leak.Report { return s.sess.Report(leak.Query{}) }

// progress draws a one-line bar on stderr when stderr is a terminal and the
// work has taken long enough that a user would wonder.
type progress struct {
	w           io.Writer
	total       int64
	start, last time.Time
	drawn       bool
}

const (
	progressAfter = 2 * time.Second
	progressEvery = 250 * time.Millisecond
)

func newProgress(stderr io.Writer, total int64) *progress {
	f, ok := stderr.(*os.File)
	if !ok || total <= 0 {
		return &progress{}
	}
	if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return &progress{}
	}
	now := time.Now()
	return &progress{w: stderr, total: total, start: now, last: now}
}

func (p *progress) update(done int64, flows int) {
	if p.w == nil || flows%64 != 0 {
		return
	}
	now := time.Now()
	if now.Sub(p.start) < progressAfter || now.Sub(p.last) < progressEvery {
		return
	}
	p.last, p.drawn = now, true
	fmt.Fprint(p.w, "\r"+progressLine(done, p.total, flows, now.Sub(p.start)))
}

func (p *progress) clear() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

// progressLine renders "[#####.....] 52%  530 MB of 1.0 GB  41200 flows  0:12 left".
func progressLine(done, total int64, flows int, elapsed time.Duration) string {
	done = min(done, total)
	const width = 30
	frac := float64(done) / float64(total)
	bar := strings.Repeat("#", int(frac*width)) + strings.Repeat(".", width-int(frac*width))
	left := "--:--"
	if done > 0 {
		rest := time.Duration(float64(elapsed) * float64(total-done) / float64(done)).Round(time.Second)
		left = fmt.Sprintf("%d:%02d", int(rest.Minutes()), int(rest.Seconds())%60)
	}
	return fmt.Sprintf("analyze [%s] %3d%%  %s of %s  %d flows  %s left ", bar, int(frac*100), sizeText(done), sizeText(total), flows, left)
}

func sizeText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d KB", n>>10)
}

func printFindings(w io.Writer, rep leak.Report) {
	fmt.Fprintf(w, "%d finding(s) in %d request(s)\n", len(rep.Findings), rep.Entries)
	if len(rep.Findings) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ENTRY\tCANARY\tHOST\tWHERE\tCHAIN\tEVIDENCE")
		for _, f := range rep.Findings {
			host := f.Host
			if f.Endpoint != "" {
				host += " (" + f.Endpoint + ")"
			}
			chain := strings.Join(f.Chain, " > ")
			if chain == "" {
				chain = "-"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", f.Entry, f.Canary, host, f.Where, chain, f.Evidence)
		}
		tw.Flush()
	}
	for _, c := range rep.Capped {
		fmt.Fprintf(w, "bound reached: entry %d %s (%s): a leak past it may be missed\n", c.Entry, c.Where, c.Limit)
	}
}

func runCanaries(_ context.Context, args []string) int {
	return canariesMain(args, os.Stdout, os.Stderr)
}

func canariesMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("canaries", flag.ContinueOnError)
	fs.SetOutput(stderr)
	seed := fs.Int64("seed", 1, "seed: the same seed gives the same canaries")
	out := fs.String("out", "", "file to write (default: standard output)")
	count := fs.Int("count", 1, "canaries of each kind")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: telltale canaries [--seed N] [--count K] [--out FILE]\n\nWrites K canaries of each kind (url, search, pkg, folder, ssid, setting, email, level) as a canaries file.\n\nflags:")
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return usageExit(err)
	}
	if *count < 1 || len(pos) > 0 {
		fs.Usage()
		return 2
	}
	g := canary.NewGenerator(*seed)
	var cs []canary.Canary
	for i := 1; i <= *count; i++ {
		n := fmt.Sprint(i)
		cs = append(cs, g.URL("url"+n), g.Search("search"+n), g.Package("pkg"+n), g.Folder("folder"+n),
			g.SSID("ssid"+n), g.SettingValue("setting"+n), g.Email("email"+n), g.Number("level"+n))
	}
	if *out == "" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(canary.File{Canaries: cs}); err != nil {
			fmt.Fprintln(stderr, "telltale canaries:", err)
			return 2
		}
		return 0
	}
	if err := canary.Save(*out, cs); err != nil {
		fmt.Fprintln(stderr, "telltale canaries:", err)
		return 2
	}
	return 0
}
