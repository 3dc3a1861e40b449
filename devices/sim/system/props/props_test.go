package props_test

import (
	"context"
	"testing"

	"telltale.dev/devices/sim/internal/cmdtest"
	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/system/props"
)

func TestReadOnlyProperties(t *testing.T) {
	p := props.New(map[string]string{"ro.product.model": "Redmi Note 8", "persist.x": "1"})
	c := p.Commands()
	ctx := context.Background()
	if r := cmdtest.Run(ctx, c["setprop"], "setprop", "ro.product.model", "Pixel"); r.Code != 1 || p.Get("ro.product.model") != "Redmi Note 8" {
		t.Errorf("setprop of a set ro. property: %+v", r)
	}
	// An ro. property that does not exist yet may be set once.
	cmdtest.Must(t, c["setprop"], "setprop", "ro.new", "a")
	cmdtest.Must(t, c["setprop"], "setprop", "persist.x", "2")
	if out := cmdtest.Must(t, c["getprop"], "getprop"); out != "[persist.x]: [2]\n[ro.new]: [a]\n[ro.product.model]: [Redmi Note 8]\n" {
		t.Errorf("getprop: %q", out)
	}
	if out := cmdtest.Must(t, c["getprop"], "getprop", "nope", "fallback"); out != "fallback\n" {
		t.Errorf("getprop default: %q", out)
	}
	p.Init("ro.product.model", "Init may")
	if p.Get("ro.product.model") != "Init may" {
		t.Error("Init did not set a read-only property at boot")
	}
}

// TestShellCannotFlipMIUIToggles: the shell's setprop of a persist.security
// property fails as setprop reports a refused set; root's goes through.
func TestShellCannotFlipMIUIToggles(t *testing.T) {
	p := props.New(map[string]string{"persist.security.adbinput": "0"})
	setprop := p.Commands()["setprop"]
	r := cmdtest.Run(context.Background(), setprop, "setprop", "persist.security.adbinput", "1")
	if r.Code != 1 || r.Err != "Failed to set property 'persist.security.adbinput' to '1'.\nSee dmesg for error reason.\n" || p.Get("persist.security.adbinput") != "0" {
		t.Errorf("shell setprop: %+v, value %q", r, p.Get("persist.security.adbinput"))
	}
	cmdtest.Must(t, setprop, "setprop", "debug.x", "1")
	if r := cmdtest.Run(shell.WithUID(context.Background(), 0), setprop, "setprop", "persist.security.adbinput", "1"); r.Code != 0 || p.Get("persist.security.adbinput") != "1" {
		t.Errorf("root setprop: %+v", r)
	}
}
