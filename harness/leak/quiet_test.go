package leak

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"telltale.dev/harness/capture"
)

// A string repeated through a batch is walked once when it holds nothing, but
// a canary inside a repeated string is still reported at every place it is,
// and a repeat the budget cannot pay for again still notes the bound.
func TestRepeatedJSONStrings(t *testing.T) {
	pkg := byID("pkg1").Value
	noise := string(b64(bytes.Repeat([]byte{0xfe, 0x01, 0x7f}, 10))) // 40 chars, decodes to 30 bytes
	leak := string(b64([]byte(pkg)))
	body := fmt.Sprintf(`[{"id":%q,"v":%q},{"id":%q,"v":%q},{"id":%q,"v":%q}]`, noise, leak, noise, leak, noise, leak)

	rep := New(testCanaries).Scan([]capture.Flow{post(1, "https://h.test/", nil, []byte(body))})
	got := findingsFor(rep, "pkg1")
	slices.Sort(got)
	want := []string{
		"body: json:$[0].v > base64",
		"body: json:$[1].v > base64",
		"body: json:$[2].v > base64",
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings %q, want %q", got, want)
	}

	// Room for one decode of noise, not two: the repeat must be walked again
	// and hit the bound.
	const budget = 40
	twice := fmt.Sprintf(`[{"id":%q},{"id":%q}]`, noise, noise)
	rep = New(testCanaries, WithMaxDecodedBytes(budget)).Scan([]capture.Flow{post(1, "https://h.test/", nil, []byte(twice))})
	if !slices.ContainsFunc(rep.Capped, func(c Capped) bool { return c.Limit == "bytes" }) {
		t.Errorf("decoded-bytes bound %d not noted for a repeated string: %v", budget, rep.Capped)
	}
}
