package inflate

import "math/bits"

// A decoding table maps the next bits of the stream (read least significant
// bit first, so a Huffman code sits bit-reversed in them) to an entry:
//
//	bits 0-3   code length: bits the entry consumes (a subtable link: the
//	           primary bits, its entries hold the full length)
//	bits 4-7   extra bits that follow the code (lengths and distances)
//	bits 8-10  kind
//	bit  11    a pair of literals (see pairLiterals)
//	bits 16-31 value: the literal, the base length or distance, or the
//	           subtable's offset (its index bits are in the extra field)
//
// Codes longer than the primary bits go through one subtable, sized for the
// longest code under its prefix, so a lookup is one or two loads.
const (
	kindLiteral = iota << 8
	kindCopy    // a length (litlen table) or a distance (dist table)
	kindEnd     // end of block
	kindLink    // to a subtable
	kindBad     // no code, or a symbol the format reserves
	kindMask    = 7 << 8
	pairFlag    = 1 << 11
)

const (
	litBits  = 10
	distBits = 8
	lenBits  = 7 // the code-length code's longest code: no subtables
	maxCode  = 15

	// Table sizes: the primary table plus room for every subtable a
	// complete code can need. A subtable of width w sits under a prefix
	// whose complete subtree is at least w+1 symbols deep, so it costs at
	// most 2^w/(w+1) entries a symbol: 32/6 for 286 literal/length symbols
	// (w <= 5), 128/8 for 30 distances (w <= 7).
	litTable  = 1<<litBits + 286*32/6 + 1
	distTable = 1<<distBits + 30*128/8
)

func entry(kind, extra, value uint32) uint32 { return value<<16 | extra<<4 | kind }

var (
	// litEntries and distEntries are each symbol's entry without its code
	// length (RFC 1951 3.2.5).
	litEntries  [288]uint32
	distEntries [32]uint32
	// Fixed Huffman tables of block type 1 (RFC 1951 3.2.6).
	fixedLit  [litTable]uint32
	fixedDist [distTable]uint32
)

func init() {
	for s := range 256 {
		litEntries[s] = entry(kindLiteral, 0, uint32(s))
	}
	litEntries[256] = entry(kindEnd, 0, 0)
	base, extra := uint32(3), uint32(0)
	for s := 257; s < 285; s++ {
		if s >= 265 && (s-261)%4 == 0 {
			extra++
		}
		litEntries[s] = entry(kindCopy, extra, base)
		base += 1 << extra
	}
	litEntries[285] = entry(kindCopy, 0, 258)
	litEntries[286], litEntries[287] = kindBad, kindBad
	base, extra = 1, 0
	for s := range 30 {
		if s >= 4 && s%2 == 0 {
			extra++
		}
		distEntries[s] = entry(kindCopy, extra, base)
		base += 1 << extra
	}
	distEntries[30], distEntries[31] = kindBad, kindBad

	var lens [288]uint8
	for s := range lens {
		switch {
		case s < 144:
			lens[s] = 8
		case s < 256:
			lens[s] = 9
		case s < 280:
			lens[s] = 7
		default:
			lens[s] = 8
		}
	}
	if !build(fixedLit[:], lens[:], litEntries[:], litBits) {
		panic("inflate: fixed literal/length code does not build")
	}
	for s := range 32 {
		lens[s] = 5
	}
	if !build(fixedDist[:], lens[:32], distEntries[:], distBits) {
		panic("inflate: fixed distance code does not build")
	}
}

// build fills t with the table for the code lengths lens (by symbol), with
// primary bits p and the entries of the symbols in entries. It refuses
// over-subscribed and incomplete codes, as zlib and Go's compress/flate do,
// except a single code of one bit. A code with no symbols builds an all-bad
// table: decoding with it fails.
func build(t []uint32, lens []uint8, entries []uint32, p uint) bool {
	var count [maxCode + 1]int
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	left, total, longestCode := 1, 0, uint(0)
	for l := 1; l <= maxCode; l++ {
		left = left<<1 - count[l]
		if left < 0 {
			return false
		}
		if count[l] > 0 {
			total += count[l]
			longestCode = uint(l)
		}
	}
	if left > 0 && total > 0 && !(total == 1 && count[1] == 1) {
		return false
	}
	var next [maxCode + 2]int
	for l := 1; l <= maxCode; l++ {
		next[l+1] = (next[l] + count[l]) << 1
	}
	primary := t[:1<<p]
	if left > 0 { // a complete code fills every entry
		for i := range primary {
			primary[i] = kindBad
		}
	}
	var codes [288]uint16
	code := next
	for s, l := range lens {
		if l != 0 {
			codes[s] = bits.Reverse16(uint16(code[l])) >> (16 - l)
			code[l]++
		}
	}
	if longestCode > p {
		// Codes longer than p: each prefix gets a subtable as wide as its
		// longest code. The few long codes are visited, not every prefix.
		var longest [1 << litBits]uint8
		for s, l := range lens {
			if uint(l) > p {
				pre := codes[s] & (1<<p - 1)
				longest[pre] = max(longest[pre], l)
			}
		}
		off := 1 << p
		for s, l := range lens {
			if uint(l) <= p {
				continue
			}
			pre := codes[s] & (1<<p - 1)
			if longest[pre] == 0 {
				continue // the prefix has its subtable
			}
			w := uint(longest[pre]) - p
			if off+1<<w > len(t) {
				return false
			}
			primary[pre] = entry(kindLink, uint32(w), uint32(off)) | uint32(p)
			off += 1 << w
			longest[pre] = 0
		}
	}
	for s, l := range lens {
		if l == 0 {
			continue
		}
		r, e := uint(codes[s]), entries[s]|uint32(l)
		if uint(l) <= p {
			for i := r; i < 1<<p; i += 1 << l {
				primary[i] = e
			}
			continue
		}
		link := primary[r&(1<<p-1)]
		sub := t[link>>16 : link>>16+1<<(link>>4&15)]
		for i := r >> p; i < uint(len(sub)); i += 1 << (uint(l) - p) {
			sub[i] = e
		}
	}
	return true
}

// pairLiterals makes each primary entry of the literal/length table t
// whose literal's code leaves room in the primary bits for a whole second
// literal code an entry for both: bits 0-3 the two codes' length, bits 4-7
// the first's, the literals in bits 16-23 and 24-31. Text is mostly
// literals of short codes, and a pair costs one lookup instead of two.
func pairLiterals(t []uint32) {
	t = t[:1<<litBits]
	for i, e := range t {
		// The entry for the bits after the first code, whatever the bits
		// beyond the primary ones: its code is no longer than what is left.
		// (Any entry's low bits are a shift that keeps the index in t.)
		n := e & 15
		e2 := t[uint32(i)>>n&(1<<litBits-1)]
		n2 := e2 & 15
		if e2&pairFlag != 0 {
			n2 = e2 >> 4 & 15
		}
		// One test of all three conditions, as a conditional move: which
		// entries pair is unpredictable.
		unfit := e&(kindMask|pairFlag) | e2&kindMask | uint32(int32(litBits-n-n2)>>31)
		pair := e&0xff0000 | e2>>16&0xff<<24 | kindLiteral | pairFlag | n<<4 | (n + n2)
		fit := -uint32((uint64(unfit) - 1) >> 63)
		t[i] = e ^ (e^pair)&fit
	}
}
