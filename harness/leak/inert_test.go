package leak

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"telltale.dev/harness/leak/bytemask"
)

// inertPieces build JSON strings like telemetry's, and the escapes, runs and
// bytes that make a string need more than a look.
var inertPieces = []string{
	"https:", `\/`, `\/`, "www.", ".com", `\u0026`, `\u003c`, `\u003e`, `\u003d`, `\u0022`, `\\`, `\"`, `\n`,
	"=", "?", "&", "/", "-", "_", "%2F", "%", "+", " ", "{", "[", "\n", "\x01", "\x1f",
	"utm_source", "sid", "kalomi", "nerutavo", "12345678",
	"5d156067a44360ec", "a1b2c3d4e5f60718a1b2c3d4e5f60718", "78da", "1f8b",
	"QUJDREVGR0hJSktMTU5PUA", "eyJhIjoiYiJ9", "CgRoZWxsbw", "SGVsbG8tV29ybGRfISE",
}

// plainPieces make strings maskInert settles.
var plainPieces = []string{"https:", `\/`, "www.", ".com", `\u0026`, "?", "=", "utm_source", "kalomi", "-",
	"5d156067a44360ec", "a1b2c3d4e5f60718a1b2c3d4e5f60718", "SGVsbG8tV29ybGRfISE"}

// maskInert, when it settles a string, says what inert says, and leaves the
// budget as inert does.
func TestMaskInertAgreesWithInert(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, cs := range [][]int{nil, {0, 1}} { // with and without whole-value canaries
		canaries := testCanaries
		if cs == nil {
			canaries = canaries[:len(canaries)-1]
		}
		d := New(canaries, WithMaxDepth(6))
		s := newScanner(&d.cfg)
		s.begin(d.t, &Report{})
		f := saFlow(1)
		settled := 0
		for round := range 20000 {
			var sb strings.Builder
			for range r.IntN(14) {
				if r.IntN(4) == 0 {
					sb.WriteString(inertPieces[r.IntN(len(inertPieces))])
				} else {
					sb.WriteString(plainPieces[r.IntN(len(plainPieces))])
				}
			}
			str := strings.ReplaceAll(sb.String(), `"`, "")
			if strings.HasSuffix(str, `\`) && !strings.HasSuffix(str, `\\`) {
				str += "/"
			}
			pad := strings.Repeat("x", r.IntN(70))
			b := []byte(`{"k":"` + pad + `","v":"` + str + `"}`)
			a := len(b) - len(str) - 2
			e, esc := stringEnd(b, a)
			if e != len(b)-2 {
				continue // the pieces closed the string early
			}
			words := bytemask.Words(len(b))
			b64, special := make([]uint64, words), make([]uint64, words)
			bytemask.Masks(b, b64, special, make([]uint64, words))
			depth := r.IntN(6)
			s.startRequest(&f, 0)
			s.budget = []int{1 << 20, 40, 10}[r.IntN(3)]
			start, mark := s.budget, len(s.arena)
			got, known := s.maskInert(b, a, e, esc, depth, b64, special)
			gotBudget := s.budget
			if !known {
				if s.budget != start || len(s.arena) != mark {
					t.Fatalf("round %d %q: unsettled, yet the budget went %d -> %d", round, str, start, s.budget)
				}
				continue
			}
			settled++
			s.budget = start
			want := s.inert(b[a:e], esc, depth)
			if got != want || gotBudget != s.budget || len(s.arena) != mark {
				t.Fatalf("round %d %q depth %d: maskInert %v (budget %d), inert %v (budget %d)", round, str, depth, got, gotBudget, want, s.budget)
			}
		}
		if settled < 2000 {
			t.Errorf("maskInert settled only %d strings", settled)
		}
	}
}

// What inert passes, walk passes quietly: it reports nothing, reaches no
// bound and spends what inert charged.
func TestInertStringsWalkQuietly(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	v := byID("folder1").Value
	pieces := append(slices.Clone(inertPieces), v[:len(v)/2], v[len(v)/2:], string(b64([]byte(v))),
		hex.EncodeToString([]byte(v)), string(b64(gz([]byte(v)))), string(b64(zl([]byte(v)))), "%3D", byID("level1").Value)
	d := New(testCanaries, WithMaxDepth(6))
	s := newScanner(&d.cfg)
	s.begin(d.t, &Report{})
	f := saFlow(1)
	passed := 0
	for round := range 20000 {
		var sb strings.Builder
		for range 1 + r.IntN(6) {
			sb.WriteString(pieces[r.IntN(len(pieces))])
		}
		str := []byte(sb.String())
		if len(d.t.mt.find(str, nil, &s.tail)) > 0 {
			continue // inert is asked only about strings the matcher passed
		}
		esc := bytes.IndexByte(str, '\\') >= 0
		depth, budget := r.IntN(6), []int{1 << 20, 60, 20}[r.IntN(3)]
		s.startRequest(&f, 0)
		s.budget = budget
		if !s.inert(str, esc, depth) {
			continue
		}
		passed++
		spent := budget - s.budget
		s.startRequest(&f, 0)
		s.budget = budget
		noted := s.noted
		n := node{buf: str}
		s.walkString(&n, 0, len(str), esc, nil, depth)
		if s.noted != noted || budget-s.budget != spent {
			t.Fatalf("round %d %q depth %d: inert charged %d, the walk noted %d and spent %d",
				round, str, depth, spent, s.noted-noted, budget-s.budget)
		}
	}
	if passed < 1000 {
		t.Errorf("inert passed only %d strings", passed)
	}
}
