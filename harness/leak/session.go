package leak

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"

	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/capture"
)

// Session finds canaries in one device session's flows as they arrive.
//
// Plant records canaries at the point of the flow log where their action
// starts (its start mark). Add decodes each flow once, when it arrives, and
// checks it for every canary planted before it. Findings are kept, so "has
// canary X leaked yet?" (Report with Query.Canaries) and "what leaked after
// seq N?" (Query.After) cost the findings, never a re-decode, and adding a
// flow costs the same however long the log already is.
//
// Attribution is by canary, not by clock: a canary is unique to the action
// that planted it, so a finding belongs to that action whenever it arrives.
// A Finding carries the canary id and the flow's seq and time; Places groups
// findings per place (canary, host, part of the request, chain) with the
// delay since the planting, which is what a report needs to flag a leak that
// came after its action's window.
//
// Keys handed out by key exchanges (OneTrack) carry forward to later flows.
// An encrypted body no key opens yet is kept (the 64 most recent, 8 MB at
// most) and opened, as part of its own request, when its key arrives.
//
// A Session is safe for concurrent use.
type Session struct {
	mu  sync.Mutex
	cfg config
	sc  *scanner

	canaries  []canary.Canary
	compiled  []compiled // per canary
	plantings []Planting // per canary
	byID      map[string]int
	t         *table // nil after a Plant, until the next Add builds it

	keys         [][]Key
	pending      []pendingBody
	pendingBytes int

	seqs   []int64 // the seq of each request, in the order added
	sorted bool    // seqs never went down
	found  map[string][]Finding
	capped []Capped
	out    Report // the scanner's output for one Add
}

// Bounds on the bodies kept until a key opens them. A key exchange comes
// moments before the uploads that use it, so only recent bodies matter.
const (
	maxPending      = 64
	maxPendingBytes = 8 << 20
)

type pendingBody struct {
	f     capture.Flow
	entry int
}

// ErrPlantedLate is wrapped by Plant when flows after the planting were
// already added: they were not checked for the new canaries.
var ErrPlantedLate = errors.New("canaries planted after flows that follow their planting were added")

// NewSession starts a session with no canaries planted.
func NewSession(opts ...Option) *Session {
	s := &Session{cfg: newConfig(opts), byID: map[string]int{}, found: map[string][]Finding{}, sorted: true}
	s.sc = newScanner(&s.cfg)
	s.keys = make([][]Key, len(s.cfg.decoders))
	return s
}

// Plant records canaries planted at p: requests with a seq after p.Seq are
// checked for them. Use the action's start mark for p (seq and time both
// from the proxy), and plant before adding the flows that follow it; the
// zero Planting plants before every flow, as a whole capture needs (its
// readers may number entries from 0). A
// canary planted again with the same value is left where it was. Plant
// fails for a canary without an id or a value, or with an id planted before
// with another value. When requests after p.Seq were already added, the
// canaries are planted for the requests still to come and the error wraps
// ErrPlantedLate.
func (s *Session) Plant(p Planting, cs ...canary.Canary) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cs {
		if c.ID == "" || c.Value == "" {
			return fmt.Errorf("plant canary %q = %q: a canary needs an id and a value", c.ID, c.Value)
		}
		if i, ok := s.byID[c.ID]; ok && s.canaries[i].Value != c.Value {
			return fmt.Errorf("plant canary %s = %q: already planted with the value %q; give each canary its own id",
				c.ID, c.Value, s.canaries[i].Value)
		}
	}
	for _, c := range cs {
		if _, ok := s.byID[c.ID]; ok {
			continue
		}
		s.byID[c.ID] = len(s.canaries)
		s.canaries = append(s.canaries, c)
		s.compiled = append(s.compiled, compile(c))
		s.plantings = append(s.plantings, p)
		s.t = nil
	}
	if n := s.requestsAfter(effectiveSeq(p)); n > 0 {
		return fmt.Errorf("plant at seq %d: %d request(s) after it were added before it and are not checked for %s: %w",
			p.Seq, n, ids(cs), ErrPlantedLate)
	}
	return nil
}

func ids(cs []canary.Canary) string {
	var b strings.Builder
	for i, c := range cs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.ID)
	}
	return b.String()
}

// effectiveSeq is the seq a planting checks flows after: the zero Planting
// is before every flow.
func effectiveSeq(p Planting) int64 {
	if p == (Planting{}) {
		return minSeq
	}
	return p.Seq
}

// requestsAfter counts the requests added with a seq after seq.
func (s *Session) requestsAfter(seq int64) int {
	if s.sorted {
		return len(s.seqs) - sort.Search(len(s.seqs), func(i int) bool { return s.seqs[i] > seq })
	}
	n := 0
	for _, q := range s.seqs {
		if q > seq {
			n++
		}
	}
	return n
}

// table returns the compiled canaries, building them after a Plant.
func (s *Session) table() *table {
	if s.t == nil {
		planted := make([]int64, len(s.plantings))
		for i, p := range s.plantings {
			planted[i] = effectiveSeq(p)
		}
		s.t = newTable(slices.Clone(s.canaries), planted, s.compiled)
	}
	return s.t
}

// Add decodes flows and checks each request for every canary planted before
// it. Marks and TLS failures are not requests. Add flows in seq order, as
// the proxy's log has them: a finding's Entry is its request's place among
// the requests added, and Query's seq bounds rely on the order. Add returns
// the findings its flows made (and those of earlier bodies a key in them
// opened). A body that may wait for a key is kept until the key comes or
// newer bodies push it out; do not modify it meanwhile.
func (s *Session) Add(flows ...capture.Flow) []Finding {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.table()
	s.out.Findings, s.out.Capped = s.out.Findings[:0], s.out.Capped[:0]
	s.sc.begin(t, &s.out)
	defer s.sc.end()
	first := int64(math.MaxInt64) // no request at or before this seq is checked for anything
	for _, p := range t.planted {
		first = min(first, p)
	}
	for i := range flows {
		f := &flows[i]
		if learn(s.cfg.decoders, f, s.keys) {
			s.retryPending()
		}
		if !isRequest(f) {
			continue
		}
		entry := len(s.seqs)
		if entry > 0 && f.Seq < s.seqs[entry-1] {
			s.sorted = false
		}
		s.seqs = append(s.seqs, f.Seq)
		if f.Seq <= first {
			continue // nothing was planted before it
		}
		if !s.sc.scanRequest(f, entry, s.keys) && len(s.cfg.decoders) > 0 && hasControl(f.Request.Body) {
			s.keep(*f, entry)
		}
	}
	for _, f := range s.out.Findings {
		fs := s.found[f.Canary]
		at := len(fs)
		for at > 0 && fs[at-1].Entry > f.Entry { // a body opened late
			at--
		}
		s.found[f.Canary] = slices.Insert(fs, at, f)
	}
	for _, c := range s.out.Capped {
		at := len(s.capped)
		for at > 0 && s.capped[at-1].Entry > c.Entry {
			at--
		}
		s.capped = slices.Insert(s.capped, at, c)
	}
	return slices.Clone(s.out.Findings)
}

// keep holds a body no key opened yet, dropping the oldest beyond the bounds.
func (s *Session) keep(f capture.Flow, entry int) {
	if len(f.Request.Body) > maxPendingBytes {
		return
	}
	s.pending = append(s.pending, pendingBody{f: f, entry: entry})
	s.pendingBytes += len(f.Request.Body)
	drop := 0
	for len(s.pending)-drop > maxPending || s.pendingBytes > maxPendingBytes {
		s.pendingBytes -= len(s.pending[drop].f.Request.Body)
		drop++
	}
	if drop > 0 {
		clear(s.pending[:drop])
		s.pending = slices.Delete(s.pending, 0, drop)
	}
}

// retryPending opens the kept bodies a newly learned key opens.
func (s *Session) retryPending() {
	s.pending = slices.DeleteFunc(s.pending, func(p pendingBody) bool {
		for j, k := range s.cfg.decoders {
			if plain, ok := k.Open(&p.f, s.keys[j]); ok {
				s.sc.rescanOpened(&p.f, p.entry, k.Name(), plain)
				s.pendingBytes -= len(p.f.Request.Body)
				return true
			}
		}
		return false
	})
}

// Report returns the findings q selects, in the order of their requests,
// with the number of requests and the bounds reached in q's seq range. When
// flows were added in seq order, entries number the requests of the range
// from 0, as a Detector's Scan of the range alone would.
func (s *Session) Report(q Query) Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	rep := Report{Findings: []Finding{}, Capped: []Capped{}}
	lo, hi := s.entryRange(q)
	rep.Entries = hi - lo
	in := func(entry int, seq int64) bool {
		if s.sorted {
			return entry >= lo && entry < hi
		}
		return (q.After == 0 || seq > q.After) && (q.Before == 0 || seq < q.Before)
	}
	want := q.Canaries
	if len(want) == 0 {
		for _, c := range s.canaries {
			want = append(want, c.ID)
		}
	}
	for _, id := range want {
		fs := s.found[id]
		from := 0
		if s.sorted {
			from = sort.Search(len(fs), func(i int) bool { return fs[i].Entry >= lo })
		}
		for _, f := range fs[from:] {
			if s.sorted && f.Entry >= hi {
				break
			}
			if in(f.Entry, f.Seq) {
				f.Entry -= lo
				rep.Findings = append(rep.Findings, f)
			}
		}
	}
	slices.SortStableFunc(rep.Findings, func(a, b Finding) int { return a.Entry - b.Entry })
	for _, c := range s.capped {
		if in(c.Entry, s.seqs[c.Entry]) {
			c.Entry -= lo
			rep.Capped = append(rep.Capped, c)
		}
	}
	return rep
}

// entryRange is the entries [lo, hi) of q's seq range; with flows added out
// of seq order it counts them and numbers from 0 (lo is 0).
func (s *Session) entryRange(q Query) (lo, hi int) {
	if !s.sorted {
		n := 0
		for _, seq := range s.seqs {
			if (q.After == 0 || seq > q.After) && (q.Before == 0 || seq < q.Before) {
				n++
			}
		}
		return 0, n
	}
	hi = len(s.seqs)
	if q.After != 0 {
		lo = sort.Search(len(s.seqs), func(i int) bool { return s.seqs[i] > q.After })
	}
	if q.Before != 0 {
		hi = sort.Search(len(s.seqs), func(i int) bool { return s.seqs[i] >= q.Before })
	}
	return lo, max(hi, lo)
}

// Places groups the findings q selects by place: one Place per canary, host,
// part of the request and chain, in the order of their first request.
func (s *Session) Places(q Query) []Place {
	rep := s.Report(q)
	s.mu.Lock()
	defer s.mu.Unlock()
	places := []Place{}
	at := map[string]int{}
	for _, f := range rep.Findings {
		key := f.Canary + "\x00" + f.Host + "\x00" + f.Where + "\x00" + strings.Join(f.Chain, "\x00")
		if i, ok := at[key]; ok {
			p := &places[i]
			p.Requests++
			p.LastSeq = max(p.LastSeq, f.Seq)
			continue
		}
		at[key] = len(places)
		p := Place{Finding: f, Requests: 1, LastSeq: f.Seq, Planted: s.plantings[s.byID[f.Canary]]}
		if !p.Planted.Time.IsZero() && !f.Time.IsZero() {
			p.Delay = f.Time.Sub(p.Planted.Time)
		}
		places = append(places, p)
	}
	return places
}
