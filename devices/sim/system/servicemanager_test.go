package system_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"telltale.dev/devices/sim/internal/cmdtest"
	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/system"
)

// svc is a service with every optional face, echoing what reaches it.
type svc struct{ name string }

func (s svc) Dump(_ context.Context, sio shell.IO, args []string) int {
	fmt.Fprintf(sio.Stdout, "dump of %s %v\n", s.name, args)
	return 0
}

func (s svc) ShellCommand(_ context.Context, sio shell.IO, args []string) int {
	fmt.Fprintf(sio.Stdout, "cmd %s %v\n", s.name, args)
	return 3
}

func (s svc) Svc(_ context.Context, sio shell.IO, args []string) int {
	fmt.Fprintf(sio.Stdout, "svc %s %v\n", s.name, args)
	return 0
}

// quiet has no faces at all.
type quiet struct{}

func TestRouting(t *testing.T) {
	var r system.Registry
	for _, name := range []string{"wifi", "battery"} {
		if err := r.Add(name, svc{name}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Add("mute", quiet{}); err != nil {
		t.Fatal(err)
	}
	if err := r.Add("wifi", quiet{}); err == nil {
		t.Error("a name was registered twice")
	}
	cmds := r.Commands()
	ctx := context.Background()
	cases := []struct {
		name string
		args []string
		want cmdtest.Result
	}{
		{"dumpsys", []string{"dumpsys", "battery", "-a"}, cmdtest.Result{Out: "dump of battery [-a]\n"}},
		{"dumpsys", []string{"dumpsys", "nothing"}, cmdtest.Result{Err: "Can't find service: nothing\n"}},
		{"dumpsys", []string{"dumpsys", "-l"}, cmdtest.Result{Out: "Currently running services:\n  battery\n  mute\n  wifi\n"}},
		{"cmd", []string{"cmd", "wifi", "status"}, cmdtest.Result{Out: "cmd wifi [status]\n", Code: 3}},
		{"cmd", []string{"cmd", "mute", "x"}, cmdtest.Result{Err: "cmd: Can't find service: mute\n", Code: 20}},
		{"cmd", []string{"cmd"}, cmdtest.Result{Err: "cmd: No service specified; use -l to list all running services\n", Code: 20}},
		{"svc", []string{"svc", "wifi", "enable"}, cmdtest.Result{Out: "svc wifi [enable]\n"}},
		{"svc", []string{"svc", "data", "enable"}, cmdtest.Result{}},
	}
	for _, c := range cases {
		if got := cmdtest.Run(ctx, cmds[c.name], c.args...); got != c.want {
			t.Errorf("%v: %+v, want %+v", c.args, got, c.want)
		}
	}
	all := cmdtest.Run(ctx, cmds["dumpsys"], "dumpsys")
	if !strings.Contains(all.Out, "DUMP OF SERVICE battery:\ndump of battery []\n") || !strings.Contains(all.Out, "DUMP OF SERVICE wifi:\n") ||
		strings.Contains(all.Out, "DUMP OF SERVICE mute") {
		t.Errorf("dumpsys with no service:\n%s", all.Out)
	}
}
