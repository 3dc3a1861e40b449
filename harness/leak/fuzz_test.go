package leak

import (
	"bytes"
	"strings"
	"testing"

	"telltale.dev/harness/capture"
)

// FuzzScanBody scans arbitrary bodies: no panic, findings only of known
// canaries, and a canary present verbatim in the body is always found.
func FuzzScanBody(f *testing.F) {
	u, pkg := byID("url1").Value, byID("pkg1").Value
	for _, tc := range append(singleCases, nestedCases...) {
		f.Add(tc.body(byID(tc.id).Value))
	}
	f.Add(saBody(saEvent("browser_visit", map[string]any{"url": u})))
	f.Add([]byte(`{"a":"` + pkg + `\u00"}`))
	d := New(testCanaries, WithMaxInflate(1<<20), WithMaxDecodedBytes(4<<20))
	ids := map[string]bool{}
	for _, c := range testCanaries {
		ids[c.ID] = true
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rep := d.Scan([]capture.Flow{post(1, "https://h.test/", nil, body)})
		for _, fd := range rep.Findings {
			if !ids[fd.Canary] || fd.Entry != 0 || len(fd.Chain) > DefaultMaxDepth+1 {
				t.Fatalf("bad finding %+v", fd)
			}
		}
		for _, c := range testCanaries {
			if c.Kind == "" && bytes.Contains(body, []byte(c.Value)) && !strings.ContainsAny(c.Value, "&=%+;") {
				if len(findingsFor(rep, c.ID)) == 0 {
					t.Fatalf("%s present verbatim but not found in %q", c.ID, body)
				}
			}
		}
	})
}

// FuzzScanURL scans GET requests to arbitrary URLs: no panic, findings only
// of known canaries, and a canary present verbatim in a URL without escapes
// (where "%0fjord" holds no "fjord"), and with no byte a URL treats
// specially, is always found.
func FuzzScanURL(f *testing.F) {
	for _, tc := range getCases {
		f.Add(tc.url(byID(tc.id).Value))
	}
	d := New(testCanaries, WithMaxInflate(1<<20), WithMaxDecodedBytes(4<<20))
	ids := map[string]bool{}
	for _, c := range testCanaries {
		ids[c.ID] = true
	}
	f.Fuzz(func(t *testing.T, u string) {
		rep := d.Scan([]capture.Flow{getFlow(u)})
		for _, fd := range rep.Findings {
			if !ids[fd.Canary] || len(fd.Chain) > DefaultMaxDepth+1 {
				t.Fatalf("bad finding %+v", fd)
			}
		}
		for _, c := range testCanaries {
			if c.Kind == "" && strings.Contains(u, c.Value) && !strings.ContainsAny(c.Value, "&=%+;#?/: ") && !strings.ContainsAny(u, "%+") &&
				!strings.HasPrefix(u, "//") && len(findingsFor(rep, c.ID)) == 0 {
				t.Fatalf("%s present verbatim but not found in %q", c.ID, u)
			}
		}
	})
}
