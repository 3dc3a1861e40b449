package ui

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
)

func mustParseFile(t testing.TB, name string) *Screen {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := Parse(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return sc
}

// find returns the only node with this text, failing otherwise.
func onlyText(t *testing.T, sc *Screen, text string) *Node {
	t.Helper()
	var got []*Node
	for _, n := range sc.Nodes {
		if n.Text() == text {
			got = append(got, n)
		}
	}
	if len(got) != 1 {
		t.Fatalf("%d nodes with text %q, want 1", len(got), text)
	}
	return got[0]
}

func TestParseMIUIStderrNoiseAndTrailingLine(t *testing.T) {
	sc := mustParseFile(t, "miui-launcher-stderr-noise.xml")
	if len(sc.Nodes) != 17 {
		t.Errorf("%d nodes, want 17", len(sc.Nodes))
	}
	if !strings.HasPrefix(string(sc.XML), "<?xml") || !strings.HasSuffix(string(sc.XML), "</hierarchy>") {
		t.Errorf("extracted XML runs %q ... %q", sc.XML[:20], sc.XML[len(sc.XML)-20:])
	}
	n := onlyText(t, sc, "Settings")
	if n.Desc() != "Settings" || n.ID() != "com.miui.home:id/icon_title" || n.Package() != "com.miui.home" {
		t.Errorf("Settings icon: desc %q id %q package %q", n.Desc(), n.ID(), n.Package())
	}
	if v, ok := n.Attr("drawing-order"); !ok || v != "1" {
		t.Errorf("drawing-order = %q, %v", v, ok)
	}
	if h, ok := n.Attr("hint"); !ok || h != "" {
		t.Errorf("hint = %q, %v; want present and empty", h, ok)
	}
	onlyText(t, sc, "Настройки")
	onlyText(t, sc, "相册")
	phone := onlyText(t, sc, "Phone")
	if sc.Visible(phone) {
		t.Errorf("hotseat label with bounds [0,0][0,0] counts as visible")
	}
}

func TestParseLineEnds(t *testing.T) {
	for _, name := range []string{"mibrowser-u2-pretty-crlf.xml", "notes-gboard-crcrlf.xml"} {
		sc := mustParseFile(t, name)
		if len(sc.Nodes) == 0 {
			t.Fatalf("%s: no nodes", name)
		}
		for _, n := range sc.Nodes {
			for _, a := range n.Attrs {
				if strings.Contains(a.Value, "\r") {
					t.Errorf("%s: %s=%q keeps a carriage return", name, a.Name, a.Value)
				}
			}
		}
	}
	sc := mustParseFile(t, "mibrowser-u2-pretty-crlf.xml")
	if top := sc.Nodes[0]; top.Parent != -1 || top.Depth != 0 {
		t.Errorf("first node: parent %d depth %d", top.Parent, top.Depth)
	}
	var roots []string
	for _, n := range sc.Nodes {
		if n.Parent < 0 {
			roots = append(roots, n.Package())
		}
	}
	if strings.Join(roots, ",") != "com.mi.globalbrowser,com.android.systemui" {
		t.Errorf("window roots %v, want the browser's and the status bar's", roots)
	}
	if d := sc.Display(); d != (Rect{0, 0, 1080, 2340}) {
		t.Errorf("display %v", d)
	}
	// A raw TAB and LF inside an attribute become spaces, as in any XML
	// parser; escaped ones (&#10;) stay line breaks (see the entities test).
	notes := mustParseFile(t, "notes-gboard-crcrlf.xml")
	onlyText(t, notes, "Draft saved at 12:45")
	onlyText(t, notes, "Shop: https://shop.example/item?id=7&ref=app&lang=ru\nМолоко & хлеб")
}

func TestParseUTF16WithBOM(t *testing.T) {
	sc := mustParseFile(t, "settings-devopts-utf16.xml")
	n := onlyText(t, sc, "USB debugging (Security settings)")
	sw := sc.Nodes[slices.Index(sc.Nodes, n)+2] // title, summary, then the row's switch
	if sw.Class() != "android.widget.Switch" || sw.get("checked") != "false" {
		t.Errorf("row switch: %s checked=%s", sw.Class(), sw.get("checked"))
	}
	// The same bytes as UTF-16BE with its mark, and as UTF-16LE without one.
	le, _ := os.ReadFile("testdata/settings-devopts-utf16.xml")
	units := make([]uint16, (len(le)-2)/2)
	for i := range units {
		units[i] = uint16(le[2+2*i]) | uint16(le[3+2*i])<<8
	}
	be := []byte{0xFE, 0xFF}
	for _, u := range units {
		be = append(be, byte(u>>8), byte(u))
	}
	for name, data := range map[string][]byte{"UTF-16BE": be, "UTF-16LE without BOM": le[2:]} {
		other, err := Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(other.Nodes) != len(sc.Nodes) || string(other.XML) != string(sc.XML) {
			t.Errorf("%s: %d nodes, want %d", name, len(other.Nodes), len(sc.Nodes))
		}
	}
	if string(utf16.Decode(units[:5])) != "<?xml" {
		t.Fatalf("fixture does not start with the declaration")
	}
}

func TestParseEntitiesAndNonASCII(t *testing.T) {
	sc := mustParseFile(t, "entities-settings.xml")
	onlyText(t, sc, "Alarms & reminders")
	onlyText(t, sc, "Allow this app to set alarms.\n\nIf this permission is off, alarms won’t work.")
	n := onlyText(t, sc, `Say "hello", then <wave>`)
	if n.Desc() != "quote's & apostrophe" {
		t.Errorf("desc %q", n.Desc())
	}
	onlyText(t, sc, "Ayarlar · Настройки · 设置 · 😀")
	tab := onlyText(t, sc, "Tab\there")
	if tab.Desc() != "  padded  " {
		t.Errorf("padded desc %q: leading and trailing spaces must stay", tab.Desc())
	}
}

func TestParseRotationAndBoundsQuirks(t *testing.T) {
	land := mustParseFile(t, "launcher-rotation1.xml")
	if land.Rotation != 1 {
		t.Errorf("rotation %d, want 1", land.Rotation)
	}
	if d := land.Display(); d != (Rect{0, 0, 2340, 1080}) {
		t.Errorf("landscape display %v, want 2340x1080", d)
	}
	// Bounds are in the rotated display's coordinates, the ones input tap
	// takes: no swapping of x and y.
	if p, ok := land.TapPoint(onlyText(t, land, "Settings")); !ok || p != (Point{1935, 430}) {
		t.Errorf("landscape tap point %v %v, want {1935 430}", p, ok)
	}

	web := mustParseFile(t, "chrome-webview-bounds.xml")
	if web.Nodes[0].Desc() != "null" {
		t.Errorf("content-desc=\"null\" read as %q; it is kept as written", web.Nodes[0].Desc())
	}
	cases := []struct {
		text    string
		visible bool
		tap     Point
	}{
		{"Sign in", false, Point{}},       // [0,0][0,0]
		{"divider", false, Point{}},       // zero height
		{"Carousel left", false, Point{}}, // left of the screen
		{"Load more", true, Point{540, 1860}},
	}
	for _, c := range cases {
		n := onlyText(t, web, c.text)
		p, ok := web.TapPoint(n)
		if ok != c.visible || web.Visible(n) != c.visible || p != c.tap {
			t.Errorf("%s %v: visible %v tap %v, want %v %v", c.text, n.Bounds, ok, p, c.visible, c.tap)
		}
	}
	var inverted *Node
	for _, n := range web.Nodes {
		if n.get("bounds") == "[590,1866][1010,1859]" {
			inverted = n
		}
	}
	if inverted == nil || !inverted.BoundsOK || !inverted.Bounds.Empty() || web.Visible(inverted) {
		t.Fatalf("inverted bounds node: %+v", inverted)
	}
	if c := inverted.Bounds.Center(); c != (Point{800, 1862}) {
		t.Errorf("inverted centre %v, want {800 1862} (as written)", c)
	}
}

func TestParseDeepNesting(t *testing.T) {
	sc := mustParseFile(t, "deep-nesting.xml")
	leaf := onlyText(t, sc, "Deep leaf")
	if leaf.Depth != 45 {
		t.Errorf("leaf depth %d, want 45", leaf.Depth)
	}
	for i, n := range sc.Nodes[1:] {
		if n.Parent != i {
			t.Fatalf("node %d has parent %d, want %d", i+1, n.Parent, i)
		}
	}
}

func TestParseFailures(t *testing.T) {
	for _, c := range []struct{ name, out, want string }{
		{"null root", "ERROR: null root node returned by UiTestAutomationBridge.\n", "no view hierarchy"},
		{"idle", "ERROR: could not get idle state.\n", "no view hierarchy"},
		{"empty", "", "no output"},
		{"cut short", "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><hierarchy rotation=\"0\"><node index=\"0\" text=\"Half", "cut short"},
		{"bad xml", "<?xml version='1.0' ?><hierarchy><node text=\"a\" text=\"b\"></hierarchy>", "reading the view hierarchy"},
	} {
		_, err := Parse([]byte(c.out))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.want)
		}
		if c.name == "null root" && !errors.Is(err, ErrNoHierarchy) {
			t.Errorf("%s: %v is not ErrNoHierarchy", c.name, err)
		}
	}
}

func TestParseTolerates(t *testing.T) {
	// A tool that dropped the declaration, an empty self-closed hierarchy,
	// a byte that is not UTF-8 and a raw control character.
	for _, c := range []struct {
		name, out string
		nodes     int
		text      string
	}{
		{"no declaration", `UI hierchary dumped to: /dev/tty` + "\n" + `<hierarchy rotation="0"><node text="x" bounds="[0,0][1,1]"/></hierarchy>`, 1, "x"},
		{"empty", `<?xml version='1.0' ?><hierarchy rotation="0"/>`, 0, ""},
		{"not UTF-8", "<hierarchy><node text=\"caf\xe9\" /></hierarchy>", 1, "caf\uFFFD"},
		{"control character", "<hierarchy><node text=\"a\x01b\" /></hierarchy>", 1, "a\uFFFDb"},
	} {
		sc, err := Parse([]byte(c.out))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if len(sc.Nodes) != c.nodes || c.nodes > 0 && sc.Nodes[0].Text() != c.text {
			t.Errorf("%s: %d nodes, first text %q", c.name, len(sc.Nodes), c.text)
		}
	}
}

func TestParseBounds(t *testing.T) {
	for s, want := range map[string]Rect{
		"[0,0][1080,2340]":      {0, 0, 1080, 2340},
		"[-300,1000][-20,1100]": {-300, 1000, -20, 1100},
		"[590,1866][1010,1859]": {590, 1866, 1010, 1859},
	} {
		if r, ok := ParseBounds(s); !ok || r != want {
			t.Errorf("ParseBounds(%q) = %v %v", s, r, ok)
		}
	}
	for _, bad := range []string{"", "[0,0]", "[0,0][1,1]x", "[a,0][1,1]", "0,0,1,1", "[0,0][1 1]"} {
		if _, ok := ParseBounds(bad); ok {
			t.Errorf("ParseBounds(%q) accepted", bad)
		}
	}
	if c := (Rect{-3, -3, 0, 0}).Center(); c != (Point{-2, -2}) {
		t.Errorf("centre of negative bounds %v, want floor {-2 -2}", c)
	}
}
