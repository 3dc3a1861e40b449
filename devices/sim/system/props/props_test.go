package props_test

import (
	"context"
	"testing"

	"telltale.dev/devices/sim/internal/cmdtest"
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
