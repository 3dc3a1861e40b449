package leak

import "encoding/binary"

// matcher finds every occurrence of many fixed patterns in one pass, with the
// Wu-Manber shift table: it looks at the last 4 bytes of a window as long as
// the shortest pattern and jumps ahead as far as no pattern could end
// earlier. Random binary and most text move the window by close to the
// shortest pattern's length per lookup, which is what keeps undecodable bytes
// near memory speed; only windows whose last 4 bytes occur in some pattern
// prefix are verified.
type matcher struct {
	pats  []string
	m     int                    // shortest pattern length (>= gram)
	shift *[1 << tableBits]uint8 // indexed by gram hash
	// Patterns whose m-byte prefix ends in a gram with hash h are
	// bucket[start[h]:start[h+1]].
	start  []int32
	bucket []int32
}

const (
	gram      = 4
	tableBits = 16
)

func gramHash(g uint32) uint32 { return (g * 0x9E3779B1) >> (32 - tableBits) }

// newMatcher builds the tables; every pattern must be at least gram bytes.
func newMatcher(pats []string) *matcher {
	mt := &matcher{pats: pats}
	if len(pats) == 0 {
		return mt
	}
	mt.shift = new([1 << tableBits]uint8)
	mt.start = make([]int32, 1<<tableBits+1)
	mt.m = len(pats[0])
	for _, p := range pats {
		mt.m = min(mt.m, len(p))
	}
	mt.m = min(mt.m, 255+gram-1) // shifts fit a byte
	def := uint8(mt.m - gram + 1)
	for i := range mt.shift {
		mt.shift[i] = def
	}
	last := make([]uint32, len(pats))
	for pi, p := range pats {
		// Grams of the first m bytes: the one ending at j allows a shift of m-1-j.
		for j := gram - 1; j < mt.m; j++ {
			h := gramHash(binary.LittleEndian.Uint32([]byte(p[j-gram+1 : j+1])))
			if s := uint8(mt.m - 1 - j); s < mt.shift[h] {
				mt.shift[h] = s
			}
		}
		last[pi] = gramHash(binary.LittleEndian.Uint32([]byte(p[mt.m-gram : mt.m])))
		mt.start[last[pi]]++
	}
	// Counts become bucket ends, then filling each bucket from its end
	// backwards leaves start[h] at its beginning, in pattern order.
	for h := 1; h < len(mt.start); h++ {
		mt.start[h] += mt.start[h-1]
	}
	mt.bucket = make([]int32, len(pats))
	for pi := len(last) - 1; pi >= 0; pi-- {
		h := last[pi]
		mt.start[h]--
		mt.bucket[mt.start[h]] = int32(pi)
	}
	return mt
}

// hit is one pattern occurrence.
type hit struct {
	pos int
	pat int32
}

// find appends every occurrence in buf to dst, in order of position. tail
// is the caller's scratch space (a matcher is shared by concurrent scans).
//
// Each step's next position depends on a table lookup at the last (and on
// the load of buf there), so one cursor leaves the core idle waiting; eight
// cursors, one per eighth of buf, run their chains side by side. (Four left
// the chains' latency showing; a loop over an array of cursors keeps them
// in memory, which costs more than it hides.) A window ending in one eighth
// starts before any ending in the next, so the later cursors' hits, kept
// in tail, follow the first's.
func (mt *matcher) find(buf []byte, dst []hit, tail *tails) []hit {
	m := mt.m
	// Window ends: a window is the m bytes an occurrence starts with.
	i, end := m-1, len(buf)
	if m == 0 || i >= end {
		return dst
	}
	if end-i < 8*interleaveMin {
		mt.run(buf, i, end, &dst)
		return dst
	}
	q := (end - i) / 8
	i0, i1, i2, i3, i4, i5, i6, i7 := i, i+q, i+2*q, i+3*q, i+4*q, i+5*q, i+6*q, i+7*q
	e0, e1, e2, e3, e4, e5, e6 := i1, i2, i3, i4, i5, i6, i7
	for k := range tail {
		tail[k] = tail[k][:0]
	}
	for i0 < e0 && i1 < e1 && i2 < e2 && i3 < e3 && i4 < e4 && i5 < e5 && i6 < e6 && i7 < end {
		n0, n1, n2, n3 := mt.next(buf, i0), mt.next(buf, i1), mt.next(buf, i2), mt.next(buf, i3)
		n4, n5, n6, n7 := mt.next(buf, i4), mt.next(buf, i5), mt.next(buf, i6), mt.next(buf, i7)
		if n0 == i0 || n1 == i1 || n2 == i2 || n3 == i3 || n4 == i4 || n5 == i5 || n6 == i6 || n7 == i7 {
			if n0 == i0 {
				dst = mt.verify(buf, i0, dst)
				n0++
			}
			if n1 == i1 {
				tail[0] = mt.verify(buf, i1, tail[0])
				n1++
			}
			if n2 == i2 {
				tail[1] = mt.verify(buf, i2, tail[1])
				n2++
			}
			if n3 == i3 {
				tail[2] = mt.verify(buf, i3, tail[2])
				n3++
			}
			if n4 == i4 {
				tail[3] = mt.verify(buf, i4, tail[3])
				n4++
			}
			if n5 == i5 {
				tail[4] = mt.verify(buf, i5, tail[4])
				n5++
			}
			if n6 == i6 {
				tail[5] = mt.verify(buf, i6, tail[5])
				n6++
			}
			if n7 == i7 {
				tail[6] = mt.verify(buf, i7, tail[6])
				n7++
			}
		}
		i0, i1, i2, i3, i4, i5, i6, i7 = n0, n1, n2, n3, n4, n5, n6, n7
	}
	mt.run(buf, i0, e0, &dst)
	mt.run(buf, i1, e1, &tail[0])
	mt.run(buf, i2, e2, &tail[1])
	mt.run(buf, i3, e3, &tail[2])
	mt.run(buf, i4, e4, &tail[3])
	mt.run(buf, i5, e5, &tail[4])
	mt.run(buf, i6, e6, &tail[5])
	mt.run(buf, i7, end, &tail[6])
	for _, h := range tail {
		dst = append(dst, h...)
	}
	return dst
}

// tails is find's scratch space.
type tails [7][]hit

// interleaveMin is the share of a cursor below which one cursor does.
const interleaveMin = 256

// run moves one cursor from window end i to end, appending hits to dst.
func (mt *matcher) run(buf []byte, i, end int, dst *[]hit) {
	for i < end {
		ni := mt.next(buf, i)
		if ni == i {
			*dst = mt.verify(buf, i, *dst)
			ni++
		}
		i = ni
	}
}

// next is the first window end from i on where a pattern's prefix may end:
// i itself when the last gram allows no shift. (A test of the window's last
// byte against the bytes patterns hold, to skip a full m on binary data,
// costs more in branches than it saves.)
func (mt *matcher) next(buf []byte, i int) int {
	return i + int(mt.shift[gramHash(binary.LittleEndian.Uint32(buf[i-gram+1:]))])
}

// verify appends the patterns whose prefix ends at window end i and which
// occur there in full.
func (mt *matcher) verify(buf []byte, i int, dst []hit) []hit {
	h := gramHash(binary.LittleEndian.Uint32(buf[i-gram+1:]))
	start := i - mt.m + 1
	for _, pi := range mt.bucket[mt.start[h]:mt.start[h+1]] {
		p := mt.pats[pi]
		if len(buf)-start >= len(p) && string(buf[start:start+len(p)]) == p {
			dst = append(dst, hit{pos: start, pat: pi})
		}
	}
	return dst
}
