package leak

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"

	"telltale.dev/harness/leak/inflate"
)

// node is one buffer to walk. When scanned is set, hits already holds the
// matcher's hits for it (positions relative to off), because the parent
// scanned a buffer this one is a slice of.
type node struct {
	buf     []byte
	hits    []hit
	off     int
	scanned bool
	hint    hint
	// ctx is the decoded buffer buf is a slice of (buf itself when nil), at
	// buf's offset in it: evidence shows the context around a JSON string.
	ctx []byte
	at  int
}

// reportAt reports a hit at pos (relative to n.buf) with evidence from ctx.
func (s *scanner) reportAt(n *node, pos int, pi int32) {
	if n.ctx == nil {
		s.report(n.buf, pos, pi)
		return
	}
	s.report(n.ctx, n.at+pos, pi)
}

// minRun is the shortest base64 or hex run decoded when it is only part of a
// buffer; shorter runs inside text are mostly words.
const minRun = 16

// walk matches buf and every decoding of it. depth is the number of decoding
// steps already on the chain.
func (s *scanner) walk(n node, depth int) {
	hitMark := len(s.hits)
	defer func() { s.hits = s.hits[:hitMark] }()
	s.reportWhole(n.buf)
	if depth >= s.cfg.maxDepth {
		s.scan(&n)
		s.reportHits(n, n.hits)
		if len(n.buf) > 0 {
			s.capped("depth")
		}
		return
	}
	b := n.buf
	if n.hint.boundary != "" && s.walkMultipart(b, n.hint.boundary, depth) {
		return
	}
	first := skipSpace(b, 0)
	switch {
	case first < len(b) && (b[first] == '{' || b[first] == '['):
		s.scan(&n)
		s.walkJSON(n, depth)
		return
	case looksForm(b, n.hint.form):
		s.walkForm(b, depth)
		return
	}
	s.scan(&n)
	binary := hasControl(b)
	// Protobuf is tried on binary-looking buffers only, so that text never
	// loses its other decodings; field 1 of type bytes starts with '\n'.
	if len(b) > 0 && (b[0] == '\n' || binary) && validProtobuf(b) {
		s.walkProtobuf(n, depth)
		return
	}
	s.reportHits(n, n.hits)
	s.decode(b, depth, n.hint, binary)
}

// scan fills n.hits unless a parent already did.
func (s *scanner) scan(n *node) {
	if n.scanned {
		return
	}
	mark := len(s.hits)
	s.hits = s.t.mt.find(n.buf, s.hits, &s.tail)
	n.hits, n.off, n.scanned = s.hits[mark:], 0, true
}

func (s *scanner) reportHits(n node, hs []hit) {
	for _, h := range hs {
		s.reportAt(&n, h.pos-n.off, h.pat)
	}
}

// sub is the zero-copy child n.buf[a:e], with the hits that fall inside it.
func (n *node) sub(a, e int, hits []hit) node {
	c := node{buf: n.buf[a:e], hits: hits, off: n.off + a, scanned: true, ctx: n.ctx, at: n.at + a}
	if n.ctx == nil {
		c.ctx, c.at = n.buf, a
	}
	return c
}

// child walks a decoded buffer under one more chain step.
func (s *scanner) child(step string, n node, depth int) {
	s.chain = append(s.chain, step)
	s.walk(n, depth+1)
	s.chain = s.chain[:len(s.chain)-1]
}

// alloc returns an empty buffer with room for n bytes from the scratch arena;
// the caller truncates s.arena back to its mark when done with it.
func (s *scanner) alloc(n int) []byte {
	l := len(s.arena)
	if cap(s.arena)-l >= n {
		s.arena = s.arena[:l+n]
		return s.arena[l : l : l+n]
	}
	s.grew = true
	return make([]byte, 0, n)
}

// worthWalking says whether a decoded buffer can hold anything: a pattern
// (it is at least as long as the shortest), a whole-value canary (it is no
// longer than the longest), or a compressed stream or a protobuf message with
// numbers that may hold one. Anything else is an id or noise: hex device ids
// decode to 8 random bytes. mayDeflate says it was a whole base64 value,
// which may be raw deflate.
func (s *scanner) worthWalking(out []byte, mayDeflate bool) bool {
	if len(out) >= s.t.mt.m || len(out) <= s.t.maxWhole {
		return true
	}
	return len(out) >= minCompressed && (out[0] == 0x1f && out[1] == 0x8b || isZlib(out) || mayDeflate && deflateStart(out)) ||
		len(s.t.whole) > 0 && validProtobuf(out)
}

// minCompressed is the smallest zlib stream; shorter buffers cannot inflate.
const minCompressed = 8

// spend takes n bytes from the request's decoded-bytes budget.
func (s *scanner) spend(n int) bool {
	if n > s.budget {
		s.capped("bytes")
		return false
	}
	s.budget -= n
	return true
}

// decode tries every decoding that fits b (binary says it holds control
// bytes). Cheap tests come first so that undecodable bytes cost little more
// than the match.
func (s *scanner) decode(b []byte, depth int, h hint, binary bool) {
	if len(b) < 2 {
		return
	}
	mark := len(s.arena)
	defer func() { s.arena = s.arena[:mark] }()
	kind, step, guess := inflate.Raw, "", false
	switch {
	case b[0] == 0x1f && b[1] == 0x8b:
		kind, step = inflate.Gzip, "gzip"
	case isZlib(b):
		kind, step = inflate.Zlib, "zlib"
	case h.deflate:
		step = "deflate"
	case h.wholeBase64 && binary && len(b) >= minCompressed && deflateStart(b):
		// Raw deflate has no header to tell it by: a binary value that was
		// base64 whole is inflated on trust, and kept only if it ends well.
		step, guess = "deflate", true
	}
	if step != "" {
		busy := s.inflater.busy
		out, ok, clean := s.inflate(kind, b)
		ok = ok && (clean || !guess)
		if ok {
			s.child(step, node{buf: out}, depth)
		}
		s.inflater.busy = busy
		if ok {
			return
		}
	}
	whole := false
	if len(b) >= minWholeFast && runClass[b[0]] != 0 {
		if out, ok := s.decodeWholeBase64(b); ok {
			whole = true
			if s.worthWalking(out, true) {
				s.child("base64", node{buf: out, hint: hint{wholeBase64: true}}, depth)
			}
		}
	}
	if !whole {
		eachRun(b, s.t.minB64, func(a, e int, hexOnly, url bool) {
			all := a == 0 && len(bytes.TrimRight(b[e:], "=")) == 0
			whole = whole || all
			m := len(s.arena)
			if hexOnly && (e-a)%2 == 0 {
				if out, ok := s.decodeHex(b[a:e]); ok && s.worthWalking(out, false) {
					s.child("hex", node{buf: out}, depth)
				}
			} else if out, ok := s.decodeBase64(b[a:e], url); ok && s.worthWalking(out, all) {
				s.child("base64", node{buf: out, hint: hint{wholeBase64: all}}, depth)
			}
			s.arena = s.arena[:m]
		})
	}
	// A whole base64 value holds no '%' and no backslash: a telemetry batch,
	// one such value, is not searched through for them.
	if binary || whole {
		return
	}
	if pct := hasPercent(b); pct || bytes.IndexByte(b, '+') >= 0 {
		if s.spend(len(b)) {
			// '+' is a literal in a path (RFC 3986), a space elsewhere; a
			// path with no escape but '+' is read the common, loose way.
			out := percentDecode(s.alloc(len(b)), b, !h.path || !pct)
			if !bytes.Equal(out, b) {
				s.child("percent", node{buf: out}, depth)
			}
		}
	}
	if i := bytes.IndexByte(b, '\\'); i >= 0 && i+1 < len(b) && bytes.IndexByte([]byte(`/"u\`), b[i+1]) >= 0 {
		if s.spend(len(b)) {
			if out, ok := unescapeJSON(s.alloc(len(b)), b); ok {
				s.child("unescape", node{buf: out}, depth)
			}
		}
	}
}

// deflateStart says whether b can start a raw deflate stream: its first
// block type is not the reserved one, and a stored block's length matches
// its complement (RFC 1951 3.2.3, 3.2.4).
func deflateStart(b []byte) bool {
	switch b[0] >> 1 & 3 {
	case 3:
		return false
	case 0:
		return len(b) >= 5 && b[1]^b[3] == 0xff && b[2]^b[4] == 0xff
	}
	return true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// hasControl says whether the first 64 bytes of b hold bytes text never
// has, i.e. b is binary. Eight bytes are tested at once for one below 0x20;
// only a word that has one is looked at byte by byte (tab, CR and LF are
// text).
func hasControl(b []byte) bool {
	b = b[:min(len(b), 64)]
	for ; len(b) >= 8; b = b[8:] {
		x := binary.LittleEndian.Uint64(b)
		if (x-0x2020202020202020)&^x&0x8080808080808080 != 0 && controlIn(b[:8]) {
			return true
		}
	}
	return controlIn(b)
}

func controlIn(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' {
			return true
		}
	}
	return false
}

const (
	clsAlnum = 1 << iota
	clsStd   // + /
	clsURL   // - _
	clsHex
	// clsAny is set for every base64 character, so that ANDing the classes
	// of several bytes tells whether all of them are.
	clsAny
)

var runClass = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = clsAlnum | clsHex
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = clsAlnum
		t[c-'a'+'A'] = clsAlnum
	}
	for _, c := range "abcdefABCDEF" {
		t[c] |= clsHex
	}
	t['+'], t['/'] = clsStd, clsStd
	t['-'], t['_'] = clsURL, clsURL
	for c := range t {
		if t[c] != 0 {
			t[c] |= clsAny
		}
	}
	return t
}()

// eachRun calls fn for every maximal run of base64 characters that is at
// least minRun long, or is the whole of b and at least minWhole long, saying
// whether it is all hex digits and whether it uses the URL alphabet. It
// looks at one byte per minRun until one is a base64 character, so binary
// data is skipped quickly.
func eachRun(b []byte, minWhole int, fn func(a, e int, hexOnly, url bool)) {
	n := len(b)
	if n >= minWhole && n < minRun {
		e := n
		for e > 0 && b[e-1] == '=' {
			e--
		}
		all := uint8(0)
		for _, c := range b[:e] {
			if runClass[c] == 0 {
				return
			}
			all |= runClass[c]
		}
		if e >= minWhole && all&(clsStd|clsURL) != clsStd|clsURL {
			fn(0, e, isHex(b[:e]), all&clsURL != 0)
		}
		return
	}
	// known: b[i:known] is already known to be base64 characters, so the
	// backward check after a jump looks at each byte once.
	for i, known := 0, 0; i+minRun <= n; {
		end := i + minRun - 1
		if runClass[b[end]] == 0 {
			i = end + 1
			continue
		}
		known = max(known, i)
		j := end - 1
		for j >= known && runClass[b[j]] != 0 {
			j--
		}
		if j >= known {
			i, known = j+1, end+1
			continue
		}
		k := i + minRun
		all, every := uint8(0), uint8(0xff)
		for _, c := range b[i:k] {
			all |= runClass[c]
			every &= runClass[c]
		}
		// Eight bytes a step: a base64 blob is one long run.
		for ; k+8 <= n; k += 8 {
			c := (*[8]byte)(b[k:])
			c0, c1, c2, c3 := runClass[c[0]], runClass[c[1]], runClass[c[2]], runClass[c[3]]
			c4, c5, c6, c7 := runClass[c[4]], runClass[c[5]], runClass[c[6]], runClass[c[7]]
			e8 := c0 & c1 & c2 & c3 & c4 & c5 & c6 & c7
			if e8&clsAny == 0 {
				break
			}
			all |= c0 | c1 | c2 | c3 | c4 | c5 | c6 | c7
			every &= e8
		}
		for k < n && runClass[b[k]] != 0 {
			all |= runClass[b[k]]
			every &= runClass[b[k]]
			k++
		}
		if all&(clsStd|clsURL) != clsStd|clsURL {
			fn(i, k, every&clsHex != 0, all&clsURL != 0)
		}
		for k < n && b[k] == '=' {
			k++
		}
		i, known = k, k
	}
}

func isHex(b []byte) bool {
	for _, c := range b {
		if runClass[c]&clsHex == 0 {
			return false
		}
	}
	return true
}

func (s *scanner) decodeBase64(run []byte, url bool) ([]byte, bool) {
	for len(run) > 0 && run[len(run)-1] == '=' {
		run = run[:len(run)-1]
	}
	if len(run)%4 == 1 {
		run = run[:len(run)-1]
	}
	enc := base64.RawStdEncoding
	if url {
		enc = base64.RawURLEncoding
	}
	n := enc.DecodedLen(len(run))
	if !s.spend(n) {
		return nil, false
	}
	out := s.alloc(n)[:n]
	n, err := enc.Decode(out, run)
	return out[:n], err == nil
}

// minWholeFast is the length from which a buffer that starts like base64 is
// decoded as one value before it is searched for runs: a form field's
// payload is then read once, not twice.
const minWholeFast = 1 << 10

// decodeWholeBase64 decodes b as one base64 value (either alphabet, padded
// or not), and fails without a trace when b is not one.
func (s *scanner) decodeWholeBase64(b []byte) ([]byte, bool) {
	run := bytes.TrimRight(b, "=")
	if len(run)%4 == 1 || isHex(run[:64]) {
		return nil, false
	}
	n := base64.RawStdEncoding.DecodedLen(len(run))
	if n > s.budget {
		return nil, false // let the runs note the bound
	}
	mark := len(s.arena)
	out := s.alloc(n)[:n]
	m, err := base64.RawStdEncoding.Decode(out, run)
	var at base64.CorruptInputError
	if errors.As(err, &at) && (run[at] == '-' || run[at] == '_') {
		m, err = base64.RawURLEncoding.Decode(out, run)
	}
	if err != nil {
		s.arena = s.arena[:mark]
		return nil, false
	}
	s.budget -= n
	return out[:m], true
}

func (s *scanner) decodeHex(run []byte) ([]byte, bool) {
	n := len(run) / 2
	if !s.spend(n) {
		return nil, false
	}
	out := s.alloc(n)[:n]
	_, err := hex.Decode(out, run)
	return out, err == nil
}

// hasPercent reports a %XX escape.
func hasPercent(b []byte) bool {
	for {
		i := bytes.IndexByte(b, '%')
		if i < 0 || i+2 >= len(b) {
			return false
		}
		if runClass[b[i+1]]&clsHex != 0 && runClass[b[i+2]]&clsHex != 0 {
			return true
		}
		b = b[i+1:]
	}
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// percentDecode appends b with %XX escapes (and '+' when plus) decoded;
// malformed escapes stay as they are. Plain stretches are copied whole,
// since escapes are a few percent of an encoded base64 blob.
func percentDecode(dst, b []byte, plus bool) []byte {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '%')
		if plus {
			end := i
			if end < 0 {
				end = len(b)
			}
			if j := bytes.IndexByte(b[:end], '+'); j >= 0 {
				i = j
			}
		}
		if i < 0 {
			return append(dst, b...)
		}
		dst = append(dst, b[:i]...)
		b = b[i:]
		switch {
		case b[0] == '+':
			dst = append(dst, ' ')
			b = b[1:]
		case len(b) > 2 && runClass[b[1]]&clsHex != 0 && runClass[b[2]]&clsHex != 0:
			dst = append(dst, unhex(b[1])<<4|unhex(b[2]))
			b = b[3:]
		default:
			dst = append(dst, '%')
			b = b[1:]
		}
	}
	return dst
}
