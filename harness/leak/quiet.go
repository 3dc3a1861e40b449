package leak

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
)

// quiet remembers, per request, JSON strings whose walk reported nothing and
// hit no bound, so an identical string at the same depth is not walked again:
// telemetry batches repeat the same device, user and session ids in every
// event. The walk of a string depends only on its bytes, its depth and the
// budget, so skipping a repeat cannot lose a finding; a repeat that the
// remaining budget could no longer pay for is walked, so it notes the bound.
//
// The table is direct-mapped: a string evicts the one in its slot, which
// keeps lookups at one probe and forgets strings that stopped repeating.
type quiet struct {
	seed    maphash.Seed
	salt    uint64 // keys strings of 8 to 16 bytes, the ids a batch repeats
	entries *[quietSlots]quietEntry
	// gen tells this request's entries from stale ones, so starting a
	// request does not clear the table.
	gen uint32
	// slab holds the remembered strings, so a hash match is confirmed byte
	// for byte and a collision costs a walk, never a miss.
	slab []byte
}

type quietEntry struct {
	key    uint64
	gen    uint32
	depth  int32
	off, n int32
	spent  int
}

// Strings longer than quietMax rarely repeat; slab use per request is bounded.
const (
	quietSlots = 1 << 10
	quietMax   = 512
	quietSlab  = 1 << 20
)

func (q *quiet) reset() {
	if q.entries == nil {
		q.seed = maphash.MakeSeed()
		q.salt = maphash.Bytes(q.seed, nil)
		q.entries = new([quietSlots]quietEntry)
	}
	if q.gen++; q.gen == 0 { // wrapped: old entries would look current
		*q.entries = [quietSlots]quietEntry{}
		q.gen = 1
	}
	q.slab = q.slab[:0]
}

// key hashes str. Ids of 8 to 16 bytes, most of what repeats, are mixed
// from two words inline; a collision costs a walk, never a miss (see slab).
func (q *quiet) key(str []byte) uint64 {
	if n := len(str); n >= 8 && n <= 16 {
		h := (binary.LittleEndian.Uint64(str) ^ q.salt) * 0x9e3779b97f4a7c15
		h = (h ^ binary.LittleEndian.Uint64(str[n-8:]) ^ uint64(n)) * 0xc2b2ae3d27d4eb4f
		return h ^ h>>29
	}
	return maphash.Bytes(q.seed, str)
}

// skip says whether str was already walked at depth without a report, and
// the budget still covers what that walk decoded.
func (q *quiet) skip(k uint64, str []byte, depth, budget int) bool {
	e := &q.entries[k%quietSlots]
	return e.gen == q.gen && e.key == k && int(e.depth) == depth && e.spent <= budget &&
		bytes.Equal(q.slab[e.off:e.off+e.n], str)
}

func (q *quiet) remember(k uint64, str []byte, depth, spent int) {
	if len(q.slab)+len(str) > quietSlab {
		return
	}
	q.entries[k%quietSlots] = quietEntry{key: k, gen: q.gen, depth: int32(depth), off: int32(len(q.slab)), n: int32(len(str)), spent: spent}
	q.slab = append(q.slab, str...)
}
