package bypass_test

import (
	"testing"

	"telltale.dev/harness/bypass"
)

// Whatever a phone prints, parsing returns sockets or an error; a line
// that parses names a valid address and a known state.
func FuzzParseProcNet(f *testing.F) {
	f.Add(tcp)
	f.Add(tcp6)
	f.Add("   0: 0100007F:1F90 00000000:0000 0A 0 0 0 2000 0 1\n")
	f.Fuzz(func(t *testing.T, text string) {
		socks, _ := bypass.ParseProcNet(text, "tcp")
		for _, s := range socks {
			if !s.Local.IsValid() || !s.Remote.IsValid() || s.State == "" || s.UID < 0 {
				t.Fatalf("parsed an invalid socket %+v from %q", s, text)
			}
		}
	})
}
