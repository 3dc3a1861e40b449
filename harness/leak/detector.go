// Package leak finds planted canary values in captured requests, through any
// chain of decodings, and names the chain.
package leak

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"math"
	"net/url"
	"slices"
	"strings"
	"sync"

	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/capture"
)

// Default bounds. A real telemetry batch decodes to well under a megabyte;
// the bounds only stop hostile or broken input.
const (
	DefaultMaxDepth        = 12
	DefaultMaxDecodedBytes = 32 << 20
	DefaultMaxInflate      = 8 << 20
)

// Option configures a Detector or a Session.
type Option func(*config)

type config struct {
	maxDepth   int
	maxDecoded int
	maxInflate int
	decoders   []KeyedDecoder
}

// WithMaxDepth bounds how many decoding steps deep a chain may go.
func WithMaxDepth(n int) Option { return func(c *config) { c.maxDepth = n } }

// WithMaxDecodedBytes bounds the decoded bytes produced for one request.
func WithMaxDecodedBytes(n int) Option { return func(c *config) { c.maxDecoded = n } }

// WithMaxInflate bounds the output of one decompression.
func WithMaxInflate(n int) Option { return func(c *config) { c.maxInflate = n } }

// WithDecoder adds a keyed decoder (the OneTrack one is always present).
func WithDecoder(k KeyedDecoder) Option {
	return func(c *config) { c.decoders = append(c.decoders, k) }
}

func newConfig(opts []Option) config {
	c := config{maxDepth: DefaultMaxDepth, maxDecoded: DefaultMaxDecodedBytes,
		maxInflate: DefaultMaxInflate, decoders: []KeyedDecoder{OneTrack{}}}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// pattern is one fixed byte string the matcher looks for: a canary's value or
// one encoding of one of its hashes.
type pattern struct {
	canary int
	step   string // extra chain step, e.g. "sha256:hex"; "" for the value itself
	// escaped marks a pattern's copy with each '/' written `\/`, as org.json
	// (Android's JSON) writes it: a hit in raw JSON tells that a string's
	// unescaped text holds the pattern, so the string is walked (the hit
	// itself is never reported; the walk reports the unescaped one).
	escaped bool
}

// table is a compiled set of canaries: what one scan looks for. It is
// immutable, so scans share it; a Session builds a new one when canaries are
// planted.
type table struct {
	canaries []canary.Canary
	// planted[i] is the seq canary i was planted at: a flow at or before it
	// is not checked for it. Whole captures plant everything at minSeq.
	planted []int64
	mt      *matcher
	pats    []pattern
	// whole holds values matched only as a whole JSON/form/protobuf value:
	// numbers, and text too short to search as a substring without noise.
	whole     map[string][]int
	wholeList []string // the keys of whole
	maxWhole  int
	digests   map[string]pattern // raw digest bytes, matched as whole protobuf fields
	// inPattern marks the bytes that occur in some pattern.
	inPattern [256]bool
	// visitHost is the host of a URL canary: a request to it is the visit the
	// action made, not a leak.
	visitHost []string
	minB64    int // shortest whole value worth a base64 decode
}

// minSeq plants a canary before every flow.
const minSeq = math.MinInt64

// minSubstring is the shortest text canary searched as a substring.
const minSubstring = gram

// compiled is what a table needs of one canary, worked out once: a Session
// keeps it, so planting one more canary does not hash the others again.
type compiled struct {
	whole     bool     // matched as a whole value only
	pats      []string // the value (unless whole), then its hash encodings
	steps     []string // the chain step of each pattern ("" for the value)
	digests   [3][]byte
	visitHost string
}

// hashes are the digests a canary is also looked for as.
var hashes = [3]struct {
	name string
	sum  func(string) []byte
}{{"md5", sumMD5}, {"sha1", sumSHA1}, {"sha256", sumSHA256}}

func compile(c canary.Canary) compiled {
	var k compiled
	k.whole = c.Kind == canary.KindNumber || len(c.Value) < minSubstring
	add := func(p, step string) {
		k.pats = append(k.pats, p)
		k.steps = append(k.steps, step)
	}
	if !k.whole {
		add(c.Value, "")
	}
	if u, err := url.Parse(c.Value); err == nil && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https") {
		k.visitHost = strings.ToLower(u.Hostname())
	}
	for i, h := range hashes {
		sum := h.sum(c.Value)
		lower := hex.EncodeToString(sum)
		add(lower, h.name+":hex")
		add(strings.ToUpper(lower), h.name+":HEX")
		std := base64.RawStdEncoding.EncodeToString(sum)
		add(std, h.name+":base64")
		if u := base64.RawURLEncoding.EncodeToString(sum); u != std {
			add(u, h.name+":base64url")
		}
		k.digests[i] = sum
	}
	return k
}

// newTable compiles canaries planted at the seqs in planted (nil: before
// every flow); comp, when given, holds their compiled forms.
func newTable(canaries []canary.Canary, planted []int64, comp []compiled) *table {
	t := &table{
		canaries:  canaries,
		planted:   planted,
		whole:     map[string][]int{},
		digests:   map[string]pattern{},
		visitHost: make([]string, len(canaries)),
	}
	if t.planted == nil {
		t.planted = make([]int64, len(canaries))
		for i := range t.planted {
			t.planted[i] = minSeq
		}
	}
	var pats []string
	minText := 0
	for i, c := range canaries {
		var k compiled
		if comp != nil {
			k = comp[i]
		} else {
			k = compile(c)
		}
		if k.whole {
			t.whole[c.Value] = append(t.whole[c.Value], i)
			t.maxWhole = max(t.maxWhole, len(c.Value))
		} else if minText == 0 || len(c.Value) < minText {
			minText = len(c.Value)
		}
		t.visitHost[i] = k.visitHost
		for j, p := range k.pats {
			pats = append(pats, p)
			t.pats = append(t.pats, pattern{canary: i, step: k.steps[j]})
			for _, c := range []byte(p) {
				t.inPattern[c] = true
			}
		}
		for j, p := range k.pats {
			if strings.Contains(p, "/") {
				pats = append(pats, strings.ReplaceAll(p, "/", `\/`))
				t.pats = append(t.pats, pattern{canary: i, step: k.steps[j], escaped: true})
			}
		}
		for j, sum := range k.digests {
			t.digests[string(sum)] = pattern{canary: i, step: hashes[j].name}
		}
	}
	for w := range t.whole {
		t.wholeList = append(t.wholeList, w)
	}
	slices.Sort(t.wholeList)
	t.mt = newMatcher(pats)
	// A whole value that is base64 of the shortest canary: shorter runs cannot
	// hold a canary, longer ones are the common case.
	t.minB64 = min(max((minText+2)/3*4, 8), minRun)
	if minText == 0 {
		t.minB64 = minRun
	}
	return t
}

func sumMD5(s string) []byte    { h := md5.Sum([]byte(s)); return h[:] }
func sumSHA1(s string) []byte   { h := sha1.Sum([]byte(s)); return h[:] }
func sumSHA256(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

// Detector finds a fixed set of canaries in whole captures (telltale
// analyze, a finished run). It is safe for concurrent use. To follow a
// session as its flows arrive, use a Session.
type Detector struct {
	cfg      config
	t        *table
	scanners sync.Pool
}

// New builds a detector for canaries.
func New(canaries []canary.Canary, opts ...Option) *Detector {
	d := &Detector{cfg: newConfig(opts), t: newTable(canaries, nil, nil)}
	d.scanners.New = func() any { return newScanner(&d.cfg) }
	return d
}

// Scan looks for every canary in every HTTP request of flows. Entries are the
// requests in input order (marks and TLS failures are not entries). Keys are
// learned from the whole capture first, so an upload is opened whatever
// order its flow and its key exchange completed in.
func (d *Detector) Scan(flows []capture.Flow) Report {
	rep := Report{Findings: []Finding{}, Capped: []Capped{}}
	keys := make([][]Key, len(d.cfg.decoders))
	for i := range flows {
		learn(d.cfg.decoders, &flows[i], keys)
	}
	s := d.scanners.Get().(*scanner)
	defer d.scanners.Put(s)
	s.begin(d.t, &rep)
	defer s.end()
	for i := range flows {
		f := &flows[i]
		if !isRequest(f) {
			continue
		}
		s.scanRequest(f, rep.Entries, keys)
		rep.Entries++
	}
	return rep
}

func isRequest(f *capture.Flow) bool {
	return f.Request != nil && (f.Kind == capture.KindHTTP || f.Kind == capture.KindWebSocket)
}

// learn adds the keys f hands out to keys (one list per decoder) and says
// whether it handed out any.
func learn(decoders []KeyedDecoder, f *capture.Flow, keys [][]Key) bool {
	if !isRequest(f) {
		return false
	}
	got := false
	for j, k := range decoders {
		if ks := k.Learn(f); len(ks) > 0 {
			keys[j] = append(keys[j], ks...)
			got = true
		}
	}
	return got
}
