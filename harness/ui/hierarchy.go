package ui

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Screen is one parsed `uiautomator dump`: every node of the view hierarchy
// in document order.
type Screen struct {
	// Rotation is the hierarchy's rotation attribute (0-3, quarter turns
	// from the natural orientation). Bounds are already in the rotated
	// display's coordinates, the ones `input tap` takes.
	Rotation int
	Nodes    []*Node
	// Compressed is set when the phone only managed a `--compressed` dump,
	// which leaves out views unimportant for accessibility.
	Compressed bool
	// XML is the hierarchy as extracted from the phone's output, in UTF-8:
	// what a report attaches when a step fails.
	XML []byte
}

// Node is one <node> element.
type Node struct {
	// Attrs are the node's attributes as the dump wrote them, decoded.
	Attrs []Attr
	// Depth is 0 for a window's root node.
	Depth int
	// Parent is the index in Screen.Nodes of the enclosing node, -1 for a root.
	Parent int
	// Bounds are the parsed bounds attribute; BoundsOK is false when the
	// attribute is missing or unreadable.
	Bounds   Rect
	BoundsOK bool
}

// Attr is one attribute of a node.
type Attr struct{ Name, Value string }

// Attr returns the value of the named attribute and whether the node has it.
func (n *Node) Attr(name string) (string, bool) {
	for _, a := range n.Attrs {
		if a.Name == name {
			return a.Value, true
		}
	}
	return "", false
}

func (n *Node) get(name string) string {
	v, _ := n.Attr(name)
	return v
}

// Text is the node's text attribute.
func (n *Node) Text() string { return n.get("text") }

// ID is the node's full resource-id ("com.android.settings:id/title").
func (n *Node) ID() string { return n.get("resource-id") }

// Desc is the node's content-desc attribute. Some phones (vivo) write the
// literal string "null" for none; it is kept as written.
func (n *Node) Desc() string { return n.get("content-desc") }

// Class is the node's class attribute.
func (n *Node) Class() string { return n.get("class") }

// Package is the node's package attribute.
func (n *Node) Package() string { return n.get("package") }

// ErrNoHierarchy is returned when a phone's output holds no view hierarchy.
var ErrNoHierarchy = errors.New("no view hierarchy in the output")

// Parse reads a `uiautomator dump` as phones and tools leave it: noise before
// the XML (MIUI prints a Java stack trace on every dump, whose `<init>` frames
// hold a '<'), the trailing "UI hierchary dumped to: ..." line, CRLF or CR CR
// LF line ends from pretty-printers, UTF-16 with a byte-order mark (a
// PowerShell redirect) although the declaration says UTF-8, and any number of
// windows.
func Parse(out []byte) (*Screen, error) {
	text, err := decodeText(out)
	if err != nil {
		return nil, err
	}
	doc, err := extract(text)
	if err != nil {
		return nil, err
	}
	sc := &Screen{XML: []byte(doc)}
	dec := xml.NewDecoder(strings.NewReader(normalize(doc)))
	// decodeText made it UTF-8 whatever the declaration claims.
	dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	// stack holds, for each open element, the index of the node it is or -1.
	var stack []int
	depth := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading the view hierarchy: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			idx := -1
			switch t.Name.Local {
			case "hierarchy":
				if v := attrValue(t.Attr, "rotation"); v != "" {
					sc.Rotation, _ = strconv.Atoi(v)
				}
			case "node":
				n := &Node{Depth: depth, Parent: enclosingNode(stack)}
				n.Attrs = make([]Attr, len(t.Attr))
				for i, a := range t.Attr {
					name := a.Name.Local
					if a.Name.Space != "" {
						name = a.Name.Space + ":" + name
					}
					n.Attrs[i] = Attr{Name: name, Value: a.Value}
				}
				n.Bounds, n.BoundsOK = ParseBounds(n.get("bounds"))
				idx = len(sc.Nodes)
				sc.Nodes = append(sc.Nodes, n)
				depth++
			}
			stack = append(stack, idx)
		case xml.EndElement:
			if len(stack) > 0 {
				if stack[len(stack)-1] >= 0 {
					depth--
				}
				stack = stack[:len(stack)-1]
			}
		}
	}
	return sc, nil
}

func enclosingNode(stack []int) int {
	for i := len(stack) - 1; i >= 0; i-- {
		if stack[i] >= 0 {
			return stack[i]
		}
	}
	return -1
}

func attrValue(attrs []xml.Attr, name string) string {
	for _, a := range attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// decodeText turns the phone's bytes into a string, reading UTF-16 when a
// byte-order mark (or the NUL bytes of ASCII in UTF-16LE) says so.
func decodeText(b []byte) (string, error) {
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		return string(b[3:]), nil
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		return utf16String(b[2:], false), nil
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		return utf16String(b[2:], true), nil
	case len(b) >= 4 && b[0] != 0 && b[1] == 0 && b[2] != 0 && b[3] == 0:
		return utf16String(b, false), nil
	case len(b) >= 4 && b[0] == 0 && b[1] != 0 && b[2] == 0 && b[3] != 0:
		return utf16String(b, true), nil
	}
	return string(b), nil
}

func utf16String(b []byte, bigEndian bool) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		if bigEndian {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			u[i] = uint16(b[2*i+1])<<8 | uint16(b[2*i])
		}
	}
	return string(utf16.Decode(u))
}

// extract cuts the XML document out of the output: from the declaration (or
// the hierarchy element when a tool dropped the declaration) to the first
// closing hierarchy tag, which cannot occur earlier inside an attribute
// because the dumper escapes '<'.
func extract(s string) (string, error) {
	start := strings.Index(s, "<?xml")
	if start < 0 {
		start = strings.Index(s, "<hierarchy")
	}
	if start < 0 {
		return "", fmt.Errorf("%w (got %s)", ErrNoHierarchy, excerpt(s))
	}
	const closing = "</hierarchy>"
	end := strings.Index(s[start:], closing)
	if end < 0 {
		if selfClosed(s[start:]) {
			return strings.TrimRight(s[start:], " \r\n\x00"), nil
		}
		return "", fmt.Errorf("view hierarchy cut short (no %s after %d bytes): the dump was interrupted, try again", closing, len(s)-start)
	}
	return s[start : start+end+len(closing)], nil
}

// selfClosed reports an empty hierarchy written as <hierarchy .../>.
func selfClosed(s string) bool {
	i := strings.Index(s, "<hierarchy")
	if i < 0 {
		return false
	}
	j := strings.IndexByte(s[i:], '>')
	return j > 0 && s[i+j-1] == '/'
}

// normalize does what an XML parser does to attribute values and Go's
// encoding/xml leaves out: line ends become one LF, and LF and TAB become a
// space (XML 1.0 sections 2.11 and 3.3.3). Pretty-printed dumps carry CRLF
// or CR CR LF between elements, where whitespace means nothing, so the whole
// document can be treated alike. Bytes that are not UTF-8 and control
// characters XML forbids become U+FFFD rather than failing the whole dump.
func normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\r':
			b.WriteByte(' ')
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
		case c == '\n' || c == '\t':
			b.WriteByte(' ')
		case c < 0x20:
			b.WriteRune(utf8.RuneError)
		case c < utf8.RuneSelf:
			b.WriteByte(c)
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b.WriteRune(utf8.RuneError)
			} else {
				b.WriteString(s[i : i+size])
			}
			i += size
			continue
		}
		i++
	}
	return b.String()
}

// excerpt shortens a phone's output for an error message.
func excerpt(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "no output"
	}
	const max = 300
	if len(s) > max {
		s = s[:max] + "..."
	}
	return strconv.Quote(s)
}
