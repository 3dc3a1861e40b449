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
	m     int     // shortest pattern length (>= gram)
	shift []uint8 // indexed by gram hash
	// used marks the bytes that occur in some pattern's first m bytes: a
	// window ending in any other byte cannot overlap a match's prefix, so
	// the window moves a full m with one lookup in a table that stays in L1.
	// On binary data that is most windows.
	used [256]bool
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
	mt.shift = make([]uint8, 1<<tableBits)
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
		for j := range mt.m {
			mt.used[p[j]] = true
		}
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
// Each step's next position depends on a table lookup at the last, so one
// cursor leaves the core idle waiting on memory; two cursors, one per half
// of buf, run their chains side by side. A window ending in the first half
// starts before any ending in the second, so the second cursor's hits,
// kept in tail, follow the first's.
func (mt *matcher) find(buf []byte, dst []hit, tail *[]hit) []hit {
	m := mt.m
	if m == 0 || len(buf) < m {
		return dst
	}
	if len(buf) < 2*interleaveMin {
		mt.run(buf, m-1, len(buf), &dst)
		return dst
	}
	mid := (m - 1 + len(buf)) / 2
	i, j := m-1, mid
	t := (*tail)[:0]
	for i < mid && j < len(buf) {
		ni, nj := mt.next(buf, i), mt.next(buf, j)
		if ni == i {
			dst = mt.verify(buf, i, dst)
			ni++
		}
		if nj == j {
			t = mt.verify(buf, j, t)
			nj++
		}
		i, j = ni, nj
	}
	mt.run(buf, i, mid, &dst)
	mt.run(buf, j, len(buf), &t)
	*tail = t[:0]
	return append(dst, t...)
}

// interleaveMin is the half length below which one cursor does.
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
// i itself when the last gram allows no shift.
func (mt *matcher) next(buf []byte, i int) int {
	if !mt.used[buf[i]] {
		return i + mt.m
	}
	return i + int(mt.shift[gramHash(binary.LittleEndian.Uint32(buf[i-gram+1:]))&(1<<tableBits-1)])
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
