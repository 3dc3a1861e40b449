package ui

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds the parser what phones and tools might print: it must
// return a screen or an error, never panic, and a screen's tree must hold
// together.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.xml")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("ERROR: null root node returned by UiTestAutomationBridge.\n"))
	f.Add([]byte(`<hierarchy rotation="3"><node bounds="[1,2][3,4]"/></hierarchy>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := Parse(data)
		if err != nil {
			return
		}
		for i, n := range sc.Nodes {
			if n.Parent >= i || (n.Parent < 0) != (n.Depth == 0) || n.Parent >= 0 && sc.Nodes[n.Parent].Depth != n.Depth-1 {
				t.Fatalf("node %d: parent %d depth %d", i, n.Parent, n.Depth)
			}
			d := sc.Display()
			if p, ok := sc.TapPoint(n); ok && (p.X < d.X1 || p.X >= d.X2 || p.Y < d.Y1 || p.Y >= d.Y2) {
				t.Fatalf("node %d: tap point %v off the display %v", i, p, sc.Display())
			}
		}
	})
}

// FuzzParseSelector: any string is a selector or an error, and a selector
// prints as written.
func FuzzParseSelector(f *testing.F) {
	for _, s := range []string{`text=Settings,class=android.widget.TextView`, `id~=^url$`, `text="a, ""b""",desc=`, `text~=(`, `,`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sel, err := ParseSelector(s)
		if err == nil && sel.String() != s {
			t.Fatalf("String() = %q, want %q", sel.String(), s)
		}
		if err == nil {
			sel.Match(&Node{Attrs: []Attr{{"text", s}, {"resource-id", "a:id/" + s}}})
		}
	})
}
