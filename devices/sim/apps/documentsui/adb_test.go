package documentsui_test

import (
	"strings"
	"testing"

	"telltale.dev/devices/sim"
	"telltale.dev/devices/sim/apps/internal/apptest"
)

// This test drives the Files app on a simulated emulator through the real
// adb server, with the harness's UI driver, as a scenario would.

const filesMain = "com.android.documentsui/com.android.documentsui.LauncherActivity"

func TestFilesOnTheEmulator(t *testing.T) {
	p := apptest.StartPhone(t, sim.Config{Model: "aosp-emulator"})
	p.Shell("mkdir /sdcard/shell-made")
	p.Start(filesMain)
	p.See("text=Downloads")
	// The storage root carries the device name the phone booted with.
	p.Tap("desc=Show roots")
	p.Tap("text=Android SDK built for x86_64")
	p.See("text=shell-made")
	p.Expect()

	p.Tap("desc=More options")
	p.Tap("text=New folder")
	p.See("id=android:id/text1,focused=true")
	p.Type("canary-folder")
	p.Tap("id=android:id/button1")
	if out := p.Shell("ls -ld /sdcard/canary-folder"); !strings.HasPrefix(out, "d") {
		t.Fatalf("the folder was not made: %q", out)
	}
	p.Expect()
	p.AgreeWithElementTree("text=canary-folder", "id=dir_list")
	p.Tap("text=canary-folder")
	p.Expect("event.FolderOpened{Package:com.android.documentsui Path:/sdcard/canary-folder}")
	p.Key("KEYCODE_BACK")
	p.See("text=shell-made")

	// A new launch starts on Downloads again.
	p.Shell("am force-stop com.android.documentsui")
	p.Start(filesMain)
	p.See("text=Downloads")
	p.Absent("text=shell-made")
}
