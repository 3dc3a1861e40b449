package leak

import (
	"bytes"
	"compress/gzip"
	"runtime"
	"slices"
	"testing"

	"telltale.dev/harness/capture"
)

// A 64 MiB gzip bomb (64 KiB on the wire) costs the inflate bound, not its
// decompressed size.
func TestGzipBombStaysUnderMemoryBound(t *testing.T) {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zeros := make([]byte, 1<<20)
	for range 64 {
		w.Write(zeros)
	}
	w.Close()
	bomb := buf.Bytes()
	pkg := byID("pkg1").Value
	flows := []capture.Flow{
		post(1, "https://h.test/", nil, bomb),
		post(2, "https://h.test/", nil, []byte("x=1&b="+string(b64(bomb)))),
		post(3, "https://h.test/", nil, []byte(pkg)),
	}
	d := New(testCanaries)
	const bound = 32 << 20 // DefaultMaxInflate is 8 MiB; the growth steps and copies stay below 4x
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rep := d.Scan(flows)
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("bomb %d bytes on the wire, scan allocated %d bytes", len(bomb), alloc)
	if alloc > bound {
		t.Errorf("scanning a 64 MiB bomb allocated %d bytes, bound %d", alloc, bound)
	}
	for _, e := range []int{0, 1} {
		if !slices.ContainsFunc(rep.Capped, func(c Capped) bool { return c.Entry == e && c.Limit == "inflate" }) {
			t.Errorf("entry %d: inflate bound not noted: %v", e, rep.Capped)
		}
	}
	if got := findingsFor(rep, "pkg1"); len(got) != 1 {
		t.Errorf("request after the bombs: %q", got)
	}
}
