package leak

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"telltale.dev/harness/capture"
)

// scanner holds the state of one Scan; pooled, so its buffers are reused
// across captures.
type scanner struct {
	d   *Detector
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
	frames []frame
	lazy   []lazyStep
	runs   []int
	arena  []byte
	path   []byte
	grew   bool // the arena was too small this request

	readers readers
	// events, when set, receives every JSON "event" name (differential view).
	events func(string)
}

// hint is what the request's headers say about its body.
type hint struct {
	form     bool
	boundary string
	deflate  bool
}

// The scratch arena starts small and doubles, up to maxArena, after a request
// that did not fit.
const (
	minArena = 256 << 10
	maxArena = 16 << 20
)

func (s *scanner) scanRequest(f *capture.Flow, entry int, keys [][]Key) {
	s.flow, s.entry = f, entry
	s.budget = s.d.cfg.maxDecoded
	clear(s.seen)
	s.quiet.reset()
	r := f.Request
	rawURL := r.URL
	s.host = ""
	rest := rawURL
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		s.host, rest = hostOnly(rest[:end]), rest[end:]
	}
	if s.host == "" {
		s.host = hostOnly(headerValue(r.Headers, "Host"))
	}
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest = rest[:i]
	}
	path, query, _ := strings.Cut(rest, "?")
	if path != "" && path != "/" {
		s.where = "url"
		s.walkRoot([]byte(path), hint{})
	}
	if query != "" {
		s.eachPair([]byte(query), '&', func(name string, value []byte) {
			s.where = "query:" + name
			s.walkRoot(value, hint{})
		})
	}
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
				s.where = "cookie:" + name
				s.walkRoot(value, hint{})
			})
			continue
		}
		s.where = "header:" + hd.Name
		s.walkRoot([]byte(hd.Value), hint{})
	}
	s.where = "body"
	opened := false
	for i, k := range s.d.cfg.decoders {
		if plain, ok := k.Open(f, keys[i]); ok {
			s.chain, s.lazy = append(s.chain[:0], k.Name()), s.lazy[:0]
			s.walk(node{buf: plain}, 1)
			opened = true
		}
	}
	if !opened && len(r.Body) > 0 {
		s.walkRoot(r.Body, h)
	}
	for _, fr := range f.WebSocket {
		if fr.FromClient && len(fr.Data) > 0 {
			s.where = "websocket"
			s.walkRoot(fr.Data, hint{})
		}
	}
	if s.grew && cap(s.arena) < maxArena {
		s.arena = make([]byte, 0, min(max(2*cap(s.arena), minArena), maxArena))
	}
	s.grew = false
}

func (s *scanner) walkRoot(b []byte, h hint) {
	s.chain, s.lazy = s.chain[:0], s.lazy[:0]
	s.walk(node{buf: b, hint: h}, 0)
}

// eachPair splits "a=1&b=2" (or cookies "a=1; b=2") and percent-decodes names
// and values.
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
		k, v, _ := bytes.Cut(kv, []byte{'='})
		mark := len(s.arena)
		fn(string(s.formDecode(k)), s.formDecode(v))
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
	p := s.d.pats[pi]
	n := len(s.d.mt.pats[pi])
	s.add(p.canary, p.step, buf, pos, n)
}

// reportWhole records canaries whose whole value equals v.
func (s *scanner) reportWhole(v []byte) {
	if len(v) == 0 || len(v) > s.d.maxWhole {
		return
	}
	for _, ci := range s.d.whole[string(v)] {
		s.add(ci, "", v, 0, len(v))
	}
}

func (s *scanner) add(ci int, step string, buf []byte, pos, n int) {
	s.noted++
	if s.rep == nil || s.d.visitHost[ci] != "" && s.d.visitHost[ci] == s.host {
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
	c := s.d.canaries[ci]
	key := c.ID + "\x00" + s.where + "\x00" + strings.Join(chain, "\x00")
	if s.seen[key] {
		return
	}
	s.seen[key] = true
	r := s.flow.Request
	ep, _ := Endpoint(s.host)
	s.rep.Findings = append(s.rep.Findings, Finding{
		Canary: c.ID, Entry: s.entry, Seq: s.flow.Seq, Host: s.host, Method: r.Method, URL: r.URL,
		Where: s.where, Chain: chain, Evidence: excerpt(buf, pos, n), Endpoint: ep,
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
