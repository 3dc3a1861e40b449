package leak

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"telltale.dev/harness/capture"
)

// scanner holds the state of one scan; pooled (Detector) or owned (Session),
// so its buffers are reused across requests.
type scanner struct {
	cfg *config
	t   *table
	rep *Report

	// Per request.
	flow   *capture.Flow
	entry  int
	host   string
	where  string
	budget int // decoded bytes left
	seen   map[string]bool
	quiet  quiet
	// noted counts reports and bounds reached, even those deduplicated or
	// ignored, so a walk can tell whether it had anything to say.
	noted int

	// Stacks reused across the recursion; each level works above its mark.
	chain  []string
	hits   []hit
	tail   tails // the matcher's scratch
	frames []frame
	lazy   []lazyStep
	masks  []uint64 // byte masks of the JSON buffers being walked
	arena  []byte
	path   []byte
	grew   bool // the arena was too small this request

	inflater inflater
	// events, when set, receives every JSON "event" name (differential view).
	events func(string)
}

func newScanner(cfg *config) *scanner {
	return &scanner{cfg: cfg, seen: map[string]bool{}, arena: make([]byte, 0, minArena)}
}

// begin points the scanner at a canary table and the report findings go to.
func (s *scanner) begin(t *table, rep *Report) { s.t, s.rep = t, rep }

// end drops what the scanner must not keep alive between scans.
func (s *scanner) end() { s.t, s.rep, s.flow, s.events = nil, nil, nil, nil }

// hint is what the request says about a buffer before it is looked at.
type hint struct {
	form     bool   // the Content-Type is a form
	boundary string // the Content-Type is multipart with this boundary
	deflate  bool   // the Content-Encoding is deflate
	path     bool   // a URL path: '+' is not a space
	// wholeBase64: the buffer is a whole value decoded from base64, which
	// is how raw deflate travels in text.
	wholeBase64 bool
}

// The scratch arena starts small and doubles, up to maxArena, after a request
// that did not fit.
const (
	minArena = 256 << 10
	maxArena = 16 << 20
)

// scanRequest walks every part of one request and says whether a keyed
// decoder opened its body.
func (s *scanner) scanRequest(f *capture.Flow, entry int, keys [][]Key) (opened bool) {
	s.startRequest(f, entry)
	r := f.Request
	var rest string
	s.host, rest = splitURL(r)
	s.walkURL(rest)
	var h hint
	for _, hd := range r.Headers {
		switch strings.ToLower(hd.Name) {
		case "host", "content-length":
			continue
		case "content-type":
			ct := strings.ToLower(hd.Value)
			h.form = strings.HasPrefix(ct, "application/x-www-form-urlencoded")
			if strings.HasPrefix(ct, "multipart/") {
				if _, b, ok := strings.Cut(hd.Value, "boundary="); ok {
					b, _, _ = strings.Cut(b, ";")
					h.boundary = strings.Trim(strings.TrimSpace(b), `"`)
				}
			}
		case "content-encoding":
			h.deflate = strings.Contains(strings.ToLower(hd.Value), "deflate")
		case "cookie":
			s.eachPair([]byte(hd.Value), ';', func(name string, value []byte) {
				s.where = named("cookie", name)
				s.walkRoot(value, hint{})
			})
			continue
		}
		s.where = "header:" + hd.Name
		s.walkRoot([]byte(hd.Value), hint{})
	}
	for i, k := range s.cfg.decoders {
		if plain, ok := k.Open(f, keys[i]); ok {
			s.walkOpened(k.Name(), plain)
			opened = true
		}
	}
	if !opened && len(r.Body) > 0 {
		s.where = "body"
		s.walkRoot(r.Body, h)
	}
	for _, fr := range f.WebSocket {
		if fr.FromClient && len(fr.Data) > 0 {
			s.where = "websocket"
			s.walkRoot(fr.Data, hint{})
		}
	}
	s.endRequest()
	return opened
}

// startRequest resets the per-request state for f.
func (s *scanner) startRequest(f *capture.Flow, entry int) {
	s.flow, s.entry = f, entry
	s.budget = s.cfg.maxDecoded
	clear(s.seen)
	s.quiet.reset()
}

func (s *scanner) endRequest() {
	if s.grew && cap(s.arena) < maxArena {
		s.arena = make([]byte, 0, min(max(2*cap(s.arena), minArena), maxArena))
	}
	s.grew = false
}

// walkOpened walks a body a keyed decoder decrypted, under the decoder's step.
func (s *scanner) walkOpened(name string, plain []byte) {
	s.where = "body"
	s.chain, s.lazy = append(s.chain[:0], name), s.lazy[:0]
	s.walk(node{buf: plain}, 1)
}

// rescanOpened walks the body of an earlier request that a key learned later
// opened, as part of that request.
func (s *scanner) rescanOpened(f *capture.Flow, entry int, name string, plain []byte) {
	s.startRequest(f, entry)
	s.host, _ = splitURL(f.Request)
	s.walkOpened(name, plain)
	s.endRequest()
}

// splitURL splits a request's URL into the host it went to (the URL's, else
// the Host header's) and what follows the host.
func splitURL(r *capture.Request) (host, rest string) {
	rest = r.URL
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		host, rest = hostOnly(rest[:end]), rest[end:]
	}
	if host == "" {
		host = hostOnly(headerValue(r.Headers, "Host"))
	}
	return host, rest
}

// walkURL walks what follows the host: the host itself first (a label can
// carry data), then the path, the query and the fragment.
func (s *scanner) walkURL(rest string) {
	if s.host != "" {
		s.where = "host"
		s.walkRoot([]byte(s.host), hint{})
	}
	rest, frag, hasFrag := strings.Cut(rest, "#")
	path, query, _ := strings.Cut(rest, "?")
	s.walkPath("url", path)
	if query != "" {
		s.eachPair([]byte(query), '&', func(name string, value []byte) {
			s.where = named("query", name)
			s.walkRoot(value, hint{})
		})
	}
	if hasFrag && frag != "" {
		// A fragment routes a single-page app: "/route?a=1", or "a=1&b=2".
		fpath, fquery, _ := strings.Cut(frag, "?")
		s.walkPath("fragment", fpath)
		if fquery != "" {
			s.where = "fragment"
			s.walkRoot([]byte(fquery), hint{})
		}
	}
}

// minSegment is the shortest path segment walked alone: shorter ones are
// ids and words, and a whole-value canary (a number) in a path is noise.
const minSegment = gram

// walkPath walks a path whole, since a canary may span segments, then each
// segment and matrix parameter value (";name=value") alone: an encoding
// starts at its segment's first byte, which inside the whole path can fall
// anywhere in a base64 quantum, and a hex run is not hex once the segments
// around it join it.
func (s *scanner) walkPath(where, p string) {
	if p == "" || p == "/" {
		return
	}
	s.where = where
	s.walkRoot([]byte(p), hint{path: true})
	if len(p) < 2*minSegment {
		return // too short to hold a segment besides itself
	}
	for seg := range strings.SplitSeq(p, "/") {
		seg, params, _ := strings.Cut(seg, ";")
		s.walkSegment(where, seg, len(p))
		for param := range strings.SplitSeq(params, ";") {
			_, v, _ := strings.Cut(param, "=")
			s.walkSegment(where, v, len(p))
		}
	}
}

// walkSegment walks one part of a path of length whole, unless it is too
// short to matter or is the whole path, already walked.
func (s *scanner) walkSegment(where, part string, whole int) {
	if len(part) >= minSegment && len(part) < whole {
		s.where = where
		s.walkRoot([]byte(part), hint{path: true})
	}
}

// named is a request part with an optional name: "query:q", or "query" for
// a bare query.
func named(part, name string) string {
	if name == "" {
		return part
	}
	return part + ":" + name
}

func (s *scanner) walkRoot(b []byte, h hint) {
	s.chain, s.lazy = s.chain[:0], s.lazy[:0]
	s.walk(node{buf: b, hint: h}, 0)
}

// eachPair splits "a=1&b=2" (or cookies "a=1; b=2") and percent-decodes names
// and values. A part without a name ("?eyJhIjoxfQ==", a pixel's payload) is
// passed whole with the name "". A value that reads both as base64 with raw
// '+' and as '+'-for-space text is passed both ways: "q=red+fox+2x9kq7mn4"
// is a search, "d=a+b/c...==" is base64.
func (s *scanner) eachPair(b []byte, sep byte, fn func(name string, value []byte)) {
	for len(b) > 0 {
		var kv []byte
		if i := bytes.IndexByte(b, sep); i >= 0 {
			kv, b = b[:i], b[i+1:]
		} else {
			kv, b = b, nil
		}
		kv = bytes.TrimSpace(kv)
		if len(kv) == 0 {
			continue
		}
		k, v, ok := bytes.Cut(kv, []byte{'='})
		if !ok || len(k) > 0 && len(bytes.TrimLeft(v, "=")) == 0 && len(k) >= minRun {
			k, v = nil, kv // bare value; a long one ending in '=' is padded base64
		}
		mark := len(s.arena)
		name := string(s.formDecode(k, true))
		if bytes.IndexByte(v, '+') >= 0 {
			if raw := s.formDecode(v, false); isBase64Text(raw) {
				fn(name, raw)
			}
		}
		fn(name, s.formDecode(v, true))
		s.arena = s.arena[:mark]
	}
}

func hostOnly(hostport string) string {
	if i := strings.LastIndexByte(hostport, '@'); i >= 0 {
		hostport = hostport[i+1:]
	}
	if strings.HasPrefix(hostport, "[") {
		if i := strings.IndexByte(hostport, ']'); i >= 0 {
			return strings.ToLower(hostport[1:i])
		}
	}
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && !strings.Contains(hostport[:i], ":") {
		hostport = hostport[:i]
	}
	return strings.ToLower(hostport)
}

func headerValue(hs []capture.Header, name string) string {
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// report records pattern pi found at pos in buf, under the current chain.
func (s *scanner) report(buf []byte, pos int, pi int32) {
	p := s.t.pats[pi]
	if p.escaped {
		return
	}
	n := len(s.t.mt.pats[pi])
	s.add(p.canary, p.step, buf, pos, n)
}

// reportWhole records canaries whose whole value equals v.
func (s *scanner) reportWhole(v []byte) {
	if len(v) == 0 || len(v) > s.t.maxWhole {
		return
	}
	for _, ci := range s.t.whole[string(v)] {
		s.add(ci, "", v, 0, len(v))
	}
}

func (s *scanner) add(ci int, step string, buf []byte, pos, n int) {
	s.noted++
	t := s.t
	if s.rep == nil || t.visitHost[ci] != "" && t.visitHost[ci] == s.host || s.flow.Seq <= t.planted[ci] {
		return
	}
	chain := make([]string, 0, len(s.chain)+1)
	lz := 0
	for _, st := range s.chain {
		if st == lazyJSON {
			st = s.jsonPathAt(s.lazy[lz].buf, s.lazy[lz].pos)
			lz++
			if st == "" {
				continue
			}
		}
		chain = append(chain, st)
	}
	if step != "" {
		chain = append(chain, step)
	}
	c := t.canaries[ci]
	key := c.ID + "\x00" + s.where + "\x00" + strings.Join(chain, "\x00")
	if s.seen[key] {
		return
	}
	s.seen[key] = true
	r := s.flow.Request
	ep, _ := Endpoint(s.host)
	s.rep.Findings = append(s.rep.Findings, Finding{
		Canary: c.ID, Entry: s.entry, Seq: s.flow.Seq, Time: s.flow.Start, Host: s.host, Method: r.Method, URL: r.URL,
		Where: s.where, Chain: chain, Evidence: excerpt(buf, pos, n), Endpoint: ep, App: s.flow.App,
	})
}

func (s *scanner) capped(limit string) {
	s.noted++
	c := Capped{Entry: s.entry, Where: s.where, Limit: limit}
	for _, o := range s.rep.Capped {
		if o == c {
			return
		}
	}
	s.rep.Capped = append(s.rep.Capped, c)
}

// evidenceContext is how many bytes of context an excerpt shows each side.
const evidenceContext = 40

// excerpt shows the hit with some decoded context, as readable text:
// control bytes become '.', and cuts never split a UTF-8 character.
func excerpt(buf []byte, pos, n int) string {
	a, e := max(pos-evidenceContext, 0), min(pos+n+evidenceContext, len(buf))
	for a > 0 && a < pos && !utf8.RuneStart(buf[a]) {
		a++
	}
	for e < len(buf) && e > pos+n && !utf8.RuneStart(buf[e]) {
		e--
	}
	var sb strings.Builder
	for i := a; i < e; {
		c := buf[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				c = '.'
			}
			sb.WriteByte(c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(buf[i:e])
		if r == utf8.RuneError {
			sb.WriteByte('.')
		} else {
			sb.WriteRune(r)
		}
		i += size
	}
	return sb.String()
}
