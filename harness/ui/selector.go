package ui

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Selector picks nodes by their attributes; every term must hold.
//
// Its text form is what `telltale ui find` and profile flows take:
//
//	text=Settings,class=android.widget.TextView
//	id=url_bar
//	desc~=(?i)more options
//	text="Hello, world",enabled=true
//
// Terms are separated by commas. key=value holds when the node's decoded
// attribute equals value exactly (case-sensitive; a missing attribute is
// ""). key~=regex holds when the regular expression (Go RE2 syntax) matches
// anywhere in the attribute; anchor it with ^ and $ for a whole match. A
// value runs to the next comma and is taken literally, spaces and
// backslashes included; a value in double quotes may hold commas, and "" in
// it stands for one double quote.
//
// Keys: text, id (resource-id: equals the full id, or the part after
// ":id/"; a regex may match either), desc (content-desc), class, package,
// hint, and any other attribute uiautomator writes (checked, enabled,
// clickable, focused, selected, scrollable, NAF ...).
type Selector struct {
	terms []term
	src   string
}

type term struct {
	key   string // the attribute name
	value string
	re    *regexp.Regexp // nil for an equality term
}

// keyAliases maps the short keys to the attribute names in the dump.
var keyAliases = map[string]string{"id": "resource-id", "desc": "content-desc"}

// knownAttrs are the attributes real dumps carry: AOSP's
// AccessibilityNodeInfoDumper, plus what androidx UiAutomator and
// uiautomator2's server add (drawing-order, hint, visible-to-user,
// display-id) and the NAF mark. A key outside them is a typo, not a miss.
var knownAttrs = []string{
	"index", "text", "resource-id", "class", "package", "content-desc",
	"checkable", "checked", "clickable", "enabled", "focusable", "focused",
	"scrollable", "long-clickable", "password", "selected", "bounds",
	"visible-to-user", "drawing-order", "hint", "display-id", "NAF",
}

// ParseSelector reads a selector's text form.
func ParseSelector(s string) (Selector, error) {
	sel := Selector{src: s}
	rest := s
	for {
		t, next, err := parseTerm(rest)
		if err != nil {
			return Selector{}, fmt.Errorf("selector %q: %w", s, err)
		}
		sel.terms = append(sel.terms, t)
		if next < 0 {
			break
		}
		rest = rest[next:]
	}
	return sel, nil
}

// parseTerm reads one term from the start of s and returns the offset of
// the next one, or -1 when s ends with it.
func parseTerm(s string) (term, int, error) {
	eq := strings.IndexByte(s, '=')
	if comma := strings.IndexByte(s, ','); eq < 0 || (comma >= 0 && comma < eq) {
		head, _, _ := strings.Cut(s, ",")
		if strings.TrimSpace(head) == "" {
			return term{}, 0, fmt.Errorf("empty term: write key=value or key~=regex")
		}
		return term{}, 0, fmt.Errorf("term %q has no '=': write key=value or key~=regex (a value holding a comma goes in double quotes)", head)
	}
	key := strings.TrimSpace(s[:eq])
	regex := strings.HasSuffix(key, "~")
	if regex {
		key = strings.TrimSpace(strings.TrimSuffix(key, "~"))
	}
	attr, err := attrName(key)
	if err != nil {
		return term{}, 0, err
	}
	value, next, err := parseValue(s, eq+1)
	if err != nil {
		return term{}, 0, fmt.Errorf("%s: %w", key, err)
	}
	t := term{key: attr, value: value}
	if regex {
		if t.re, err = regexp.Compile(value); err != nil {
			return term{}, 0, fmt.Errorf("%s~=: %w", key, err)
		}
	}
	return t, next, nil
}

// parseValue reads the value starting at s[i].
func parseValue(s string, i int) (string, int, error) {
	if i < len(s) && s[i] == '"' {
		var b strings.Builder
		for j := i + 1; ; j++ {
			if j >= len(s) {
				return "", 0, fmt.Errorf("quoted value has no closing '\"'")
			}
			if s[j] != '"' {
				b.WriteByte(s[j])
				continue
			}
			if j+1 < len(s) && s[j+1] == '"' {
				b.WriteByte('"')
				j++
				continue
			}
			switch {
			case j+1 == len(s):
				return b.String(), -1, nil
			case s[j+1] == ',':
				return b.String(), j + 2, nil
			}
			return "", 0, fmt.Errorf("quoted value is followed by %q, want ',' or the end", s[j+1:])
		}
	}
	comma := strings.IndexByte(s[i:], ',')
	if comma < 0 {
		return s[i:], -1, nil
	}
	return s[i : i+comma], i + comma + 1, nil
}

func attrName(key string) (string, error) {
	if a, ok := keyAliases[key]; ok {
		return a, nil
	}
	if slices.Contains(knownAttrs, key) {
		return key, nil
	}
	if key == "" {
		return "", fmt.Errorf("term has no key before '='")
	}
	return "", fmt.Errorf("unknown key %q: use text, id, desc, class, package or one of %s", key, strings.Join(knownAttrs, ", "))
}

// String is the selector as it was written.
func (s Selector) String() string { return s.src }

// Match reports whether every term holds for n.
func (s Selector) Match(n *Node) bool {
	for _, t := range s.terms {
		if !t.match(n) {
			return false
		}
	}
	return len(s.terms) > 0
}

func (t term) match(n *Node) bool {
	v := n.get(t.key)
	if t.key == "resource-id" {
		// "com.mi.globalbrowser:id/url" is also "url"; ids without ":id/"
		// (React Native's testID) have only the full form.
		_, short, hasShort := strings.Cut(v, ":id/")
		if t.re != nil {
			return t.re.MatchString(v) || hasShort && t.re.MatchString(short)
		}
		return v == t.value || hasShort && short == t.value
	}
	if t.re != nil {
		return t.re.MatchString(v)
	}
	return v == t.value
}

// FindAll returns the nodes the selector matches, in document order,
// visible or not.
func (sc *Screen) FindAll(sel Selector) []*Node {
	var out []*Node
	for _, n := range sc.Nodes {
		if sel.Match(n) {
			out = append(out, n)
		}
	}
	return out
}

// FindVisible tries the selectors in order and returns the first node on
// screen that the first selector with any such node matches, and that
// selector's position in sels; ok is false when none matches a visible node.
func (sc *Screen) FindVisible(sels ...Selector) (n *Node, which int, ok bool) {
	for i, sel := range sels {
		for _, n := range sc.Nodes {
			if sel.Match(n) && sc.Visible(n) {
				return n, i, true
			}
		}
	}
	return nil, -1, false
}
