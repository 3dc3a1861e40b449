package ui

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// DumpOptions describe the display a hierarchy is dumped for.
type DumpOptions struct {
	// Rotation is the display's rotation, 0 for portrait.
	Rotation int
	// Screen clips every node's bounds, as getVisibleBoundsInScreen does;
	// a node wholly off screen (or outside its parent) reads [0,0][0,0].
	Screen Rect
	// DrawingOrder adds the drawing-order and hint attributes that newer
	// platform dumpers print after bounds (dumps from Android 13 and later
	// phones carry them; 10 and 11 do not). Modeled: the version where the
	// platform tool started printing them is inferred from real dumps.
	DrawingOrder bool
}

// Dump writes root the way `uiautomator dump` does (AOSP cmds/uiautomator,
// AccessibilityNodeInfoDumper with KXmlSerializer): one line, no newline at
// the end, attributes in the tool's order, NAF="true" first on clickable
// nodes that say nothing about themselves.
func Dump(w io.Writer, root *Node, o DumpOptions) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>")
	bw.WriteString(`<hierarchy rotation="` + strconv.Itoa(o.Rotation) + `">`)
	if root != nil {
		dumpNode(bw, root, 0, 0, o.Screen, o)
	}
	bw.WriteString("</hierarchy>")
	return bw.Flush()
}

// dumpNode writes n and its descendants. Bounds are clipped to what the
// parent shows (View.getBoundsOnScreen with clipToParent, which
// AccessibilityNodeInfo's bounds come from), so a row scrolled half out of
// its list reads only its visible part.
func dumpNode(w *bufio.Writer, n *Node, index, order int, clip Rect, o DumpOptions) {
	visible := n.Bounds.Intersect(clip)
	w.WriteString("<node")
	if !nafExcluded(n.Class) && !nafCheck(n) {
		w.WriteString(` NAF="true"`)
	}
	attr(w, "index", strconv.Itoa(index))
	attr(w, "text", n.Text)
	attr(w, "resource-id", n.ResourceID)
	attr(w, "class", n.Class)
	attr(w, "package", n.Package)
	attr(w, "content-desc", n.ContentDesc)
	flag(w, "checkable", n.Checkable)
	flag(w, "checked", n.Checked)
	flag(w, "clickable", n.Clickable)
	flag(w, "enabled", !n.Disabled)
	flag(w, "focusable", n.Focusable)
	flag(w, "focused", n.Focused)
	flag(w, "scrollable", n.Scrollable)
	flag(w, "long-clickable", n.LongClickable)
	flag(w, "password", n.Password)
	flag(w, "selected", n.Selected)
	attr(w, "bounds", visible.String())
	if o.DrawingOrder {
		attr(w, "drawing-order", strconv.Itoa(order))
		attr(w, "hint", n.Hint)
	}
	if len(n.Children) == 0 {
		w.WriteString(" />")
		return
	}
	w.WriteString(">")
	for i, c := range n.Children {
		dumpNode(w, c, i, i+1, visible, o)
	}
	w.WriteString("</node>")
}

func flag(w *bufio.Writer, name string, v bool) { attr(w, name, strconv.FormatBool(v)) }

func attr(w *bufio.Writer, name, value string) {
	w.WriteString(" " + name + `="`)
	w.WriteString(escape(stripInvalid(value)))
	w.WriteString(`"`)
}

// stripInvalid replaces characters XML 1.1 forbids with ".", as the
// dumper's stripInvalidXMLChars does before serialising; and U+0000,
// U+FFFE and U+FFFF, which its list misses and no XML parser takes
// (modeled: what a phone prints for them is not known).
func stripInvalid(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r <= 0x8, r == 0xB, r == 0xC, r >= 0xE && r <= 0x1F,
			r >= 0x7F && r <= 0x84, r >= 0x86 && r <= 0x9F, r >= 0xFDD0 && r <= 0xFDDF, r == 0xFFFE, r == 0xFFFF:
			return '.'
		}
		return r
	}, s)
}

// escape is KXmlSerializer's attribute escaping: the markup characters as
// entities, and line breaks and tabs as character references so that they
// survive attribute normalisation.
func escape(s string) string {
	if !strings.ContainsAny(s, "&<>\"\n\r\t") {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\n', '\r', '\t':
			b.WriteString("&#" + strconv.Itoa(int(r)) + ";")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// nafCheck is the dumper's accessibility check: a clickable, enabled node
// with no text and no description passes only if a descendant has one.
func nafCheck(n *Node) bool {
	if !n.Clickable || n.Disabled || n.ContentDesc != "" || n.Text != "" {
		return true
	}
	return childSaysSomething(n)
}

func childSaysSomething(n *Node) bool {
	for _, c := range n.Children {
		if c.ContentDesc != "" || c.Text != "" || childSaysSomething(c) {
			return true
		}
	}
	return false
}

// nafExcluded are the container classes the dumper never marks NAF.
func nafExcluded(class string) bool {
	for _, s := range []string{"GridView", "GridLayout", "ListView", "TableLayout"} {
		if strings.HasSuffix(class, s) {
			return true
		}
	}
	return false
}
