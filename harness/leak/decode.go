package leak

import (
	"bytes"
	"encoding/binary"
	"io"
	"strconv"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
)

type inflateKind int

const (
	kindGzip inflateKind = iota
	kindZlib
	kindDeflate
)

// readers keeps one decompressor of each kind per scanner: they hold large
// tables, and a decompression finishes before its output is walked, so one
// is enough however deep the nesting.
type readers struct {
	src     bytes.Reader
	gz      *gzip.Reader
	zl      io.ReadCloser
	fl      io.ReadCloser
	scratch []byte
	// big is a heap buffer kept for inflates that outgrow the arena; busy
	// while its output is being walked.
	big  []byte
	busy bool
}

func (r *readers) open(k inflateKind, in []byte) (io.Reader, error) {
	r.src.Reset(in)
	switch k {
	case kindGzip:
		if r.gz == nil {
			gz, err := gzip.NewReader(&r.src)
			r.gz = gz
			return gz, err
		}
		return r.gz, r.gz.Reset(&r.src)
	case kindZlib:
		if r.zl == nil {
			zl, err := zlib.NewReader(&r.src)
			if err != nil {
				return nil, err
			}
			r.zl = zl
			return zl, nil
		}
		return r.zl, r.zl.(zlib.Resetter).Reset(&r.src, nil)
	default:
		if r.fl == nil {
			r.fl = flate.NewReader(&r.src)
			return r.fl, nil
		}
		return r.fl, r.fl.(flate.Resetter).Reset(&r.src, nil)
	}
}

// isZlib checks the two-byte zlib header (deflate method, valid check bits).
func isZlib(b []byte) bool {
	return len(b) >= 2 && b[0]&0x0f == 8 && b[0]>>4 <= 7 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0
}

// inflate decompresses in into the arena, at most the inflate bound and the
// request's remaining budget. Output past the bound is never produced, so a
// bomb costs the bound, not its size. A truncated or corrupt stream yields
// what decoded before the damage; clean says the stream ended properly.
func (s *scanner) inflate(k inflateKind, in []byte) (out []byte, ok, clean bool) {
	limit := min(s.cfg.maxInflate, s.budget)
	r, err := s.readers.open(k, in)
	if err != nil || limit <= 0 {
		if limit <= 0 {
			s.capped("bytes")
		}
		return nil, false, false
	}
	// Start in the arena's free space (often enough), then grow on the heap.
	inArena := cap(s.arena)-len(s.arena) >= 4<<10
	if inArena {
		out = s.arena[len(s.arena):cap(s.arena)]
		out = out[:min(len(out), limit)]
	} else {
		out = s.heapBuf(min(max(64<<10, 4*len(in)), limit), nil)
	}
	n := 0
	for {
		if n == len(out) {
			if n >= limit {
				// Is there more? Read one byte to tell a bound from an exact fit.
				if m, _ := r.Read(s.readers.oneByte()); m > 0 {
					if limit == s.budget {
						s.capped("bytes")
					} else {
						s.capped("inflate")
					}
				}
				break
			}
			out, inArena = s.heapBuf(min(max(2*len(out), 64<<10, 4*len(in)), limit), out[:n]), false
		}
		m, err := r.Read(out[n:])
		n += m
		if err != nil {
			if err != io.EOF && n == 0 {
				return nil, false, false
			}
			clean = err == io.EOF
			break
		}
	}
	s.budget -= n
	if inArena {
		s.arena = s.arena[:len(s.arena)+n]
	}
	return out[:n:n], n > 0, clean
}

// heapBuf returns a buffer of size n holding keep, reusing the scanner's big
// buffer when no walk is using it. The caller releases it with releaseBig.
func (s *scanner) heapBuf(n int, keep []byte) []byte {
	s.grew = true
	r := &s.readers
	if !r.busy || len(keep) > 0 && &keep[0] == &r.big[:1][0] {
		if cap(r.big) < n {
			nb := make([]byte, n)
			copy(nb, keep)
			r.big = nb
		}
		r.busy = true
		return r.big[:n]
	}
	nb := make([]byte, n)
	copy(nb, keep)
	return nb
}

func (r *readers) oneByte() []byte {
	if r.scratch == nil {
		r.scratch = make([]byte, 1)
	}
	return r.scratch
}

// walkProtobuf walks b as protobuf wire format when it parses as such to the
// last byte: each length-delimited field is walked under "protobuf:N"
// (nested messages give one step per level), varints are checked as whole
// numbers, and 16/20/32-byte fields are compared with the canaries' raw
// digests.
func (s *scanner) walkProtobuf(n node, depth int) {
	b, hits := n.buf, n.hits
	hi := 0
	for i := 0; i < len(b); {
		tag, k := binary.Uvarint(b[i:])
		i += k
		field := strconv.FormatUint(tag>>3, 10)
		switch tag & 7 {
		case 0:
			v, k := binary.Uvarint(b[i:])
			i += k
			if len(s.t.whole) > 0 {
				s.chain = append(s.chain, "protobuf:"+field)
				s.reportWhole(strconv.AppendUint(nil, v, 10))
				s.chain = s.chain[:len(s.chain)-1]
			}
		case 1:
			i += 8
		case 5:
			i += 4
		case 2:
			l, k := binary.Uvarint(b[i:])
			i += k
			a, e := i, i+int(l)
			i = e
			for hi < len(hits) && hits[hi].pos-n.off < a {
				s.reportAt(&n, hits[hi].pos-n.off, hits[hi].pat)
				hi++
			}
			j := hi
			for j < len(hits) && hits[j].pos-n.off+len(s.t.mt.pats[hits[j].pat]) <= e {
				j++
			}
			s.chain = append(s.chain, "protobuf:"+field)
			if p, ok := s.t.digests[string(b[a:e])]; ok && (e-a == 16 || e-a == 20 || e-a == 32) {
				s.add(p.canary, p.step, b, a, e-a)
			}
			s.walk(n.sub(a, e, hits[hi:j]), depth+1)
			s.chain = s.chain[:len(s.chain)-1]
			hi = j
		}
	}
	for _, h := range hits[hi:] {
		s.reportAt(&n, h.pos-n.off, h.pat)
	}
}

// validProtobuf checks that b is a sequence of well-formed fields ending
// exactly at its end. Groups (deprecated, and what text most often looks
// like) are refused.
func validProtobuf(b []byte) bool {
	fields := 0
	for i := 0; i < len(b); fields++ {
		tag, n := binary.Uvarint(b[i:])
		if n <= 0 || tag>>3 == 0 || tag>>3 > 1<<29-1 {
			return false
		}
		i += n
		switch tag & 7 {
		case 0:
			_, n := binary.Uvarint(b[i:])
			if n <= 0 {
				return false
			}
			i += n
		case 1:
			i += 8
		case 5:
			i += 4
		case 2:
			l, n := binary.Uvarint(b[i:])
			if n <= 0 || l > uint64(len(b)-i-n) {
				return false
			}
			i += n + int(l)
		default:
			return false
		}
		if i > len(b) {
			return false
		}
	}
	return fields > 0
}
