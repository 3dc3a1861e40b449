package leak

import (
	"encoding/binary"
	"strconv"

	"telltale.dev/harness/leak/inflate"
)

// inflater decompresses for one scanner. Its decoder's tables are reused;
// big is a heap buffer kept for output that outgrows the arena, busy while
// that output is being walked (a decompression finishes before its output
// is walked, so one decoder serves every depth).
type inflater struct {
	dec  *inflate.Decoder
	grow inflate.Grow
	// in and limit size the growth steps of the current decompression.
	in, limit int
	big       []byte
	busy      bool
}

// inflate decompresses in into the arena, at most the inflate bound and the
// request's remaining budget. Output past the bound is never produced, so a
// bomb costs the bound, not its size. A truncated or corrupt stream yields
// what decoded before the damage; clean says the stream ended properly.
func (s *scanner) inflate(f inflate.Format, in []byte) (out []byte, ok, clean bool) {
	limit := min(s.cfg.maxInflate, s.budget)
	if limit <= 0 {
		s.capped("bytes")
		return nil, false, false
	}
	z := &s.inflater
	if z.dec == nil {
		z.dec = new(inflate.Decoder)
		z.grow = func(b []byte) []byte { return s.heapBuf(min(max(2*len(b), 64<<10, 4*z.in), z.limit), b) }
	}
	z.in, z.limit = len(in), limit
	// Start in the arena's free space (often enough), then grow on the heap.
	buf := s.arena[len(s.arena):len(s.arena)]
	inArena := cap(buf) >= 4<<10
	if !inArena {
		buf = s.heapBuf(min(max(64<<10, 4*len(in)), limit), nil)[:0]
	}
	out, err := z.dec.Decode(f, buf, in, limit, z.grow)
	if err == inflate.ErrLimit {
		if limit == s.budget {
			s.capped("bytes")
		} else {
			s.capped("inflate")
		}
	}
	n := len(out)
	s.budget -= n
	if inArena && n > 0 && &out[0] == &buf[:1][0] {
		s.arena = s.arena[:len(s.arena)+n]
	}
	return out, n > 0, err == nil
}

// heapBuf returns a buffer of size n holding keep, reusing the scanner's big
// buffer when no walk is using it; decode marks it free again.
func (s *scanner) heapBuf(n int, keep []byte) []byte {
	s.grew = true
	z := &s.inflater
	if !z.busy || len(keep) > 0 && &keep[0] == &z.big[:1][0] {
		if cap(z.big) < n {
			nb := make([]byte, n)
			copy(nb, keep)
			z.big = nb
		}
		z.busy = true
		return z.big[:n]
	}
	nb := make([]byte, n)
	copy(nb, keep)
	return nb
}

// isZlib checks the two-byte zlib header (deflate method, valid check bits).
func isZlib(b []byte) bool {
	return len(b) >= 2 && b[0]&0x0f == 8 && b[0]>>4 <= 7 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0
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
