package run

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"telltale.dev/fixtures/canary"
)

//go:embed index.html.tmpl
var indexTemplate string

var indexTmpl = template.Must(template.New("index").Funcs(template.FuncMap{
	"short": shortTime,
}).Parse(indexTemplate))

// Render writes <dir>/index.html from the run directory's run.json and
// findings.json.
func Render(dir string) error {
	r, err := Open(dir)
	if err != nil {
		return err
	}
	return atomicWrite(filepath.Join(dir, IndexFile), r.WriteHTML)
}

// WriteHTML renders the self-contained report: inline CSS and SVG, no
// scripts, no network, HARs linked by relative path.
func (r *Run) WriteHTML(w io.Writer) error {
	return indexTmpl.Execute(w, buildPage(r))
}

type page struct {
	M        Manifest
	Duration string
	Counts   counts
	Columns  []column
	Rows     []row
	Leaks    []specView
	Diffs    []specView
	Devices  []timeline
	Legend   []string
}

type counts struct{ Specs, Leaks, Failed, Findings, Flows, NotDecrypted, Bypassed int }

type column struct {
	Dev  Device
	Head string // "Redmi Note 8"
	Sub  string // firmware
}

type row struct {
	Key   string
	Cells []cell
}

type cell struct {
	Class string // leak | clean | tls | failed | none
	Text  string // what the cell says
	Hosts []string
	TLS   []string // hosts whose traffic could not be decrypted
	// Bypass are connections around the proxy: "app -> remote/proto".
	Bypass []string
	Specs  []int
	Title  string
}

type specView struct {
	S        SpecResult
	Column   string
	Findings []findingView
	// SameAs is the first spec that leaked the same action to the same hosts
	// by the same chains; such repeats start folded so the distinct leaks
	// stand out in a large run.
	SameAs int
}

type findingView struct {
	F      Finding
	Canary canary.Canary
	Steps  []step
	Parts  []part
	Delay  string // since the action began, "" when unknown
}

type step struct{ Name, Explain string }

type part struct {
	Text string
	Mark bool
}

type timeline struct {
	Column  string
	Serial  string
	Width   int
	Height  int
	Windows []window
	Ticks   []tick
	Span    string
}

type window struct {
	ID          int
	X, W        float64
	Class       string
	Label       string
	Title       string
	Bars        []bar
	LabelOffset int
}

type bar struct{ X, Y, W, H float64 }

type tick struct {
	X      float64
	Label  string
	Anchor string // SVG text-anchor, so the last label stays inside
}

func buildPage(r *Run) page {
	p := page{M: r.Manifest, Columns: columns(r)}
	if !p.M.End.IsZero() {
		p.Duration = p.M.End.Sub(p.M.Start).Round(time.Second).String()
	}
	col := map[string]int{} // serial -> column
	for i, c := range p.Columns {
		col[c.Dev.Serial] = i
	}
	p.Counts = count(r.Specs)
	p.Rows = matrix(r.Specs, p.Columns, col)
	p.Leaks, p.Diffs = details(r.Specs, p.Columns, col)
	p.Devices = buildTimelines(r, p.Columns)
	p.Legend = legend(r.Specs)
	return p
}

// columns are the manifest's devices sorted by model, firmware and serial,
// then any serial only seen in specs (a device whose AddDevice was lost to a
// crash still shows).
func columns(r *Run) []column {
	devs := slices.Clone(r.Manifest.Devices)
	sort.SliceStable(devs, func(i, j int) bool {
		if devs[i].Model != devs[j].Model {
			return devs[i].Model < devs[j].Model
		}
		if devs[i].Firmware != devs[j].Firmware {
			return devs[i].Firmware < devs[j].Firmware
		}
		return devs[i].Serial < devs[j].Serial
	})
	for _, s := range r.Specs {
		devs = append(devs, Device{Serial: s.Device})
	}
	var cols []column
	seen := map[string]bool{}
	for _, d := range devs {
		if seen[d.Serial] {
			continue
		}
		seen[d.Serial] = true
		head := d.DisplayName
		if head == "" {
			head = d.Model
		}
		if head == "" {
			head = d.Serial
		}
		cols = append(cols, column{Dev: d, Head: head, Sub: d.Firmware})
	}
	return cols
}

func count(specs []SpecResult) counts {
	var c counts
	for _, s := range specs {
		c.Specs++
		c.Flows += s.Flows
		c.Findings += len(s.Findings)
		if s.State == StateFailed {
			c.Failed++
		}
		if len(s.TLSFailures) > 0 {
			c.NotDecrypted++
		}
		if len(s.Bypassed) > 0 {
			c.Bypassed++
		}
		if s.Leaked() {
			c.Leaks++
		}
	}
	return c
}

// matrix is one row per action (and variant), one cell per device showing
// the worst verdict of its specs there.
func matrix(specs []SpecResult, cols []column, col map[string]int) []row {
	var keys []string
	for _, s := range specs {
		if !slices.Contains(keys, s.Key()) {
			keys = append(keys, s.Key())
		}
	}
	sort.Slice(keys, func(i, j int) bool { return KeyLess(keys[i], keys[j]) })
	rows := make([]row, len(keys))
	verdicts := make([][]Verdict, len(keys))
	for i, k := range keys {
		rows[i] = row{Key: k, Cells: make([]cell, len(cols))}
		verdicts[i] = slices.Repeat([]Verdict{NotRun}, len(cols))
	}
	for _, s := range specs {
		i, j := slices.Index(keys, s.Key()), col[s.Device]
		c := &rows[i].Cells[j]
		c.Specs = append(c.Specs, s.ID)
		c.Hosts = mergeSorted(c.Hosts, s.LeakHosts())
		c.TLS = mergeSorted(c.TLS, s.TLSHosts())
		c.Bypass = mergeSorted(c.Bypass, s.BypassLines())
		verdicts[i][j] = verdicts[i][j].Worse(s.Verdict())
		c.Title = strings.TrimSpace(c.Title + fmt.Sprintf(" #%d %s", s.ID, s.State))
		if s.Failure != "" {
			c.Title += ": " + s.Failure
		}
	}
	for i := range rows {
		for j, v := range verdicts[i] {
			rows[i].Cells[j].Class, rows[i].Cells[j].Text = v.Class, v.Text
		}
	}
	return rows
}

// details are the views of each leaking spec (repeats of a leak already
// shown folded) and of each spec whose window added hosts, paths or events.
func details(specs []SpecResult, cols []column, col map[string]int) (leaks, diffs []specView) {
	firstBySig := map[string]int{}
	for _, s := range specs {
		c := cols[col[s.Device]]
		if s.Leaked() {
			v := viewSpec(s, c)
			sig := leakSignature(s)
			if first, ok := firstBySig[sig]; ok {
				v.SameAs = first
			} else {
				firstBySig[sig] = s.ID
			}
			leaks = append(leaks, v)
		}
		if len(s.Diff.Hosts)+len(s.Diff.Paths)+len(s.Diff.Events) > 0 {
			diffs = append(diffs, specView{S: s, Column: c.Head + " " + c.Sub})
		}
	}
	return leaks, diffs
}

func mergeSorted(a, b []string) []string {
	for _, s := range b {
		if !slices.Contains(a, s) {
			a = append(a, s)
		}
	}
	sort.Strings(a)
	return a
}

func viewSpec(s SpecResult, c column) specView {
	v := specView{S: s, Column: c.Head + " " + c.Sub}
	for _, f := range s.Findings {
		fv := findingView{F: f, Canary: canary.Canary{ID: f.Canary}}
		for _, c := range s.Canaries {
			if c.ID == f.Canary {
				fv.Canary = c
			}
		}
		fv.Steps = append(fv.Steps, step{Name: f.Where, Explain: "where in the request the encoded data was"})
		for _, name := range f.Chain {
			fv.Steps = append(fv.Steps, step{Name: name, Explain: explainStep(name)})
		}
		fv.Parts = highlight(f.Evidence, fv.Canary)
		if f.Delay > 0 {
			fv.Delay = f.Delay.Round(100 * time.Millisecond).String()
		}
		v.Findings = append(v.Findings, fv)
	}
	return v
}

// leakSignature identifies what a spec leaked regardless of the phone: the
// action and, per finding, host and chain.
func leakSignature(s SpecResult) string {
	parts := make([]string, 0, len(s.Findings))
	for _, f := range s.Findings {
		parts = append(parts, f.Host+" "+strings.Join(f.Chain, ">"))
	}
	sort.Strings(parts)
	return s.Key() + "|" + strings.Join(parts, "|")
}

// explainStep says in plain words what one decoding step did.
func explainStep(name string) string {
	op, arg, _ := strings.Cut(name, ":")
	switch op {
	case "form":
		return "took field " + arg + " of the URL-encoded form"
	case "query":
		return "took query parameter " + arg
	case "header":
		return "took header " + arg
	case "cookie":
		return "took cookie " + arg
	case "base64":
		return "decoded Base64 text to bytes"
	case "gzip":
		return "decompressed gzip"
	case "deflate", "zlib":
		return "decompressed " + op
	case "json":
		if arg == "" {
			return "parsed JSON"
		}
		return "parsed JSON and took the value at " + arg
	case "percent":
		return "undid URL percent-encoding"
	case "hex":
		return "decoded hexadecimal"
	case "onetrack-aes":
		return "decrypted OneTrack AES-ECB with the key the phone fetched (key_get)"
	case "body":
		return "the request body"
	case "url":
		return "the request URL"
	}
	return "decoding step " + name
}

// highlight splits evidence around the canary's value so the template can
// mark it. Number canaries count only as whole numbers, as the detector
// matches them.
func highlight(evidence string, c canary.Canary) []part {
	if c.Value == "" {
		return []part{{Text: evidence}}
	}
	var parts []part
	rest := evidence
	for {
		i := strings.Index(rest, c.Value)
		if i < 0 {
			break
		}
		end := i + len(c.Value)
		if c.Kind == canary.KindNumber && (i > 0 && isDigit(rest[i-1]) || end < len(rest) && isDigit(rest[end])) {
			parts = append(parts, part{Text: rest[:end]})
			rest = rest[end:]
			continue
		}
		parts = append(parts, part{Text: rest[:i]}, part{Text: c.Value, Mark: true})
		rest = rest[end:]
	}
	return append(parts, part{Text: rest})
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

const (
	tlWidth  = 960.0
	tlLeft   = 10.0
	tlHeight = 86
	tlBarTop = 18.0
	tlBarH   = 46.0
)

// buildTimelines lays each device's action windows on a time axis, with the
// window's flow histogram drawn inside: 24 bars per window whatever the
// number of flows, so the report stays small with 100k flows.
func buildTimelines(r *Run, cols []column) []timeline {
	bySerial := map[string][]SpecResult{}
	for _, s := range r.Specs {
		bySerial[s.Device] = append(bySerial[s.Device], s)
	}
	var out []timeline
	for _, c := range cols {
		specs := bySerial[c.Dev.Serial]
		if len(specs) == 0 {
			continue
		}
		sort.Slice(specs, func(i, j int) bool { return windowStart(specs[i]).Before(windowStart(specs[j])) })
		t0, t1 := windowStart(specs[0]), windowEnd(specs[0])
		for _, s := range specs {
			if e := windowEnd(s); e.After(t1) {
				t1 = e
			}
		}
		span := t1.Sub(t0)
		if span <= 0 {
			span = time.Second
		}
		scale := (tlWidth - 2*tlLeft) / float64(span)
		tl := timeline{Column: c.Head + " " + c.Sub, Serial: c.Dev.Serial, Width: int(tlWidth), Height: tlHeight, Span: span.Round(time.Second).String()}
		for i := 0; i <= 4; i++ {
			d := span * time.Duration(i) / 4
			anchor := "start"
			if i == 4 {
				anchor = "end"
			}
			tl.Ticks = append(tl.Ticks, tick{X: tlLeft + float64(d)*scale, Label: "+" + d.Round(time.Second).String(), Anchor: anchor})
		}
		peak := 1
		for _, s := range specs {
			for _, n := range s.Histogram {
				peak = max(peak, n)
			}
		}
		for i, s := range specs {
			x := tlLeft + float64(windowStart(s).Sub(t0))*scale
			w := max(float64(windowEnd(s).Sub(windowStart(s)))*scale, 4)
			v := s.Verdict()
			win := window{ID: s.ID, X: x, W: w, Class: v.Class, Label: abbreviate(s), LabelOffset: 12 + 10*(i%2)}
			win.Title = fmt.Sprintf("#%d %s: %s, %d flows, %s", s.ID, s.Key(), v.Text, s.Flows, windowEnd(s).Sub(windowStart(s)).Round(time.Millisecond))
			for i, h := range s.Hosts {
				if i == 4 {
					win.Title += fmt.Sprintf("\n  … %d more hosts", len(s.Hosts)-i)
					break
				}
				win.Title += fmt.Sprintf("\n  %d × %s", h.Flows, h.Host)
			}
			if n := len(s.Histogram); n > 0 {
				bw := w / float64(n)
				for j, v := range s.Histogram {
					if v == 0 {
						continue
					}
					h := tlBarH * float64(v) / float64(peak)
					win.Bars = append(win.Bars, bar{X: x + float64(j)*bw, Y: tlBarTop + tlBarH - h, W: max(bw-0.5, 0.5), H: h})
				}
			}
			win.LabelOffset += int(tlBarTop + tlBarH)
			tl.Windows = append(tl.Windows, win)
		}
		out = append(out, tl)
	}
	return out
}

func windowStart(s SpecResult) time.Time {
	if !s.Window.Start.IsZero() {
		return s.Window.Start
	}
	return s.Start
}

func windowEnd(s SpecResult) time.Time {
	if !s.Window.End.IsZero() {
		return s.Window.End
	}
	if !s.End.IsZero() {
		return s.End
	}
	return windowStart(s)
}

// abbreviate makes a short label for a timeline window: "browse-incognito"
// is "BI", and a variant of it "BI*".
func abbreviate(s SpecResult) string {
	var b strings.Builder
	for _, w := range strings.Split(s.Action, "-") {
		if w != "" {
			b.WriteString(strings.ToUpper(w[:1]))
		}
	}
	if s.Variant != "" {
		b.WriteByte('*')
	}
	return b.String()
}

// legend lists the timeline labels used in the run: "BI = browse-incognito".
func legend(specs []SpecResult) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range specs {
		if s.Variant != "" || seen[s.Action] {
			continue
		}
		seen[s.Action] = true
		out = append(out, abbreviate(s)+" = "+s.Action)
	}
	sort.Slice(out, func(i, j int) bool {
		return KeyLess(out[i][strings.Index(out[i], "= ")+2:], out[j][strings.Index(out[j], "= ")+2:])
	})
	return out
}

func shortTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}
