package bytemask

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// naive marks the bytes one at a time from the class strings.
func naive(b []byte) (b64, special, quote []uint64) {
	b64, special, quote = make([]uint64, Words(len(b))), make([]uint64, Words(len(b))), make([]uint64, Words(len(b)))
	for i, c := range b {
		if c == '"' {
			quote[i/64] |= 1 << (i % 64)
		}
		if strings.IndexByte(Base64Chars, c) >= 0 {
			b64[i/64] |= 1 << (i % 64)
		}
		if strings.IndexByte(Special, c) >= 0 {
			special[i/64] |= 1 << (i % 64)
		}
	}
	return b64, special, quote
}

func TestMasksMatchEveryByte(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	all := make([]byte, 256*3)
	for i := range all {
		all[i] = byte(i)
	}
	inputs := [][]byte{nil, {'a'}, all, all[:63], all[:64], all[:65], all[1:200]}
	for range 300 {
		b := make([]byte, r.IntN(1000))
		for i := range b {
			if r.IntN(2) == 0 {
				b[i] = (Base64Chars + Special + `"`)[r.IntN(len(Base64Chars)+len(Special)+1)]
			} else {
				b[i] = byte(r.Uint32())
			}
		}
		inputs = append(inputs, b)
	}
	for _, b := range inputs {
		wb, ws, wq := naive(b)
		gb, gs, gq := make([]uint64, Words(len(b))), make([]uint64, Words(len(b))), make([]uint64, Words(len(b)))
		for i := range gb { // stale words must be overwritten
			gb[i], gs[i], gq[i] = ^uint64(0), ^uint64(0), ^uint64(0)
		}
		Masks(b, gb, gs, gq)
		for w := range wb {
			if gb[w] != wb[w] || gs[w] != ws[w] || gq[w] != wq[w] {
				t.Fatalf("len %d word %d: base64 %064b special %064b quote %064b, want %064b %064b %064b",
					len(b), w, gb[w], gs[w], gq[w], wb[w], ws[w], wq[w])
			}
			// The portable path, on every word.
			fb, fs, fq := block(b[w*64 : min(len(b), w*64+64)])
			if fb != wb[w] || fs != ws[w] || fq != wq[w] {
				t.Fatalf("len %d word %d: portable path differs", len(b), w)
			}
		}
	}
	if !hasAVX2 {
		t.Log("no AVX2 here: only the portable path ran")
	}
}

func BenchmarkMasks(b *testing.B) {
	buf := []byte(strings.Repeat(`{"$device_id":"a1b2c3d4e5f60718","url":"https:\/\/www.example.com\/a?b=c"},`, 1000))
	m1, m2, m3 := make([]uint64, Words(len(buf))), make([]uint64, Words(len(buf))), make([]uint64, Words(len(buf)))
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		Masks(buf, m1, m2, m3)
	}
}
