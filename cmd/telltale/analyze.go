package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/capture"
	"telltale.dev/harness/leak"
)

func init() {
	register(command{name: "analyze", summary: "find canaries in captures (HAR or JSON-lines flow logs)", run: runAnalyze})
	register(command{name: "canaries", summary: "generate a reproducible canaries file from a seed", run: runCanaries})
}

func runAnalyze(_ context.Context, args []string) int { return analyzeMain(args, os.Stdout, os.Stderr) }

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

type analyzeOutput struct {
	Findings []analyzeFinding `json:"findings"`
	Entries  int              `json:"entries"`
	Capped   []leak.Capped    `json:"capped"`
}

func analyzeMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("analyze", flag.ContinueOnError)
	fs.SetOutput(stderr)
	canariesPath := fs.String("canaries", "", "canaries file: {\"canaries\": [{\"id\", \"value\", \"kind\"}]} (required)")
	format := fs.String("format", "text", "output: text (a table) or json")
	failOnLeak := fs.Bool("fail-on-leak", false, "exit 1 when anything leaked (for CI)")
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: telltale analyze --canaries FILE [--format text|json] [--fail-on-leak] CAPTURE...

Finds every canary in the requests of the captures, through any chain of
decodings, and says where and how. A CAPTURE is a HAR file (ours or another
tool's) or telltale's JSON-lines flow log. Several captures are read as one
in the order given, so a key exchanged in one file opens uploads in the next;
"entry" numbers the HTTP requests (not marks or TLS failures) from 0 across
all files in that order: the first request of the second file follows the
last of the first.

Exit status: 0 when the captures were analysed (leaks or not), 1 with
--fail-on-leak when something leaked, 2 on a usage error or an unreadable
file.

flags:
`)
		fs.PrintDefaults()
	}
	captures, err := parseInterspersed(fs, args)
	if err != nil {
		return usageExit(err)
	}
	if *canariesPath == "" || len(captures) == 0 || (*format != "text" && *format != "json") {
		fs.Usage()
		return 2
	}
	cs, err := canary.Load(*canariesPath)
	if err != nil {
		fmt.Fprintln(stderr, "telltale analyze:", err)
		return 2
	}
	var flows []capture.Flow
	for _, path := range captures {
		fl, err := capture.ReadFile(path)
		if err != nil {
			fmt.Fprintf(stderr, "telltale analyze: %s: %v\n", path, err)
			return 2
		}
		flows = append(flows, fl...)
	}
	rep := leak.New(cs).Scan(flows)
	if *format == "json" {
		out := analyzeOutput{Findings: []analyzeFinding{}, Entries: rep.Entries, Capped: rep.Capped}
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
