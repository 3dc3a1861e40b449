package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// The agreement test reads every dump twice, with this package and with
// Python's xml.etree.ElementTree (testdata/etree_ui.py, which also holds an
// independent implementation of the selector grammar and the visibility
// rule), and wants the same nodes, attributes, depths and selector matches
// from both. It runs over our fixtures and over the real phones' dumps in
// ../shared/reference/ui-dumps (or $TELLTALE_UI_DUMPS).

type pyNode struct {
	Depth int        `json:"depth"`
	Attrs [][]string `json:"attrs"`
}

type pyFound struct {
	Text    string `json:"text"`
	ID      string `json:"id"`
	Desc    string `json:"desc"`
	Class   string `json:"class"`
	Bounds  []int  `json:"bounds"`
	Center  []int  `json:"center"`
	Visible bool   `json:"visible"`
}

type pyAnswer struct {
	Rotation int      `json:"rotation"`
	Nodes    []pyNode `json:"nodes"`
	// Finds are a list of matches, null, or "error" each.
	Finds []any `json:"finds"`
}

func referenceDumps(t *testing.T) (dir string, ok bool) {
	if d := os.Getenv("TELLTALE_UI_DUMPS"); d != "" {
		return d, true
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(filepath.Dir(root), "shared", "reference", "ui-dumps")
	_, err = os.Stat(dir)
	return dir, err == nil
}

func TestAgreementWithElementTree(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is needed for the agreement test (apt-get install python3): %v", err)
	}
	files, _ := filepath.Glob("testdata/*.xml")
	if len(files) < 8 {
		t.Fatalf("only %d fixtures in testdata", len(files))
	}
	dir, ok := referenceDumps(t)
	if ok {
		real, _ := filepath.Glob(filepath.Join(dir, "*.xml"))
		if len(real) == 0 {
			t.Errorf("no *.xml in %s", dir)
		}
		files = append(files, real...)
	} else {
		t.Logf("\n\n!!! %s is missing: the agreement test runs on telltale's own fixtures ONLY, not on real phones' dumps.\n!!! Check out the shared references next to the checkout, or set TELLTALE_UI_DUMPS.\n", dir)
		t.Run("real-phone-dumps", func(t *testing.T) {
			t.Skipf("NOT RUN: %s is missing", dir)
		})
	}

	type job struct {
		Dump      string     `json:"dump"`
		Selectors [][]string `json:"selectors"`
		screen    *Screen
	}
	jobs := make([]job, len(files))
	for i, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := Parse(data)
		if err != nil {
			t.Fatalf("%s: telltale: %v", f, err)
		}
		jobs[i] = job{Dump: f, Selectors: selectorsFor(sc), screen: sc}
	}
	// One Python for every dump: starting it is most of the cost.
	req, _ := json.Marshal(jobs)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "testdata/etree_ui.py")
	cmd.Stdin = bytes.NewReader(req)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("etree_ui.py: %v\n%s", err, stderr.String())
	}
	var answers []pyAnswer
	if err := json.Unmarshal(out, &answers); err != nil || len(answers) != len(jobs) {
		t.Fatalf("etree_ui.py answered %d of %d dumps: %v", len(answers), len(jobs), err)
	}
	for i, j := range jobs {
		t.Run(filepath.Base(j.Dump), func(t *testing.T) { agree(t, j.screen, j.Selectors, answers[i]) })
	}
}

func agree(t *testing.T, sc *Screen, alts [][]string, py pyAnswer) {
	if py.Rotation != sc.Rotation {
		t.Errorf("rotation: telltale %d, ElementTree %d", sc.Rotation, py.Rotation)
	}
	if len(py.Nodes) != len(sc.Nodes) {
		t.Fatalf("telltale reads %d nodes, ElementTree %d", len(sc.Nodes), len(py.Nodes))
	}
	attrs := 0
	for i, n := range sc.Nodes {
		got := pyNode{Depth: n.Depth, Attrs: [][]string{}}
		for _, a := range n.Attrs {
			got.Attrs = append(got.Attrs, []string{a.Name, a.Value})
		}
		attrs += len(got.Attrs)
		if !reflect.DeepEqual(got, py.Nodes[i]) {
			t.Fatalf("node %d differs:\ntelltale     %s\nElementTree  %s", i, jsonOf(got), jsonOf(py.Nodes[i]))
		}
	}
	if len(py.Finds) != len(alts) {
		t.Fatalf("%d answers to %d selector sets", len(py.Finds), len(alts))
	}
	matched := 0
	for i, alt := range alts {
		var got any = "error"
		if sels, err := parseAll(alt); err == nil {
			got = findLikeCLI(sc, sels)
		}
		// Both sides through JSON, so that numbers and nulls compare alike.
		var norm any
		json.Unmarshal([]byte(jsonOf(got)), &norm)
		if !reflect.DeepEqual(norm, py.Finds[i]) {
			t.Errorf("selectors %q:\ntelltale     %s\nElementTree  %s", alt, jsonOf(got), jsonOf(py.Finds[i]))
		}
		if m, ok := norm.([]any); ok && len(m) > 0 {
			matched++
		}
	}
	t.Logf("%d nodes, %d attributes and %d selector sets (%d matching) agree", len(sc.Nodes), attrs, len(alts), matched)
}

func parseAll(alts []string) ([]Selector, error) {
	var sels []Selector
	for _, s := range alts {
		sel, err := ParseSelector(s)
		if err != nil {
			return nil, err
		}
		sels = append(sels, sel)
	}
	return sels, nil
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// findLikeCLI is what `telltale ui find` prints: the matches of the first
// alternative that has any, nil when none has.
func findLikeCLI(sc *Screen, sels []Selector) []*pyFound {
	for _, sel := range sels {
		var out []*pyFound
		for _, n := range sc.FindAll(sel) {
			f := &pyFound{Text: n.Text(), ID: n.ID(), Desc: n.Desc(), Class: n.Class(), Visible: sc.Visible(n)}
			if n.BoundsOK {
				c := n.Bounds.Center()
				f.Bounds = []int{n.Bounds.X1, n.Bounds.Y1, n.Bounds.X2, n.Bounds.Y2}
				f.Center = []int{c.X, c.Y}
			}
			out = append(out, f)
		}
		if out != nil {
			return out
		}
	}
	return nil
}

// quoteValue writes a selector value, quoting it when it holds a comma or
// starts with a quote.
func quoteValue(v string) string {
	if strings.Contains(v, ",") || strings.HasPrefix(v, `"`) {
		return `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
	}
	return v
}

// selectorsFor builds selectors from the dump's own values (every text, id
// in both forms, desc, class with a state), a fixed set of patterns, and
// alternatives where the first misses.
func selectorsFor(sc *Screen) [][]string {
	var out [][]string
	seen := map[string]bool{}
	add := func(alts ...string) {
		k := strings.Join(alts, "\x00")
		if !seen[k] {
			seen[k] = true
			out = append(out, alts)
		}
	}
	for _, n := range sc.Nodes {
		if v := n.Text(); v != "" {
			add("text=" + quoteValue(v))
		}
		if v := n.ID(); v != "" {
			add("id=" + quoteValue(v))
			if _, short, ok := strings.Cut(v, ":id/"); ok {
				add("id=" + quoteValue(short))
			}
		}
		if v := n.Desc(); v != "" {
			add("desc=" + quoteValue(v))
			add("text=no such text", "desc="+quoteValue(v))
		}
		add("class=" + quoteValue(n.Class()) + ",clickable=true")
		add("package=" + quoteValue(n.Package()) + ",enabled=false")
	}
	for _, s := range []string{
		`text~=^[0-9]`, `text~=(?i)settings`, `id~=:id/(title|summary)$`, `id~=^card$`,
		`desc~=.`, `class~=Layout$`, `text~=\s`, `NAF=true`, `hint~=.+`,
		`visible-to-user=false`, `checked=true`, `text~=[^\x00-\x7f]`, `selected=true,focused=false`,
		`desc=null`, `text=`, `bounds="[0,0][0,0]"`, `text~=","`, `text~="^Say ""hello"""`,
		` text = Hello, world`, `desc=  padded  `, `text~=(?i)SETTINGS,clickable=true`,
	} {
		add(s)
	}
	// Selectors both sides must refuse.
	for _, s := range []string{
		`text~=,`, `bounds=[0,0][0,0]`, `text="a"b`, `text="open`, `=x`, `txt=Settings`,
		`text=a,`, ``, `text`, `text~=(`, `id=x,,desc=y`,
	} {
		add(s)
	}
	add("id=no_such_id", "text=also missing")
	slices.SortStableFunc(out, func(a, b []string) int { return len(a) - len(b) })
	return out
}
