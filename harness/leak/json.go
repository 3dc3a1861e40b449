package leak

import (
	"bytes"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// frame is one open JSON container on the walker's stack.
type frame struct {
	arr bool
	idx int
	key []byte // current member name, raw (escapes not decoded)
}

// jsonToken is a string (its content, without quotes) or a scalar.
type jsonToken struct {
	a, e int
	str  bool
	esc  bool // the string has backslash escapes
	key  bool
}

// jsonTokens tokenizes JSON from b[i:] without building values, calling fn
// for every string and scalar while s.frames[fmark:] says where it is.
// Several top-level values in a row (JSON lines) are accepted. It stops when
// fn returns false, and reports whether b was well-formed to its end.
func (s *scanner) jsonTokens(b []byte, i int, fn func(t jsonToken, fmark int) bool) bool {
	fmark := len(s.frames)
	defer func() { s.frames = s.frames[:fmark] }()
	// key reads `"name":` at i into the top frame.
	key := func(i int) (int, bool) {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != '"' {
			return i, false
		}
		e, esc := stringEnd(b, i+1)
		if e < 0 {
			return i, false
		}
		s.frames[len(s.frames)-1].key = b[i+1 : e]
		if !fn(jsonToken{a: i + 1, e: e, str: true, esc: esc, key: true}, fmark) {
			return i, false
		}
		i = skipSpace(b, e+1)
		if i >= len(b) || b[i] != ':' {
			return i, false
		}
		return i + 1, true
	}
	for {
		// A value starts at i.
		i = skipSpace(b, i)
		if i >= len(b) {
			return false
		}
		switch c := b[i]; {
		case c == '{' || c == '[':
			s.frames = append(s.frames, frame{arr: c == '['})
			i = skipSpace(b, i+1)
			if i < len(b) && (b[i] == '}' && c == '{' || b[i] == ']' && c == '[') {
				s.frames = s.frames[:len(s.frames)-1]
				i++
				break
			}
			if c == '{' {
				var ok bool
				if i, ok = key(i); !ok {
					return false
				}
			}
			continue
		case c == '"':
			e, esc := stringEnd(b, i+1)
			if e < 0 || !fn(jsonToken{a: i + 1, e: e, str: true, esc: esc}, fmark) {
				return false
			}
			i = e + 1
		default:
			e := i
			for e < len(b) && isScalarByte(b[e]) {
				e++
			}
			if e == i || !fn(jsonToken{a: i, e: e}, fmark) {
				return false
			}
			i = e
		}
		// After a value: close containers, or move to the next element.
		for {
			i = skipSpace(b, i)
			if len(s.frames) == fmark {
				if i >= len(b) {
					return true
				}
				if b[i] != '{' && b[i] != '[' {
					return false
				}
				break
			}
			if i >= len(b) {
				return false
			}
			top := &s.frames[len(s.frames)-1]
			switch {
			case b[i] == ',':
				i++
				if top.arr {
					top.idx++
				} else {
					var ok bool
					if i, ok = key(i); !ok {
						return false
					}
				}
			case b[i] == ']' && top.arr || b[i] == '}' && !top.arr:
				s.frames = s.frames[:len(s.frames)-1]
				i++
				continue
			default:
				return false
			}
			break
		}
	}
}

// stringEnd finds the closing quote of a string whose content starts at i.
func stringEnd(b []byte, i int) (int, bool) {
	esc := false
	for {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return -1, false
		}
		q := i + j
		if !esc && bytes.IndexByte(b[i:q], '\\') >= 0 {
			esc = true
		}
		if !escapedAt(b, q) {
			return q, esc
		}
		i = q + 1
	}
}

// escapedAt says whether the byte at q follows an odd run of backslashes.
func escapedAt(b []byte, q int) bool {
	n := 0
	for k := q - 1; k >= 0 && b[k] == '\\'; k-- {
		n++
	}
	return n%2 == 1
}

func isScalarByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '-' || c == '+' || c == '.' || c == 'E'
}

// triggers are the bytes where an encoding inside a JSON string can start.
const triggers = `\%+=`

// walkJSON handles a JSON buffer without tokenizing it: JSON telemetry is
// mostly strings that hold nothing, and tokenizing them costs more than
// finding the few that may. The buffer's matcher hits are reported where they
// are; a string is walked further only when it holds a byte where an
// encoding starts (an escape, '%', '+', '=', or a base64/hex run). The JSON
// path of a step is worked out only when a finding needs it. Text that only
// starts like JSON also gets the generic decodings.
func (s *scanner) walkJSON(n node, depth int) {
	b := n.buf
	if s.events != nil {
		s.jsonEvents(b)
	}
	// Triggers and long runs are found lazily from the end of the last
	// string walked, so the bytes of a string are searched once whatever it
	// holds.
	var next [len(triggers)]int
	for k := range next {
		next[k] = indexFrom(b, triggers[k], 0)
	}
	run, _ := nextRun(b, 0)
	s.jsonWhole(b)

	hits, hi, loose := n.hits, 0, false
	for {
		p := -1
		for _, q := range next {
			if q >= 0 && (p < 0 || q < p) {
				p = q
			}
		}
		if run >= 0 && (p < 0 || run < p) {
			p = run
		}
		if p < 0 {
			break
		}
		a, e, esc, ok := stringAround(b, p)
		cursor := p + 1
		if ok {
			cursor = e
		}
		for k, q := range next {
			if q >= 0 && q < cursor {
				next[k] = indexFrom(b, triggers[k], cursor)
			}
		}
		if run >= 0 && run < cursor {
			run, _ = nextRun(b, cursor)
		}
		if !ok {
			loose = true
			continue
		}
		for hi < len(hits) && hits[hi].pos-n.off < a {
			s.reportJSON(&n, hits[hi])
			hi++
		}
		// Hits running past the closing quote are reported where they are;
		// the rest belong to the string.
		hmark := len(s.hits)
		for ; hi < len(hits) && hits[hi].pos-n.off < e; hi++ {
			if h := hits[hi]; h.pos-n.off+len(s.t.mt.pats[h.pat]) > e {
				s.reportJSON(&n, h)
			} else {
				s.hits = append(s.hits, h)
			}
		}
		s.pushJSON(b, a)
		s.jsonString(&n, a, e, esc, s.hits[hmark:], depth)
		s.popJSON()
		s.hits = s.hits[:hmark]
	}
	for ; hi < len(hits); hi++ {
		s.reportJSON(&n, hits[hi])
	}
	if loose {
		s.decode(b, depth, hint{}, hasControl(b))
	}
}

// jsonString walks the string b[a:e] (escapes decoded) under its JSON step,
// unless an identical string already walked quietly (see quiet).
func (s *scanner) jsonString(n *node, a, e int, esc bool, within []hit, depth int) {
	str := n.buf[a:e]
	if s.events != nil || len(str) > quietMax {
		s.walkString(n, a, e, esc, within, depth)
		return
	}
	k := s.quiet.key(str)
	if s.quiet.skip(k, str, depth, s.budget) {
		return
	}
	noted, budget := s.noted, s.budget
	s.walkString(n, a, e, esc, within, depth)
	if s.noted == noted {
		s.quiet.remember(k, str, depth, budget-s.budget)
	}
}

// walkString does jsonString's walk.
func (s *scanner) walkString(n *node, a, e int, esc bool, within []hit, depth int) {
	str := n.buf[a:e]
	if esc {
		mark := len(s.arena)
		defer func() { s.arena = s.arena[:mark] }()
		if s.spend(len(str)) {
			if out, ok := unescapeJSON(s.alloc(len(str)), str); ok {
				s.walk(node{buf: out}, depth+1)
				return
			}
		}
	}
	s.walk(n.sub(a, e, within), depth+1)
}

// nextRun finds the first run of base64 characters of at least minRun in
// b[from:], as [a, e), or a = -1. Such a run covers one of the bytes at
// from+minRun-1, from+2*minRun-1, ..., so only those are looked at first;
// in text most are a separator or sit in a short word, which the expansion
// around them shows after a few bytes.
func nextRun(b []byte, from int) (a, e int) {
	n := len(b)
	for p := from + minRun - 1; p < n; p += minRun {
		if runClass[b[p]] == 0 {
			continue
		}
		a, e = p, p+1
		for a > from && runClass[b[a-1]] != 0 {
			a--
		}
		for e < n && runClass[b[e]] != 0 {
			e++
		}
		if e-a >= minRun {
			return a, e
		}
	}
	return -1, -1
}

// indexFrom is the index of the first c in b at or after i, or -1.
func indexFrom(b []byte, c byte, i int) int {
	if j := bytes.IndexByte(b[i:], c); j >= 0 {
		return i + j
	}
	return -1
}

// stringAround finds the JSON string holding offset p: the nearest unescaped
// quote before p opens it. ok is false when p is not inside a string.
func stringAround(b []byte, p int) (a, e int, esc, ok bool) {
	q := p
	for {
		q = bytes.LastIndexByte(b[:q], '"')
		if q < 0 {
			return 0, 0, false, false
		}
		if !escapedAt(b, q) {
			break
		}
	}
	e, esc = stringEnd(b, q+1)
	if e < 0 || e <= p {
		return 0, 0, false, false
	}
	return q + 1, e, esc, true
}

// reportJSON reports a hit of the JSON buffer n under the path it is at.
func (s *scanner) reportJSON(n *node, h hit) {
	s.pushJSON(n.buf, h.pos-n.off)
	s.reportAt(n, h.pos-n.off, h.pat)
	s.popJSON()
}

// jsonWhole reports whole-value canaries (numbers, short text) that are a
// whole JSON value: a number or literal, or a string's entire content.
func (s *scanner) jsonWhole(b []byte) {
	for _, w := range s.t.wholeList {
		for i := 0; ; {
			j := bytes.Index(b[i:], []byte(w))
			if j < 0 {
				break
			}
			a, e := i+j, i+j+len(w)
			i = e
			pa, pe := a, e
			if a > 0 && e < len(b) && b[a-1] == '"' && b[e] == '"' && !escapedAt(b, a-1) {
				pa, pe = a-1, e+1
			} else if a > 0 && isScalarByte(b[a-1]) || e < len(b) && isScalarByte(b[e]) {
				continue // part of a longer number or word
			}
			before, after := skipSpaceBack(b, pa), skipSpace(b, pe)
			if before < 0 || bytes.IndexByte([]byte(":[,"), b[before]) < 0 ||
				after < len(b) && bytes.IndexByte([]byte(",]}"), b[after]) < 0 {
				continue
			}
			s.pushJSON(b, a)
			for _, ci := range s.t.whole[w] {
				s.add(ci, "", b, a, len(w))
			}
			s.popJSON()
		}
	}
}

func skipSpaceBack(b []byte, i int) int {
	i--
	for i >= 0 && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i--
	}
	return i
}

// jsonEvents passes every "event" name in b to s.events.
func (s *scanner) jsonEvents(b []byte) {
	mark := len(s.arena)
	defer func() { s.arena = s.arena[:mark] }()
	s.jsonTokens(b, skipSpace(b, 0), func(t jsonToken, fmark int) bool {
		if t.str && !t.key && len(s.frames) > fmark {
			if top := s.frames[len(s.frames)-1]; !top.arr && isEventKey(top.key) {
				v := b[t.a:t.e]
				if t.esc {
					v, _ = unescapeJSON(s.alloc(len(v)), v)
				}
				s.events(string(v))
			}
		}
		return true
	})
}

func isEventKey(k []byte) bool {
	switch string(k) {
	case "event", "event_name", "eventName", "EVENT_NAME":
		return true
	}
	return false
}

// lazyJSON marks a chain step whose JSON path is worked out when a finding
// needs it (see jsonPathAt).
const lazyJSON = "\x00json"

type lazyStep struct {
	buf []byte
	pos int
}

func (s *scanner) pushJSON(b []byte, pos int) {
	s.chain = append(s.chain, lazyJSON)
	s.lazy = append(s.lazy, lazyStep{b, pos})
}

func (s *scanner) popJSON() {
	s.chain = s.chain[:len(s.chain)-1]
	s.lazy = s.lazy[:len(s.lazy)-1]
}

// jsonPathAt names the position of offset p in the JSON text b, e.g.
// "json:$[1].properties.url", or "" when b is not JSON up to p.
func (s *scanner) jsonPathAt(b []byte, p int) string {
	path := ""
	s.jsonTokens(b, skipSpace(b, 0), func(t jsonToken, fmark int) bool {
		if t.e < p {
			return true
		}
		path = s.jsonPath(fmark)
		return false
	})
	return path
}

// jsonPath names the current position, e.g. "json:$[1].properties.url".
func (s *scanner) jsonPath(fmark int) string {
	p := append(s.path[:0], "json:$"...)
	for _, f := range s.frames[fmark:] {
		if f.arr {
			p = append(p, '[')
			p = strconv.AppendInt(p, int64(f.idx), 10)
			p = append(p, ']')
		} else if f.key != nil {
			if plainKey(f.key) {
				p = append(p, '.')
				p = append(p, f.key...)
			} else {
				p = append(p, `["`...)
				p = append(p, f.key...)
				p = append(p, `"]`...)
			}
		}
	}
	s.path = p
	return string(p)
}

func plainKey(k []byte) bool {
	if len(k) == 0 {
		return false
	}
	for _, c := range k {
		if runClass[c]&(clsAlnum|clsURL) == 0 && c != '$' {
			return false
		}
	}
	return true
}

// unescapeJSON appends the decoded content of a JSON string (without quotes).
func unescapeJSON(dst, b []byte) ([]byte, bool) {
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			j := bytes.IndexByte(b[i:], '\\')
			if j < 0 {
				return append(dst, b[i:]...), true
			}
			dst = append(dst, b[i:i+j]...)
			i += j
		}
		i++
		if i >= len(b) {
			return dst, false
		}
		switch b[i] {
		case '"', '\\', '/':
			dst = append(dst, b[i])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(b[i+1:])
			if !ok {
				return dst, false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if r2, ok := hex4(b[min(i+3, len(b)):]); ok && i+2 < len(b) && b[i+1] == '\\' && b[i+2] == 'u' {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
						i += 6
					}
				}
			}
			dst = utf8.AppendRune(dst, r)
		default:
			return dst, false
		}
	}
	return dst, true
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		if runClass[c]&clsHex == 0 {
			return 0, false
		}
		r = r<<4 | rune(unhex(c))
	}
	return r, true
}
