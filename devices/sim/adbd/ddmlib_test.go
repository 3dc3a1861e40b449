package adbd_test

import (
	"strings"
	"testing"

	"telltale.dev/devices/sim/adbd/ddmlibtest"
)

// ddmlib, the adb library of Android Studio and Tradefed, against the
// transport: its device monitor (host:track-devices, then track-jdwp per
// device), a shell command, and a screenshot over framebuffer:.
func TestDdmlib(t *testing.T) {
	drv := ddmlibtest.Compile(t)
	r := newRig(t)

	res := drv.Run(t, r.adbPort, r.serial, "shell", "echo from ddmlib")
	if res.Out != "from ddmlib\n" {
		t.Errorf("executeShellCommand printed %q\nlog:\n%s", res.Out, res.Log)
	}
	// Every service ddmlib opened on its own (track-jdwp for one) was
	// answered, none refused as unknown.
	if strings.Contains(r.logs.String(), "refusing unknown service") {
		t.Errorf("the transport refused a service ddmlib uses:\n%s", r.logs)
	}

	// Debian's ddmlib 25.2.2 reads framebuffer headers of version 1 (and
	// 16) only. adbd has sent version 2 (with colorSpace) since Android 9,
	// so this ddmlib gets no screenshot from a real Android 10 phone, and
	// none from this one: it logs the version and returns null. Newer
	// ddmlib (Android Studio 3.2 on) reads version 2; our own reader of
	// the same bytes is TestFramebufferSendsTheScreen.
	res = drv.Run(t, r.adbPort, r.serial, "screenshot")
	if res.Out != "null\n" || !strings.Contains(res.Log, "Unsupported protocol: 2") {
		t.Errorf("getScreenshot printed %q; want null with ddmlib's \"Unsupported protocol: 2\"\nlog:\n%s", res.Out, res.Log)
	}
}
