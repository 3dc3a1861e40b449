package leak

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/capture"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// at stamps a flow with its seq and a time seq seconds after t0.
func at(seq int64, f capture.Flow) capture.Flow {
	f.Seq, f.Start = seq, t0.Add(time.Duration(seq)*time.Second)
	return f
}

func mark(seq int64, name string) capture.Flow {
	return at(seq, capture.Flow{Kind: capture.KindMark, Mark: name})
}

func planting(seq int64) Planting {
	return Planting{Seq: seq, Time: t0.Add(time.Duration(seq) * time.Second)}
}

func visit(seq int64, urls ...string) capture.Flow {
	var evs []map[string]any
	for _, u := range urls {
		evs = append(evs, saEvent("browser_visit", map[string]any{"url": u}))
	}
	return at(seq, saFlow(seq, evs...))
}

func seqsOf(fs []Finding) []int64 {
	var out []int64
	for _, f := range fs {
		out = append(out, f.Seq)
	}
	return out
}

// A canary is checked only in flows after its planting, in every later flow
// whatever window it falls in, and queries answer from the kept findings.
func TestSessionChecksFlowsAfterPlanting(t *testing.T) {
	u, pkg := byID("url1"), byID("pkg1")
	s := NewSession()
	// Before any planting nothing is checked: these are the idle baseline.
	if got := s.Add(mark(1, "start:idle"), visit(2, u.Value), mark(3, "end:idle")); len(got) != 0 {
		t.Fatalf("flows before the planting were checked: %v", got)
	}
	if err := s.Plant(planting(4), u); err != nil {
		t.Fatal(err)
	}
	got := s.Add(mark(4, "start:browse"), visit(5, "https://a.test/"), visit(6, u.Value), mark(7, "end:browse"))
	if !slices.Equal(seqsOf(got), []int64{6}) || got[0].Canary != "url1" || !got[0].Time.Equal(t0.Add(6*time.Second)) {
		t.Fatalf("window findings: %+v", got)
	}
	if err := s.Plant(planting(8), pkg); err != nil {
		t.Fatal(err)
	}
	// The URL arrives again long after its window (a batch retried), with
	// the new canary in the same request.
	s.Add(mark(8, "start:install"), visit(9, pkg.Value), mark(10, "end:install"), visit(11, u.Value, pkg.Value))

	if got := seqsOf(s.Report(Query{Canaries: []string{"url1"}}).Findings); !slices.Equal(got, []int64{6, 11}) {
		t.Errorf("url1 found in seqs %v, want [6 11]", got)
	}
	if got := seqsOf(s.Report(Query{Canaries: []string{"pkg1"}}).Findings); !slices.Equal(got, []int64{9, 11}) {
		t.Errorf("pkg1 found in seqs %v, want [9 11]", got)
	}
	// Since the install window ended: only the late flow.
	late := s.Report(Query{After: 10})
	if got := seqsOf(late.Findings); !slices.Equal(got, []int64{11, 11}) || late.Entries != 1 || late.Findings[0].Entry != 0 {
		t.Errorf("after seq 10: entries %d, findings %+v", late.Entries, late.Findings)
	}
	// The browse window alone, entries numbered within it as Scan would.
	win := s.Report(Query{After: 4, Before: 7})
	want := New([]canary.Canary{u, pkg}).Scan([]capture.Flow{visit(5, "https://a.test/"), visit(6, u.Value)})
	if win.Entries != want.Entries || len(win.Findings) != 1 || win.Findings[0].Entry != want.Findings[0].Entry ||
		chainString(win.Findings[0].Chain) != chainString(want.Findings[0].Chain) {
		t.Errorf("window report %+v, a scan of the window alone gives %+v", win, want)
	}
	if all := s.Report(Query{}); all.Entries != 5 || len(all.Findings) != 4 {
		t.Errorf("everything: %d entries, %d findings", all.Entries, len(all.Findings))
	}
	// A flow the proxy logged before a planting is not checked for it, even
	// when it is read after the planting.
	folder := byID("folder1")
	if err := s.Plant(planting(30), folder); err != nil {
		t.Fatal(err)
	}
	if got := s.Add(visit(25, folder.Value, u.Value), visit(31, folder.Value)); !slices.Equal(seqsOf(got), []int64{25, 31}) ||
		got[0].Canary != "url1" || got[1].Canary != "folder1" {
		t.Errorf("flows around the planting at 30: %+v", got)
	}
}

// A canary is one Place per host, part and chain: a retried batch counts as
// a second request there, a different part of a request is another place,
// and the delay runs from the planting to the first request.
func TestSessionPlaces(t *testing.T) {
	folder := byID("folder1")
	s := NewSession()
	if err := s.Plant(planting(10), folder); err != nil {
		t.Fatal(err)
	}
	batch := func(seq int64) capture.Flow {
		return at(seq, saFlow(seq, saEvent("folder_create", map[string]any{"folder": folder.Value})))
	}
	s.Add(batch(12), batch(40), // the SDK retried the batch
		at(41, post(41, "https://api.sec.intl.miui.com/scan?f="+folder.Value, nil, nil)))
	places := s.Places(Query{Canaries: []string{"folder1"}})
	if len(places) != 2 {
		t.Fatalf("places %+v, want the SA batch and the security query", places)
	}
	sa, sec := places[0], places[1]
	if sa.Host != "sa.api.intl.miui.com" || sa.Seq != 12 || sa.Requests != 2 || sa.LastSeq != 40 ||
		sa.Delay != 2*time.Second || sa.Planted.Seq != 10 {
		t.Errorf("SA place %+v", sa)
	}
	if sec.Host != "api.sec.intl.miui.com" || sec.Where != "query:f" || sec.Requests != 1 || sec.Delay != 31*time.Second {
		t.Errorf("security place %+v", sec)
	}
	if got := s.Places(Query{Before: 40}); len(got) != 1 || got[0].Requests != 1 {
		t.Errorf("places before seq 40: %+v", got)
	}
}

// Keys learned in one Add open uploads in later ones; an upload that came
// before its key is opened when the key arrives, as part of its own request.
func TestSessionKeysCarryForward(t *testing.T) {
	pkg, ssid := byID("pkg1"), byID("ssid1")
	key := []byte("0123456789abcdef")
	b64key := base64.StdEncoding.EncodeToString(key)
	first := oneTrack(2, key, "s1", b64key, otEvent("app_open", map[string]any{"package": pkg.Value}))
	second := oneTrack(20, key, "s1", b64key, otEvent("wifi", map[string]any{"ssid": ssid.Value}))

	s := NewSession()
	if err := s.Plant(planting(1), pkg, ssid); err != nil {
		t.Fatal(err)
	}
	s.Add(at(2, first[0]))                         // the key exchange alone
	got := s.Add(at(3, first[1]))                  // its upload, one Add later
	got = append(got, s.Add(at(21, second[1]))...) // a later upload on the same key
	ot := "body: onetrack-aes > gzip > json:"
	if len(got) != 2 || findingsFor(Report{Findings: got}, "pkg1")[0] != ot+"$[0].package" ||
		findingsFor(Report{Findings: got}, "ssid1")[0] != ot+"$[0].ssid" {
		t.Fatalf("uploads after the key: %+v", got)
	}

	// Re-keyed: the upload on the new sid comes before its key exchange.
	key2 := []byte("fedcba9876543210")
	rekey := oneTrack(30, key2, "s2", base64.StdEncoding.EncodeToString(key2), otEvent("wifi", map[string]any{"ssid": ssid.Value}))
	if got := s.Add(at(31, rekey[1]), at(32, post(32, "https://h.test/", nil, []byte("noise")))); len(got) != 0 {
		t.Fatalf("an upload was opened before its key: %+v", got)
	}
	got = s.Add(at(33, rekey[0]))
	if len(got) != 1 || got[0].Seq != 31 || got[0].Entry != 3 || got[0].Canary != "ssid1" {
		t.Fatalf("the early upload, once its key came: %+v", got)
	}
	if rep := s.Report(Query{After: 30}); !slices.Equal(seqsOf(rep.Findings), []int64{31}) || rep.Entries != 3 {
		t.Errorf("report after 30: %+v", rep)
	}
}

// Bodies waiting for a key are bounded: one pushed out by newer ones stays
// closed when its key comes.
func TestSessionPendingBodiesAreBounded(t *testing.T) {
	ssid := byID("ssid1")
	key := []byte("0123456789abcdef")
	ot := oneTrack(1, key, "s1", base64.StdEncoding.EncodeToString(key), otEvent("wifi", map[string]any{"ssid": ssid.Value}))
	s := NewSession()
	if err := s.Plant(planting(0), ssid); err != nil {
		t.Fatal(err)
	}
	s.Add(at(1, ot[1]))
	noise := make([]capture.Flow, maxPending)
	for i := range noise {
		noise[i] = at(int64(2+i), post(0, "https://blob.test/", nil, []byte{0, 1, 2, 3, byte(i)}))
	}
	s.Add(noise...)
	if got := s.Add(at(100, ot[0])); len(got) != 0 {
		t.Errorf("a body beyond the bound of %d was kept: %+v", maxPending, got)
	}
	// Within the bound it is opened.
	s = NewSession()
	if err := s.Plant(planting(0), ssid); err != nil {
		t.Fatal(err)
	}
	s.Add(append([]capture.Flow{at(1, ot[1])}, noise[:maxPending-1]...)...)
	if got := s.Add(at(100, ot[0])); len(got) != 1 {
		t.Errorf("a body within the bound of %d was not opened: %+v", maxPending, got)
	}
}

func TestSessionPlantErrors(t *testing.T) {
	u := byID("url1")
	s := NewSession()
	if err := s.Plant(planting(1), canary.Canary{ID: "x"}); err == nil || !strings.Contains(err.Error(), "needs an id and a value") {
		t.Errorf("empty value: %v", err)
	}
	if err := s.Plant(planting(1), u); err != nil {
		t.Fatal(err)
	}
	if err := s.Plant(planting(5), u); err != nil {
		t.Errorf("the same canary again: %v", err)
	}
	if err := s.Plant(planting(5), canary.Canary{ID: u.ID, Value: "other-value-123"}); err == nil || !strings.Contains(err.Error(), "already planted") {
		t.Errorf("an id with a new value: %v", err)
	}
	s.Add(visit(2, "https://a.test/"), visit(3, "https://b.test/"), visit(4, "https://c.test/"))
	err := s.Plant(planting(2), byID("pkg1"))
	if !errors.Is(err, ErrPlantedLate) || !strings.Contains(err.Error(), "2 request(s)") {
		t.Errorf("planting before flows already added: %v", err)
	}
	// Planted anyway, for what comes next.
	if got := s.Add(visit(5, byID("pkg1").Value)); len(got) != 1 {
		t.Errorf("late-planted canary in a later flow: %+v", got)
	}
}

// A Session fed a whole capture, with everything planted first, finds what
// a Detector's Scan finds, request for request.
func TestSessionAgreesWithScan(t *testing.T) {
	key := []byte("0123456789abcdef")
	var flows []capture.Flow
	flows = append(flows, oneTrack(1, key, "k", base64.StdEncoding.EncodeToString(key),
		otEvent("app_open", map[string]any{"package": byID("pkg1").Value}))...)
	for i, tc := range append(slices.Clone(singleCases), nestedCases...) {
		flows = append(flows, post(int64(10+i), "https://collector.test/up", tc.headers, tc.body(byID(tc.id).Value)))
	}
	for i, tc := range getCases {
		flows = append(flows, getFlow(tc.url(byID(tc.id).Value)))
		flows[len(flows)-1].Seq = int64(100 + i)
	}
	want := New(testCanaries).Scan(flows)
	s := NewSession()
	if err := s.Plant(Planting{}, testCanaries...); err != nil {
		t.Fatal(err)
	}
	for _, f := range flows {
		s.Add(f)
	}
	got := s.Report(Query{})
	// Capture readers may number entries from 0: the zero Planting still
	// comes before them.
	z := NewSession()
	if err := z.Plant(Planting{}, byID("url1")); err != nil {
		t.Fatal(err)
	}
	if found := z.Add(at(0, visit(0, byID("url1").Value))); len(found) != 1 {
		t.Errorf("a flow with seq 0 after the zero planting: %+v", found)
	}
	key2 := func(f Finding) string {
		return fmt.Sprint(f.Entry, f.Canary, f.Where, chainString(f.Chain), f.Evidence)
	}
	w, g := []string{}, []string{}
	for _, f := range want.Findings {
		w = append(w, key2(f))
	}
	for _, f := range got.Findings {
		g = append(g, key2(f))
	}
	slices.Sort(w)
	slices.Sort(g)
	if !slices.Equal(w, g) || got.Entries != want.Entries || len(want.Findings) < len(singleCases)+len(getCases) {
		t.Errorf("session: %d entries, %d findings; scan: %d entries, %d findings\nsession %q\nscan    %q",
			got.Entries, len(g), want.Entries, len(w), g, w)
	}
}

// Flows go in while a window asks for its findings (the harness polls while
// the phone sends).
func TestSessionConcurrentAddAndQuery(t *testing.T) {
	u := byID("url1")
	s := NewSession()
	if err := s.Plant(planting(0), u); err != nil {
		t.Fatal(err)
	}
	const n = 100
	var wg sync.WaitGroup
	added := make(chan struct{})
	wg.Go(func() {
		defer close(added)
		for i := range n {
			s.Add(visit(int64(i+1), u.Value))
		}
	})
	wg.Go(func() {
		for {
			select {
			case <-added:
				return
			default:
			}
			rep := s.Report(Query{Canaries: []string{u.ID}})
			if len(rep.Findings) > rep.Entries {
				t.Errorf("%d findings in %d entries", len(rep.Findings), rep.Entries)
				return
			}
		}
	})
	wg.Wait()
	if rep := s.Report(Query{}); len(rep.Findings) != n || rep.Entries != n {
		t.Errorf("%d findings in %d entries, want %d", len(rep.Findings), rep.Entries, n)
	}
}
