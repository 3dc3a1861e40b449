package ui

import (
	"strings"
	"testing"
)

func TestSelectorErrorsSayWhatToWrite(t *testing.T) {
	for sel, want := range map[string]string{
		"":                   "empty term",
		"text":               "no '='",
		"bounds=[0,0][1,1]":  "double quotes",
		"txt=Settings":       `unknown key "txt"`,
		"=Settings":          "no key",
		`text="open`:         "no closing",
		`text="a"b`:          "want ',' or the end",
		"text~=(":            "text~=",
		"text=Settings,":     "empty term",
		"id=a,,desc=b":       "empty term",
		"class=x, foo=1":     `unknown key "foo"`,
		`text="x",desc="y"z`: "want ',' or the end",
	} {
		_, err := ParseSelector(sel)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSelector(%q) = %v, want an error saying %q", sel, err, want)
		}
	}
}

func TestSelectorMatching(t *testing.T) {
	n := &Node{Attrs: []Attr{
		{"text", "Hello, world"}, {"resource-id", "com.mi.globalbrowser:id/url"},
		{"content-desc", ""}, {"class", "android.widget.EditText"}, {"checked", "false"},
	}}
	rn := &Node{Attrs: []Attr{{"resource-id", "vds-icon"}, {"text", `say "hi"`}}}
	for _, c := range []struct {
		sel  string
		node *Node
		want bool
	}{
		{`text="Hello, world"`, n, true},
		{`text=Hello`, n, false}, // equality is the whole attribute
		{`text=hello, world`, n, false},
		{`text~=^Hello`, n, true},
		{`text~=(?i)WORLD$`, n, true},
		{`id=com.mi.globalbrowser:id/url`, n, true},
		{`id=url`, n, true},
		{`id=globalbrowser:id/url`, n, false},
		{`id~=^url$`, n, true}, // a pattern may match the short form
		{`id~=^com\.mi\.`, n, true},
		{`id=vds-icon`, rn, true}, // ids without ":id/" have one form
		{`text="say ""hi"""`, rn, true},
		{`desc=`, n, true},     // present and empty
		{`desc=`, rn, true},    // missing reads as ""
		{`hint=`, n, true},     // missing attribute
		{`NAF=true`, n, false}, // missing attribute
		{`class=android.widget.EditText,checked=false`, n, true},
		{`class=android.widget.EditText,checked=true`, n, false},
		{` text = Hello, world`, n, false}, // keys are trimmed, values are not: " Hello" then " world" is no term
	} {
		sel, err := ParseSelector(c.sel)
		if err != nil {
			if c.want {
				t.Errorf("ParseSelector(%q): %v", c.sel, err)
			}
			continue
		}
		if got := sel.Match(c.node); got != c.want {
			t.Errorf("%q matches %v: %v, want %v", c.sel, c.node.Attrs, got, c.want)
		}
		if sel.String() != c.sel {
			t.Errorf("String() = %q, want the text it was parsed from", sel.String())
		}
	}
}

func TestFindVisibleTriesAlternativesInOrder(t *testing.T) {
	sc := mustParseFile(t, "chrome-webview-bounds.xml")
	sel := func(s string) Selector {
		x, err := ParseSelector(s)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	// "Sign in" exists but has no area; the second alternative wins.
	n, which, ok := sc.FindVisible(sel("text=Sign in"), sel("desc=More options"), sel("id=url_bar"))
	if !ok || which != 1 || n.ID() != "com.android.chrome:id/menu_button" {
		t.Fatalf("FindVisible = %v %d %v", n, which, ok)
	}
	// Three "Buy now" cards: the first visible one in document order.
	n, _, _ = sc.FindVisible(sel("text=Buy now"))
	if n.Bounds != (Rect{40, 300, 520, 700}) {
		t.Errorf("first Buy now at %v", n.Bounds)
	}
	if got := len(sc.FindAll(sel("text=Buy now"))); got != 3 {
		t.Errorf("FindAll: %d Buy now nodes, want 3 (the inverted one too)", got)
	}
	if _, _, ok := sc.FindVisible(sel("text=Sign in")); ok {
		t.Errorf("a [0,0][0,0] node was found visible")
	}
}

func TestSummaryNamesWhatIsOnScreen(t *testing.T) {
	sc := mustParseFile(t, "mibrowser-u2-pretty-crlf.xml")
	s := sc.Summary(6)
	for _, want := range []string{"20 nodes", "com.mi.globalbrowser, com.android.systemui", `"Search or type web address"`, "id=qr_code", "more"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary %q lacks %q", s, want)
		}
	}
	if strings.Contains(s, "Sponsored") {
		t.Errorf("summary %q names a node that is not visible to the user", s)
	}
}
