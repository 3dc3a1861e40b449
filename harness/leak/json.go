package leak

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"telltale.dev/harness/leak/bytemask"
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
	s.jsonWhole(b)
	// Where an encoding may start comes from the buffer's byte masks, and is
	// looked for from the end of the last string walked, so the bytes of a
	// string are looked at once whatever it holds.
	words := bytemask.Words(len(b))
	mark := len(s.masks)
	s.masks = slices.Grow(s.masks, 3*words)[:mark+3*words]
	defer func() { s.masks = s.masks[:mark] }()
	m := byteMasks{b64: s.masks[mark : mark+words], special: s.masks[mark+words : mark+2*words], quote: s.masks[mark+2*words:], w: -1}
	bytemask.Masks(b, m.b64, m.special, m.quote)

	hits, hi, loose := n.hits, 0, false
	for cursor := 0; ; {
		p := m.nextCandidate(cursor)
		if p < 0 {
			break
		}
		a, e, esc, ok := m.stringAround(b, p)
		if !ok {
			// Outside a string: so is the rest of a run around p.
			loose, cursor = true, runEnd(m.b64, p)
			continue
		}
		cursor = e
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
		s.jsonString(&n, a, e, esc, s.hits[hmark:], depth, &m)
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
func (s *scanner) jsonString(n *node, a, e int, esc bool, within []hit, depth int, m *byteMasks) {
	str := n.buf[a:e]
	if s.events != nil || len(str) > quietMax {
		if len(within) > 0 || !s.inertJSON(n.buf, a, e, esc, depth, m) {
			s.walkString(n, a, e, esc, within, depth)
		}
		return
	}
	k := s.quiet.key(str)
	if s.quiet.skip(k, str, depth, s.budget) {
		return
	}
	noted, budget := s.noted, s.budget
	if len(within) == 0 && s.inertJSON(n.buf, a, e, esc, depth, m) {
		s.quiet.remember(k, str, depth, budget-s.budget)
		return
	}
	s.walkString(n, a, e, esc, within, depth)
	if s.noted == noted {
		s.quiet.remember(k, str, depth, budget-s.budget)
	}
}

// inert says whether walking the JSON string str (escapes not decoded; the
// matcher found no pattern in it, escaped slashes included) can report
// nothing and reach no bound, so that the walk is skipped: telemetry
// strings that hold a URL or an id have bytes where an encoding could
// start, and almost never one. When it can, the decoded-bytes budget pays
// what the walk would have decoded, as if it had; otherwise the scanner is
// left as it was.
func (s *scanner) inert(str []byte, esc bool, depth int) bool {
	if len(str) >= minWholeFast || s.events != nil {
		return false
	}
	mark, budget := len(s.arena), s.budget
	defer func() { s.arena = s.arena[:mark] }()
	u := str
	if esc {
		if len(str) > s.budget {
			return false
		}
		s.budget -= len(str) // what walkString's unescape spends
		var ok bool
		if u, ok = s.unescapeInert(str); !ok {
			s.budget = budget
			return false
		}
	}
	if s.inertText(u, depth+1, true, false) {
		return true
	}
	s.budget = budget
	return false
}

// inertText says whether walk, given b at depth, would report nothing and
// reach no bound. It follows walk and decode step by step and answers false
// wherever they would do more than look: a nested JSON or form, a protobuf
// message, a compressed stream, percent or backslash escapes, or a run
// whose decoding is worth walking and not itself inert. scanned says the
// matcher already found no pattern in b; wholeBase64 is walk's hint. Keep
// it in step with walk and decode: TestInertStringsWalkQuietly checks that
// what it passes, walk passes quietly.
func (s *scanner) inertText(b []byte, depth int, scanned, wholeBase64 bool) bool {
	if depth >= s.cfg.maxDepth || len(b) >= minWholeFast {
		return false
	}
	if len(b) <= s.t.maxWhole && len(s.t.whole[string(b)]) > 0 {
		return false
	}
	// A control byte is in no form (decoded runs are mostly binary).
	binary := hasControl(b)
	if i := skipSpace(b, 0); i < len(b) && (b[i] == '{' || b[i] == '[') || !binary && looksForm(b, false) {
		return false
	}
	if !scanned && len(s.t.mt.find(b, s.hits, &s.tail)) > len(s.hits) {
		return false
	}
	if len(b) < 2 {
		return !binary || !validProtobuf(b)
	}
	if b[0] == '\n' || binary {
		if validProtobuf(b) {
			return false
		}
	}
	if b[0] == 0x1f && b[1] == 0x8b || isZlib(b) || wholeBase64 && binary && len(b) >= minCompressed && deflateStart(b) {
		return false
	}
	if !binary && (hasPercent(b) || bytes.IndexByte(b, '+') >= 0 || bytes.IndexByte(b, '\\') >= 0) {
		return false
	}
	// A run of base64 or hex is decoded, and its output walked when it is
	// worth walking. A run longer than the budget left could reach the bound.
	quiet := true
	eachRun(b, s.t.minB64, func(a, e int, hexOnly, url bool) {
		quiet = quiet && s.inertRun(b, a, e, hexOnly, url, depth)
	})
	return quiet
}

// inertRun says whether decode's walk of the run b[a:e], found in a buffer
// at depth, would report nothing and reach no bound.
func (s *scanner) inertRun(b []byte, a, e int, hexOnly, url bool, depth int) bool {
	if e-a > s.budget {
		return false
	}
	all := a == 0 && len(bytes.TrimRight(b[e:], "=")) == 0
	var out []byte
	ok := false
	if hexOnly && (e-a)%2 == 0 {
		out, ok = s.decodeHex(b[a:e])
		all = false
	} else {
		out, ok = s.decodeBase64(b[a:e], url)
	}
	return !ok || !s.worthWalking(out, all) || s.inertText(out, depth+1, false, all)
}

// inertJSON is inert for the string b[a:e] of a JSON buffer with byte
// masks m. Most telemetry strings are settled from the masks (see
// maskInert); the rest are unescaped and followed.
func (s *scanner) inertJSON(b []byte, a, e int, esc bool, depth int, m *byteMasks) bool {
	if inert, known := s.maskInert(b, a, e, esc, depth, m.b64, m.special); known {
		return inert
	}
	return s.inert(b[a:e], esc, depth)
}

// maskInert settles inert for the JSON string b[a:e] without unescaping it
// when what it holds is simple: no '%' or '+', no escapes but the ones
// unescapeInert reads, '=' only after a '?' or '&' (a URL's query, not a
// form), no control bytes, and runs of base64 characters that need no
// unescaping. Only such runs are read byte by byte, and decoded as
// inertText decodes them; everything else comes from the masks. known is
// false when the string needs inert's careful path.
func (s *scanner) maskInert(b []byte, a, e int, esc bool, depth int, b64, special []uint64) (inert, known bool) {
	str := b[a:e]
	if s.events != nil || len(str) >= minWholeFast || depth+1 >= s.cfg.maxDepth {
		return false, false
	}
	// The special bytes: escapes (how much shorter each leaves the text),
	// and the first '='.
	shrink, slashes, eq, amp := 0, 0, -1, false
	for w := a / 64; w <= (e-1)/64; w++ {
		m := special[w] & spanBits(w, a, e)
		for ; m != 0; m &= m - 1 {
			q := 64*w + bits.TrailingZeros64(m)
			switch b[q] {
			case '=':
				if eq < 0 {
					eq = q
				}
				continue
			case '\\':
			default:
				return false, false
			}
			switch {
			case q+1 < e && b[q+1] == '/':
				shrink++
				slashes++
			case q+6 <= e && b[q+1] == 'u' && b[q+2] == '0' && b[q+3] == '0' &&
				runClass[b[q+4]]&clsHex != 0 && runClass[b[q+5]]&clsHex != 0:
				c := unhex(b[q+4])<<4 | unhex(b[q+5])
				if c != '&' && c != '<' && c != '>' || s.t.inPattern[c] {
					return false, false
				}
				shrink += 5
				amp = amp || c == '&' && eq < 0
			default:
				return false, false
			}
		}
	}
	if slashes > 0 && bytes.Count(str, []byte{'/'}) != slashes {
		return false, false
	}
	n := len(str) - shrink // the unescaped length
	// eachRun reads a text shorter than minRun as one value.
	if esc && len(str) > s.budget || len(s.t.whole) > 0 && n <= s.t.maxWhole || n >= s.t.minB64 && n < minRun {
		return false, false
	}
	// Not JSON, not a form, not binary, no compression header: the text
	// starts as the raw string does unless it starts with an escape, which
	// stands for '/', '&', '<' or '>'.
	if i := skipSpace(str, 0); i < len(str) && (str[i] == '{' || str[i] == '[') {
		return false, false
	}
	if eq >= 0 && !amp && bytes.IndexByte(str[:eq-a], '?') < 0 && bytes.IndexByte(str[:eq-a], '&') < 0 {
		return false, false
	}
	// hasControl reads the first 64 bytes of the unescaped text.
	if anyControl(str[:min(len(str), 64+shrink)]) || len(str) > 0 && str[0] == '\n' {
		return false, false
	}
	if n >= 2 && (str[0] == '\\' || str[1] == '\\' || isZlib(str)) {
		return false, false
	}
	mark, budget := len(s.arena), s.budget
	if esc {
		s.budget -= len(str) // what walkString's unescape spends
	}
	// The runs: stretches of base64 characters, escapes and '=' long enough
	// to hold one (each word's starts worked out once), split at '=' and
	// "\u00XX", the bytes that end a run once unescaped.
	for w, cur := a/64, a; w <= (e-1)/64; w++ {
		starts := xRunStarts(b64, special, w)
		for starts &= spanBits(w, max(a, cur), e); starts != 0; starts &= spanBits(w, cur, e) {
			p := 64*w + bits.TrailingZeros64(starts)
			cur = runEndWith(b64, special, p)
			if !s.stretchInert(b, a, e, p, cur, depth, special) {
				s.arena, s.budget = s.arena[:mark], budget
				return false, false
			}
		}
	}
	s.arena = s.arena[:mark]
	return true, true
}

// stretchInert is pieceInert for each piece of the stretch b[p:end] of the
// JSON string b[a:e].
func (s *scanner) stretchInert(b []byte, a, e, p, end, depth int, special []uint64) bool {
	str := b[a:e]
	i, slashes := p, 0
	for w := p / 64; w <= (end-1)/64; w++ {
		for m := special[w] & spanBits(w, p, end); m != 0; m &= m - 1 {
			q := 64*w + bits.TrailingZeros64(m)
			if b[q] == '\\' && b[q+1] == '/' {
				slashes++
				continue
			}
			if !s.pieceInert(str, i-a, q-a, slashes, depth) {
				return false
			}
			i, slashes = q+1, 0
			if b[q] == '\\' {
				i = q + 6
			}
		}
	}
	return s.pieceInert(str, i-a, end-a, slashes, depth)
}

// pieceInert is inertRun for the stretch str[i:j] of a JSON string that
// maskInert reads, when it is a run once unescaped; a run with escaped
// slashes is not settled here.
func (s *scanner) pieceInert(str []byte, i, j, slashes, depth int) bool {
	if j-i-slashes < minRun {
		return true
	}
	all, every := runClasses(str[i:j])
	switch {
	case all&(clsStd|clsURL) == clsStd|clsURL:
		return true // eachRun passes mixed alphabets over
	case slashes > 0:
		return false
	}
	return s.inertRun(str, i, j, every&clsHex != 0, all&clsURL != 0, depth+1)
}

// runClasses ORs and ANDs the classes of b's bytes, stopping early once
// both base64 alphabets' own characters are seen.
func runClasses(b []byte) (all, every uint8) {
	every = 0xff
	for ; len(b) >= 8; b = b[8:] {
		c := (*[8]byte)(b)
		c0, c1, c2, c3 := runClass[c[0]], runClass[c[1]], runClass[c[2]], runClass[c[3]]
		c4, c5, c6, c7 := runClass[c[4]], runClass[c[5]], runClass[c[6]], runClass[c[7]]
		all |= c0 | c1 | c2 | c3 | c4 | c5 | c6 | c7
		every &= c0 & c1 & c2 & c3 & c4 & c5 & c6 & c7
		if all&(clsStd|clsURL) == clsStd|clsURL {
			return all, every
		}
	}
	for _, c := range b {
		all |= runClass[c]
		every &= runClass[c]
	}
	return all, every
}

// unescapeInert decodes the escapes of a JSON string into the arena when
// each leaves the walk of the text as the raw string's hits and runs tell
// it: "\/" when every '/' is escaped (the matcher looks for patterns with
// "\/" too), and "\u0026", "\u003c", "\u003e" (Go's encoder) when no
// pattern holds the character.
func (s *scanner) unescapeInert(str []byte) ([]byte, bool) {
	out := s.alloc(len(str))
	slashes := 0
	for i := 0; ; {
		j := bytes.IndexByte(str[i:], '\\')
		if j < 0 {
			out = append(out, str[i:]...)
			break
		}
		out = append(out, str[i:i+j]...)
		i += j
		if i+1 >= len(str) {
			return nil, false
		}
		switch str[i+1] {
		case '/':
			out = append(out, '/')
			slashes++
			i += 2
		case 'u':
			if i+6 > len(str) || str[i+2] != '0' || str[i+3] != '0' {
				return nil, false
			}
			c := unhex(str[i+4])<<4 | unhex(str[i+5])
			if runClass[str[i+4]]&clsHex == 0 || runClass[str[i+5]]&clsHex == 0 || c != '&' && c != '<' && c != '>' || s.t.inPattern[c] {
				return nil, false
			}
			out = append(out, c)
			i += 6
		default:
			return nil, false
		}
	}
	if slashes > 0 && bytes.Count(str, []byte{'/'}) != slashes {
		return nil, false
	}
	return out, true
}

// walkString does jsonString's walk. Unescaped text is matched again,
// unless its escapes are ones the matcher saw through (see unescapeInert)
// and it found nothing in the string.
func (s *scanner) walkString(n *node, a, e int, esc bool, within []hit, depth int) {
	// The string's JSON step, which only a walk that may report needs.
	s.pushJSON(n.buf, a)
	defer s.popJSON()
	str := n.buf[a:e]
	if esc {
		mark := len(s.arena)
		defer func() { s.arena = s.arena[:mark] }()
		if s.spend(len(str)) {
			if len(within) == 0 {
				if out, ok := s.unescapeInert(str); ok {
					s.walk(node{buf: out, scanned: true}, depth+1)
					return
				}
				s.arena = s.arena[:mark]
			}
			if out, ok := unescapeJSON(s.alloc(len(str)), str); ok {
				s.walk(node{buf: out}, depth+1)
				return
			}
		}
	}
	s.walk(n.sub(a, e, within), depth+1)
}

// nextCandidate is the first position from from on where a special byte
// is (see bytemask.Special) or a run of minRun base64 characters starts,
// or -1. from never goes back, so each word's candidates are worked out
// once however many strings it holds.
func (m *byteMasks) nextCandidate(from int) int {
	for w := from / 64; w < len(m.b64); w++ {
		if w != m.w {
			m.w, m.cand = w, m.special[w]|runStarts(m.b64, w)
		}
		c := m.cand
		if w == from/64 {
			c &^= 1<<(from%64) - 1
		}
		if c != 0 {
			return 64*w + bits.TrailingZeros64(c)
		}
	}
	return -1
}

// xRunStarts marks the positions of word w from which minRun bytes are
// base64 characters or special bytes (see runStarts).
func xRunStarts(b64, special []uint64, w int) uint64 {
	lo, hi := b64[w]|special[w], uint64(0)
	if w+1 < len(b64) {
		hi = b64[w+1] | special[w+1]
	}
	for s := uint(1); s < minRun; s <<= 1 {
		lo &= lo>>s | hi<<(64-s)
		hi &= hi >> s
	}
	return lo
}

// runEndWith is the end of the run of base64 characters and special bytes
// that starts at p.
func runEndWith(b64, special []uint64, p int) int {
	w := p / 64
	rest := ^(b64[w] | special[w]) &^ (1<<(p%64) - 1)
	for rest == 0 {
		if w++; w == len(b64) {
			return 64 * w
		}
		rest = ^(b64[w] | special[w])
	}
	return 64*w + bits.TrailingZeros64(rest)
}

// spanBits marks the positions of word w that fall in [a, e).
func spanBits(w, a, e int) uint64 {
	m := ^uint64(0)
	if lo := a - 64*w; lo > 0 {
		m <<= uint(lo)
	}
	if hi := e - 64*w; hi < 64 {
		m &= 1<<uint(hi) - 1
	}
	return m
}

// anyControl says whether b holds a byte hasControl counts, anywhere.
func anyControl(b []byte) bool {
	for ; len(b) >= 8; b = b[8:] {
		x := binary.LittleEndian.Uint64(b)
		if (x-0x2020202020202020)&^x&0x8080808080808080 != 0 && controlIn(b[:8]) {
			return true
		}
	}
	return controlIn(b)
}

// runStarts marks the positions of word w from which minRun base64
// characters follow, from the masks of words w and w+1: doubling the span
// an AND covers takes log2(minRun) shifts.
func runStarts(b64 []uint64, w int) uint64 {
	lo, hi := b64[w], uint64(0)
	if w+1 < len(b64) {
		hi = b64[w+1]
	}
	for s := uint(1); s < minRun; s <<= 1 {
		lo &= lo>>s | hi<<(64-s)
		hi &= hi >> s
	}
	return lo
}

// runEnd is the end of the run of base64 characters holding p, or p+1 when
// the byte at p is not one.
func runEnd(b64 []uint64, p int) int {
	w := p / 64
	rest := ^b64[w] &^ (1<<(p%64) - 1) // the bytes from p on that are not
	for rest == 0 {
		if w++; w == len(b64) {
			return 64 * w
		}
		rest = ^b64[w]
	}
	return max(64*w+bits.TrailingZeros64(rest), p+1)
}

// byteMasks are a JSON buffer's byte masks (see bytemask.Masks), and the
// candidates of word w (see nextCandidate).
type byteMasks struct {
	b64, special, quote []uint64
	w                   int
	cand                uint64
}

// stringAround finds the JSON string holding offset p of b: the nearest
// unescaped quote before p opens it. ok is false when p is not inside a
// string.
func (m *byteMasks) stringAround(b []byte, p int) (a, e int, esc, ok bool) {
	q := p
	for {
		if q = prevBit(m.quote, q); q < 0 {
			return 0, 0, false, false
		}
		if !escapedAt(b, q) {
			break
		}
	}
	for e = q + 1; ; e++ {
		if e = nextBit(m.quote, e); e < 0 {
			return 0, 0, false, false
		}
		if !escapedAt(b, e) {
			break
		}
	}
	if e <= p {
		return 0, 0, false, false
	}
	// An escape is a special byte.
	for w := (q + 1) / 64; w <= (e-1)/64 && !esc; w++ {
		for x := m.special[w] & spanBits(w, q+1, e); x != 0 && !esc; x &= x - 1 {
			esc = b[64*w+bits.TrailingZeros64(x)] == '\\'
		}
	}
	return q + 1, e, esc, true
}

// prevBit is the last position before q whose bit is set in mask, or -1.
func prevBit(mask []uint64, q int) int {
	w := q / 64
	x := mask[w] & (1<<(q%64) - 1)
	for x == 0 {
		if w == 0 {
			return -1
		}
		w--
		x = mask[w]
	}
	return 64*w + 63 - bits.LeadingZeros64(x)
}

// nextBit is the first position from i on whose bit is set in mask, or -1.
func nextBit(mask []uint64, i int) int {
	w := i / 64
	if w >= len(mask) {
		return -1
	}
	x := mask[w] &^ (1<<(i%64) - 1)
	for x == 0 {
		if w++; w == len(mask) {
			return -1
		}
		x = mask[w]
	}
	return 64*w + bits.TrailingZeros64(x)
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
