package ui_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image/png"
	"strings"
	"testing"
	"unicode/utf8"

	"telltale.dev/devices/sim/ui"
)

func tree() *ui.Node {
	return &ui.Node{Class: "android.widget.FrameLayout", Package: "p", Bounds: ui.R(0, 0, 1080, 2340), Children: []*ui.Node{
		{Class: "android.widget.TextView", Package: "p", Text: `Alarms & "reminders"` + "\n\nok <3", Bounds: ui.R(0, 0, 1080, 200)},
		{Class: "android.widget.ImageButton", Package: "p", Clickable: true, Focusable: true, Bounds: ui.R(900, 2200, 1200, 2400)},
		{Class: "android.widget.ListView", Package: "p", Clickable: true, Bounds: ui.R(0, 2500, 10, 2600)},
	}}
}

func TestDumpIsThePlatformFormat(t *testing.T) {
	var b bytes.Buffer
	if err := ui.Dump(&b, tree(), ui.DumpOptions{Screen: ui.R(0, 0, 1080, 2340)}); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	want := `<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><hierarchy rotation="0">` +
		`<node index="0" text="" resource-id="" class="android.widget.FrameLayout" package="p" content-desc="" checkable="false" checked="false" clickable="false" enabled="true" focusable="false" focused="false" scrollable="false" long-clickable="false" password="false" selected="false" bounds="[0,0][1080,2340]">` +
		`<node index="0" text="Alarms &amp; &quot;reminders&quot;&#10;&#10;ok &lt;3" resource-id="" class="android.widget.TextView" package="p" content-desc="" checkable="false" checked="false" clickable="false" enabled="true" focusable="false" focused="false" scrollable="false" long-clickable="false" password="false" selected="false" bounds="[0,0][1080,200]" />` +
		// A clickable view that says nothing of itself is NAF, and its
		// bounds are clipped to the screen.
		`<node NAF="true" index="1" text="" resource-id="" class="android.widget.ImageButton" package="p" content-desc="" checkable="false" checked="false" clickable="true" enabled="true" focusable="true" focused="false" scrollable="false" long-clickable="false" password="false" selected="false" bounds="[900,2200][1080,2340]" />` +
		// List containers are never NAF; off-screen nodes read [0,0][0,0].
		`<node index="2" text="" resource-id="" class="android.widget.ListView" package="p" content-desc="" checkable="false" checked="false" clickable="true" enabled="true" focusable="false" focused="false" scrollable="false" long-clickable="false" password="false" selected="false" bounds="[0,0][0,0]" />` +
		`</node></hierarchy>`
	if got != want {
		t.Fatalf("dump:\n%s\nwant:\n%s", got, want)
	}
	// It is XML a parser reads back to the same text.
	var h struct {
		Node struct {
			Nodes []struct {
				Text string `xml:"text,attr"`
			} `xml:"node"`
		} `xml:"node"`
	}
	if err := xml.Unmarshal(b.Bytes(), &h); err != nil {
		t.Fatal(err)
	}
	if h.Node.Nodes[0].Text != tree().Children[0].Text {
		t.Errorf("text read back as %q", h.Node.Nodes[0].Text)
	}
}

func TestDumpNewerAttributes(t *testing.T) {
	var b bytes.Buffer
	root := &ui.Node{Class: "android.widget.EditText", Hint: "Search", Bounds: ui.R(0, 0, 10, 10)}
	if err := ui.Dump(&b, root, ui.DumpOptions{Rotation: 1, Screen: ui.R(0, 0, 10, 10), DrawingOrder: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `<hierarchy rotation="1">`) || !strings.HasSuffix(b.String(), `bounds="[0,0][10,10]" drawing-order="0" hint="Search" /></hierarchy>`) {
		t.Errorf("dump: %s", b.String())
	}
}

func TestHitTest(t *testing.T) {
	var hits []string
	button := func(name string, r ui.Rect) *ui.Node {
		return &ui.Node{Text: name, Clickable: true, Bounds: r, OnClick: func() { hits = append(hits, name) }}
	}
	under := button("under", ui.R(0, 0, 100, 100))
	over := button("over", ui.R(50, 50, 100, 100))
	card := &ui.Node{Clickable: true, Bounds: ui.R(0, 0, 100, 100), Children: []*ui.Node{
		{Bounds: ui.R(0, 0, 100, 100), Children: []*ui.Node{under, over}},
	}}
	dialog := &ui.Node{Bounds: ui.R(0, 60, 100, 100), Children: []*ui.Node{button("ok", ui.R(0, 80, 100, 100))}}
	roots := []*ui.Node{dialog, card}
	cases := []struct {
		x, y int
		want *ui.Node
	}{
		{10, 10, under}, // deepest clickable
		{60, 55, over},  // the later sibling is on top
		{10, 90, dialog.Children[0]},
		{10, 70, nil}, // the dialog's window takes the touch though nothing in it reacts
		{200, 10, nil},
	}
	for _, c := range cases {
		if got := ui.HitTest(roots, c.x, c.y); got != c.want {
			t.Errorf("(%d,%d): %+v, want %+v", c.x, c.y, got, c.want)
		}
	}
	under.Disabled = true
	if got := ui.HitTest([]*ui.Node{card}, 10, 10); got != card {
		t.Errorf("a disabled view must pass the touch to its clickable parent, got %+v", got)
	}
}

func TestRenderDrawsTextAndIsBlackWhenOff(t *testing.T) {
	screen := ui.R(0, 0, 400, 300)
	root := &ui.Node{Package: "p", Bounds: screen, Children: []*ui.Node{
		{Class: "android.widget.TextView", Text: "HI", Bounds: ui.R(0, 0, 400, 100)},
	}}
	on := ui.Render(screen, []*ui.Node{root}, true)
	var b bytes.Buffer
	if err := ui.EncodePNG(&b, on); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	ink, bg := 0, img.At(5, 200)
	for y := 0; y < 100; y++ {
		for x := 0; x < 400; x++ {
			if img.At(x, y) != bg {
				ink++
			}
		}
	}
	if ink < 100 {
		t.Errorf("the text left %d pixels of ink", ink)
	}
	off := ui.Render(screen, []*ui.Node{root}, false)
	for _, px := range off.Pix {
		if px != 0 {
			t.Fatal("a screen that is off must be black")
		}
	}
}

// FuzzDump: whatever an app puts in its views, the dump is XML a parser
// reads, and the text reads back as written, but for the characters the
// platform dumper replaces with ".".
func FuzzDump(f *testing.F) {
	f.Add("Alarms & reminders", "a\"b<c>\n\t", "\x01\u0085\ufdd0")
	f.Fuzz(func(t *testing.T, text, desc, id string) {
		if !utf8.ValidString(text) || !utf8.ValidString(desc) || !utf8.ValidString(id) {
			t.Skip("views hold Java strings: valid UTF-16, so valid UTF-8 here")
		}
		root := &ui.Node{Class: "android.widget.FrameLayout", Bounds: ui.R(0, 0, 10, 10), Children: []*ui.Node{
			{Text: text, ContentDesc: desc, ResourceID: id, Bounds: ui.R(0, 0, 5, 5)},
		}}
		var b bytes.Buffer
		if err := ui.Dump(&b, root, ui.DumpOptions{Screen: ui.R(0, 0, 10, 10)}); err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(b.String(), "\n\r") {
			t.Fatalf("a dump is one line: %q", b.String())
		}
		var h struct {
			Node struct {
				Nodes []struct {
					Text string `xml:"text,attr"`
					Desc string `xml:"content-desc,attr"`
				} `xml:"node"`
			} `xml:"node"`
		}
		if err := xml.Unmarshal(b.Bytes(), &h); err != nil {
			t.Fatalf("not XML: %v\n%s", err, b.String())
		}
		if len(h.Node.Nodes) != 1 {
			t.Fatalf("read back %d children", len(h.Node.Nodes))
		}
		for _, c := range []struct{ got, wrote string }{{h.Node.Nodes[0].Text, text}, {h.Node.Nodes[0].Desc, desc}} {
			if c.got != stripped(c.wrote) {
				t.Errorf("read back %q, wrote %q", c.got, c.wrote)
			}
		}
	})
}

// stripped is what the dumper keeps of s: XML's forbidden characters become
// ".", everything else stays.
func stripped(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r < 0x7f) || (r > 0x9f && r != 0xfffe && r != 0xffff && !(r >= 0xfdd0 && r <= 0xfddf)) || r == 0x85 {
			return r
		}
		return '.'
	}, s)
}

func TestDispatchScrollsTapsAndDrags(t *testing.T) {
	var got []string
	record := func(name string) func(from, to ui.Point) {
		return func(from, to ui.Point) { got = append(got, fmt.Sprintf("%s %v->%v", name, from, to)) }
	}
	seek := &ui.Node{Class: "android.widget.SeekBar", Bounds: ui.R(0, 100, 400, 150), OnDrag: record("seek")}
	row := &ui.Node{Clickable: true, Bounds: ui.R(0, 0, 400, 100), OnClick: func() { got = append(got, "row") }}
	list := &ui.Node{Scrollable: true, Bounds: ui.R(0, 0, 400, 600), OnDrag: record("list"), Children: []*ui.Node{row, seek}}
	roots := []*ui.Node{{Bounds: ui.R(0, 0, 400, 800), Children: []*ui.Node{list}}}
	slop := ui.TouchSlop(ui.R(0, 0, 400, 800))
	for _, g := range []struct{ from, to ui.Point }{
		{ui.Point{X: 10, Y: 50}, ui.Point{X: 12, Y: 52}},     // a tap on the row
		{ui.Point{X: 10, Y: 50}, ui.Point{X: 10, Y: 10}},     // a vertical drag from the row scrolls the list
		{ui.Point{X: 100, Y: 120}, ui.Point{X: 300, Y: 125}}, // a horizontal one on the seek bar moves it
		{ui.Point{X: 100, Y: 120}, ui.Point{X: 100, Y: 400}}, // a vertical one there scrolls the list
		{ui.Point{X: 200, Y: 125}, ui.Point{X: 200, Y: 125}}, // a tap on the seek bar moves it there
		{ui.Point{X: 10, Y: 700}, ui.Point{X: 10, Y: 750}},   // nothing to move below the list
	} {
		ui.Dispatch(roots, g.from, g.to, slop)
	}
	want := []string{"row", "list {10 50}->{10 10}", "seek {100 120}->{300 125}", "list {100 120}->{100 400}", "seek {200 125}->{200 125}"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestModalWindowsTakeTouchesOutside(t *testing.T) {
	dismissed := 0
	dialog := &ui.Node{Bounds: ui.R(0, 500, 400, 800), OnOutside: func() { dismissed++ }}
	below := &ui.Node{Clickable: true, Bounds: ui.R(0, 0, 400, 800), OnClick: func() { t.Error("the touch went through the dialog") }}
	hit := ui.HitTest([]*ui.Node{dialog, below}, 10, 10)
	if hit == nil || hit.OnClick == nil {
		t.Fatal("a touch outside a modal window reached nothing")
	}
	hit.OnClick()
	ui.Dispatch([]*ui.Node{dialog, below}, ui.Point{X: 10, Y: 10}, ui.Point{X: 10, Y: 300}, 20)
	if dismissed != 2 {
		t.Errorf("dismissed %d times", dismissed)
	}
}

func TestDumpClipsToParents(t *testing.T) {
	root := &ui.Node{Class: "android.widget.FrameLayout", Bounds: ui.R(0, 0, 1080, 2340), Children: []*ui.Node{
		{Class: "androidx.recyclerview.widget.RecyclerView", Bounds: ui.R(0, 400, 1080, 2000), Children: []*ui.Node{
			{Class: "android.widget.LinearLayout", Bounds: ui.R(0, 1900, 1080, 2100)},
			{Class: "android.widget.LinearLayout", Bounds: ui.R(0, 2100, 1080, 2300)},
		}},
	}}
	var b bytes.Buffer
	if err := ui.Dump(&b, root, ui.DumpOptions{Screen: ui.R(0, 0, 1080, 2340)}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `bounds="[0,1900][1080,2000]"`) || !strings.Contains(b.String(), `bounds="[0,0][0,0]"`) {
		t.Errorf("rows under the list's bottom edge are not clipped to it:\n%s", b.String())
	}
}
