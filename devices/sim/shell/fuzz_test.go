package shell_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/sim/shell"
)

// FuzzParse parses and runs arbitrary lines on a phone-like command table:
// the shell must not panic, must stop when its context ends, and must not
// touch the host (a file the fuzzer could name stays absent).
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`echo 'a b' "c" d\ e`, `a && b || c; d | e > f 2>&1`, `x $(y "$(z)")`, `'`, `2>>`, "a\n#c\nb",
		"for i in 1 2; do echo $((i*2)); done | tail -n 1", "while :; do :; done", "cat < /sdcard/x",
		"f() { f; }; f", "echo $(( 1 / 0 ))", "exec 3>&1", "read x; echo $x", "cd /tmp && echo > /tmp/host-probe",
		"sed -n 's/a/b/p' /x", "grep -E '(' /x", "type /bin/sh", "command -v ls", "set -eux; false",
	} {
		f.Add(s)
	}
	probe := filepath.Join(os.TempDir(), "host-probe")
	f.Fuzz(func(t *testing.T, line string) {
		p := newPhone(t)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		done := make(chan struct{})
		go func() {
			defer close(done)
			var sink strings.Builder
			p.sh.Run(ctx, line, shell.IO{Stdin: strings.NewReader("in\n"), Stdout: &sink, Stderr: &sink})
		}()
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Fatalf("%q still runs a minute after its context ended", line)
		}
		if _, err := os.Stat(probe); err == nil {
			t.Fatalf("%q created %s on the host", line, probe)
		}
	})
}
