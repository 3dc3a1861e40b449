package leak

import (
	"encoding/binary"
	"slices"
)

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
		mt.start[last[pi]+1]++
	}
	for h := 1; h < len(mt.start); h++ {
		mt.start[h] += mt.start[h-1]
	}
	mt.bucket = make([]int32, len(pats))
	fill := slices.Clone(mt.start)
	for pi, h := range last {
		mt.bucket[fill[h]] = int32(pi)
		fill[h]++
	}
	return mt
}

// hit is one pattern occurrence.
type hit struct {
	pos int
	pat int32
}

// find appends every occurrence in buf to dst, in order of position.
func (mt *matcher) find(buf []byte, dst []hit) []hit {
	m := mt.m
	if m == 0 || len(buf) < m {
		return dst
	}
	shift := mt.shift[:1<<tableBits]
	for i := m - 1; i < len(buf); {
		if !mt.used[buf[i]] {
			i += m
			continue
		}
		h := gramHash(binary.LittleEndian.Uint32(buf[i-gram+1:]))
		if s := shift[h]; s != 0 {
			i += int(s)
			continue
		}
		start := i - m + 1
		for _, pi := range mt.bucket[mt.start[h]:mt.start[h+1]] {
			p := mt.pats[pi]
			if len(buf)-start >= len(p) && string(buf[start:start+len(p)]) == p {
				dst = append(dst, hit{pos: start, pat: pi})
			}
		}
		i++
	}
	return dst
}
