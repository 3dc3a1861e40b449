package profiles

import (
	"strings"
	"testing"
)

// FuzzParseLibrary: any flow library text is read or refused with an
// error naming the file; a library read has every step checked, and its
// steps print.
func FuzzParseLibrary(f *testing.F) {
	f.Add(library)
	f.Add("flows:\n  a:\n    - back\n    - tap: {on: [text=A, id=b], row: text=C, point: \"50%,50%\"}\n      if: text=D\n")
	f.Add("flows:\n  a:\n    - run: {flow: b, params: {x: \"${y}\"}}\n  b:\n    - type: ${x}\n")
	f.Fuzz(func(t *testing.T, text string) {
		l, err := ParseLibrary("flows/fuzz.yaml", []byte(text))
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("error without the file: %v", err)
			}
			return
		}
		for _, fl := range l.Flows {
			for _, s := range fl.Steps {
				if s.Do == "" || s.String() == "" {
					t.Fatalf("step without a command: %+v", s)
				}
			}
		}
	})
}
