// Package leak finds planted canary values in captured requests, through any
// chain of decodings, and names the chain.
package leak

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
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

// Option configures a Detector.
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

// pattern is one fixed byte string the matcher looks for: a canary's value or
// one encoding of one of its hashes.
type pattern struct {
	canary int
	step   string // extra chain step, e.g. "sha256:hex"; "" for the value itself
}

// Detector finds canaries in flows. It is safe for concurrent use.
type Detector struct {
	canaries []canary.Canary
	cfg      config
	mt       *matcher
	pats     []pattern
	// whole holds values matched only as a whole JSON/form/protobuf value:
	// numbers, and text too short to search as a substring without noise.
	whole     map[string][]int
	wholeList []string // the keys of whole
	maxWhole  int
	digests   map[string]pattern // raw digest bytes, matched as whole protobuf fields
	// visitHost is the host of a URL canary: a request to it is the visit the
	// action made, not a leak.
	visitHost []string
	minB64    int // shortest whole value worth a base64 decode
	scanners  sync.Pool
}

// minSubstring is the shortest text canary searched as a substring.
const minSubstring = gram

// New builds a detector for canaries.
func New(canaries []canary.Canary, opts ...Option) *Detector {
	d := &Detector{
		canaries: canaries,
		cfg: config{maxDepth: DefaultMaxDepth, maxDecoded: DefaultMaxDecodedBytes,
			maxInflate: DefaultMaxInflate, decoders: []KeyedDecoder{OneTrack{}}},
		whole:     map[string][]int{},
		digests:   map[string]pattern{},
		visitHost: make([]string, len(canaries)),
	}
	for _, o := range opts {
		o(&d.cfg)
	}
	var pats []string
	add := func(p string, pt pattern) {
		pats = append(pats, p)
		d.pats = append(d.pats, pt)
	}
	minText := 0
	for i, c := range canaries {
		if c.Kind == canary.KindNumber || len(c.Value) < minSubstring {
			d.whole[c.Value] = append(d.whole[c.Value], i)
			d.maxWhole = max(d.maxWhole, len(c.Value))
		} else {
			add(c.Value, pattern{canary: i})
			if minText == 0 || len(c.Value) < minText {
				minText = len(c.Value)
			}
		}
		if u, err := url.Parse(c.Value); err == nil && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https") {
			d.visitHost[i] = strings.ToLower(u.Hostname())
		}
		for _, h := range [...]struct {
			name string
			sum  []byte
		}{{"md5", sumMD5(c.Value)}, {"sha1", sumSHA1(c.Value)}, {"sha256", sumSHA256(c.Value)}} {
			lower := hex.EncodeToString(h.sum)
			add(lower, pattern{i, h.name + ":hex"})
			add(strings.ToUpper(lower), pattern{i, h.name + ":HEX"})
			std := base64.RawStdEncoding.EncodeToString(h.sum)
			add(std, pattern{i, h.name + ":base64"})
			if u := base64.RawURLEncoding.EncodeToString(h.sum); u != std {
				add(u, pattern{i, h.name + ":base64url"})
			}
			d.digests[string(h.sum)] = pattern{i, h.name}
		}
	}
	for w := range d.whole {
		d.wholeList = append(d.wholeList, w)
	}
	slices.Sort(d.wholeList)
	d.mt = newMatcher(pats)
	// A whole value that is base64 of the shortest canary: shorter runs cannot
	// hold a canary, longer ones are the common case.
	d.minB64 = min(max((minText+2)/3*4, 8), minRun)
	if minText == 0 {
		d.minB64 = minRun
	}
	d.scanners.New = func() any { return &scanner{d: d, seen: map[string]bool{}, arena: make([]byte, 0, minArena)} }
	return d
}

func sumMD5(s string) []byte    { h := md5.Sum([]byte(s)); return h[:] }
func sumSHA1(s string) []byte   { h := sha1.Sum([]byte(s)); return h[:] }
func sumSHA256(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

// Scan looks for every canary in every HTTP request of flows. Entries are the
// requests in input order (marks and TLS failures are not entries).
func (d *Detector) Scan(flows []capture.Flow) Report {
	rep := Report{Findings: []Finding{}, Capped: []Capped{}}
	keys := d.learn(flows)
	s := d.scanners.Get().(*scanner)
	defer d.scanners.Put(s)
	s.rep = &rep
	for i := range flows {
		f := &flows[i]
		if !isRequest(f) {
			continue
		}
		s.scanRequest(f, rep.Entries, keys)
		rep.Entries++
	}
	s.rep, s.flow = nil, nil // a pooled scanner must not keep the capture alive
	return rep
}

func isRequest(f *capture.Flow) bool {
	return f.Request != nil && (f.Kind == capture.KindHTTP || f.Kind == capture.KindWebSocket)
}

// learn collects the keys every keyed decoder finds in the whole capture, so
// an upload finds its key whatever order flows completed in.
func (d *Detector) learn(flows []capture.Flow) [][]Key {
	keys := make([][]Key, len(d.cfg.decoders))
	for i := range flows {
		if !isRequest(&flows[i]) {
			continue
		}
		for j, k := range d.cfg.decoders {
			keys[j] = append(keys[j], k.Learn(&flows[i])...)
		}
	}
	return keys
}
