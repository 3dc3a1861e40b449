package leak

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"

	"telltale.dev/harness/leak/bytemask"
)

// The shift-table matcher must report exactly what a naive search over every
// pattern finds, including overlapping and nested occurrences.
func TestMatcherAgreesWithNaiveSearch(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const alphabet = "abcd/:."
	rnd := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}
	for round := range 200 {
		var pats []string
		for range 1 + r.IntN(30) {
			pats = append(pats, rnd(gram+r.IntN(12)))
		}
		pats = append(pats, pats[0]+"ab", pats[0][:gram]) // a pattern inside another
		// Bytes no pattern has exercise the one-lookup skip.
		text := []byte(rnd(50 + r.IntN(4000))) // one cursor below 8*interleaveMin, eight above
		for i := range text {
			if r.IntN(3) == 0 {
				text[i] = "XYZ\x00\xff"[r.IntN(5)]
			}
		}
		for range 1 + len(text)/100 { // plant some
			p := pats[r.IntN(len(pats))]
			at := r.IntN(len(text) - len(p))
			copy(text[at:], p)
		}
		var want []hit
		for pos := range text {
			for pi, p := range pats {
				if bytes.HasPrefix(text[pos:], []byte(p)) {
					want = append(want, hit{pos: pos, pat: int32(pi)})
				}
			}
		}
		var tail tails
		got := newMatcher(pats).find(text, nil, &tail)
		cmp := func(a, b hit) int {
			if a.pos != b.pos {
				return a.pos - b.pos
			}
			return int(a.pat - b.pat)
		}
		if !slices.IsSortedFunc(got, func(a, b hit) int { return a.pos - b.pos }) {
			t.Fatalf("round %d: hits out of order", round)
		}
		slices.SortFunc(got, cmp) // patterns at one position come in bucket order
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: got %d hits, want %d", round, len(got), len(want))
		}
	}
}

// eachRun must report exactly the maximal runs of base64 characters of at
// least minRun, as a plain left-to-right count would; the byte masks, from
// the end of each, their starts, whatever alphabets they mix.
func TestEachRunAgreesWithCounting(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const alphabet = "aZ09+/-_ .\"=\x00"
	for round := range 500 {
		b := make([]byte, r.IntN(300))
		for i := range b {
			if r.IntN(4) == 0 {
				b[i] = alphabet[r.IntN(len(alphabet))]
			} else {
				b[i] = "abcXYZ129"[r.IntN(9)]
			}
		}
		type run struct{ a, e int }
		var want, got []run
		var wantLong []int // every long run, mixed alphabets too
		for i := 0; i < len(b); {
			if runClass[b[i]] == 0 {
				i++
				continue
			}
			j := i
			all := uint8(0)
			for j < len(b) && runClass[b[j]] != 0 {
				all |= runClass[b[j]]
				j++
			}
			if j-i >= minRun {
				wantLong = append(wantLong, i)
				if all&(clsStd|clsURL) != clsStd|clsURL {
					want = append(want, run{i, j})
				}
			}
			i = j
		}
		if len(b) >= minRun {
			eachRun(b, minRun, func(a, e int, _, _ bool) { got = append(got, run{a, e}) })
			if !slices.Equal(got, want) {
				t.Fatalf("round %d %q: got %v want %v", round, b, got, want)
			}
		}
		// From the byte masks: the run starts, one after another.
		b64, special := make([]uint64, bytemask.Words(len(b))), make([]uint64, bytemask.Words(len(b)))
		bytemask.Masks(b, b64, special, make([]uint64, bytemask.Words(len(b))))
		clear(special)
		var gotLong []int
		m := byteMasks{b64: b64, special: special, w: -1}
		for p := m.nextCandidate(0); p >= 0; p = m.nextCandidate(runEnd(b64, p)) {
			gotLong = append(gotLong, p)
		}
		if !slices.Equal(gotLong, wantLong) {
			t.Fatalf("round %d %q: long runs at %v, want %v", round, b, gotLong, wantLong)
		}
	}
}
