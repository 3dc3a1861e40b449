// Package bytemask marks, 64 bytes to a word, which bytes of a buffer are
// base64 characters, which are bytes where a text encoding may start and
// which are quotes, so that a walker finds base64 and hex runs, escapes and
// the JSON strings around them with bit operations instead of a branch per
// byte. On amd64 with AVX2 a word costs a few
// instructions.
package bytemask

// The classes marked: the characters of either base64 alphabet (which
// include hex digits), and the bytes that start an escape or mark an
// encoded form value.
const (
	Base64Chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+/-_"
	Special     = `\%+=`
)

// table has bit 0 for a base64 character, bit 1 for a special byte and
// bit 2 for a quote.
var table = func() (t [256]uint8) {
	for _, c := range []byte(Base64Chars) {
		t[c] |= 1
	}
	for _, c := range []byte(Special) {
		t[c] |= 2
	}
	t['"'] |= 4
	return t
}()

// Words is the number of mask words a buffer of n bytes needs.
func Words(n int) int { return (n + 63) / 64 }

// Masks sets bit i%64 of b64[i/64] when b[i] is a base64 character, of
// special[i/64] when it is one of Special and of quote[i/64] when it is '"';
// bits past the end of b are clear. The slices must hold Words(len(b))
// words.
func Masks(b []byte, b64, special, quote []uint64) {
	n := Words(len(b))
	b64, special, quote = b64[:n], special[:n], quote[:n]
	full := len(b) / 64
	if full > 0 && hasAVX2 {
		masksAVX2(&b[0], full, &b64[0], &special[0], &quote[0])
	} else {
		full = 0
	}
	for w := full; w < n; w++ {
		b64[w], special[w], quote[w] = block(b[w*64 : min(len(b), w*64+64)])
	}
}

// block computes one word's masks byte by byte.
func block(b []byte) (b64, special, quote uint64) {
	for i, c := range b {
		t := uint64(table[c])
		b64 |= (t & 1) << i
		special |= (t >> 1 & 1) << i
		quote |= (t >> 2) << i
	}
	return b64, special, quote
}
