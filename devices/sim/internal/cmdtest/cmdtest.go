// Package cmdtest runs one of the phone's commands in a test, without a
// shell around it.
package cmdtest

import (
	"context"
	"strings"
	"testing"

	"telltale.dev/devices/sim/shell"
)

// Result is what a command printed and its exit status.
type Result struct {
	Out, Err string
	Code     int
}

// Run calls f with args (args[0] is the command's name) and no stdin.
func Run(ctx context.Context, f shell.Func, args ...string) Result {
	var o, e strings.Builder
	code := f(ctx, shell.IO{Stdin: strings.NewReader(""), Stdout: &o, Stderr: &e}, args)
	return Result{Out: o.String(), Err: e.String(), Code: code}
}

// Must is Run failing the test unless the command exits 0.
func Must(t testing.TB, f shell.Func, args ...string) string {
	t.Helper()
	r := Run(context.Background(), f, args...)
	if r.Code != 0 {
		t.Fatalf("%s: exit %d, stderr %q", strings.Join(args, " "), r.Code, r.Err)
	}
	return r.Out
}
