package files_test

import (
	"fmt"
	"strings"
	"testing"

	"telltale.dev/devices/sim"
	"telltale.dev/devices/sim/apps/internal/apptest"
)

// This test drives the File Manager on a simulated phone through the real
// adb server, with the harness's UI driver, as a scenario would.

const filesMain = "com.mi.android.globalFileexplorer/com.android.fileexplorer.FileExplorerTabActivity"

func TestFileManagerOnThePhone(t *testing.T) {
	p := apptest.StartPhone(t, sim.Config{Model: "redmi-note-8", Firmware: "V12.0.2.0"})
	// Folders made from the shell: listed, reported by nobody.
	for i := range 30 {
		p.Shell(fmt.Sprintf("mkdir /sdcard/shell-%02d", i))
	}
	p.Start(filesMain)
	p.Tap("id=com.mi.android.globalFileexplorer:id/confirm_btn")
	p.Tap("desc=Storage")
	p.See("text=shell-00")
	p.Expect()

	p.Tap("desc=More options")
	p.Tap("text=Create new folder")
	p.See("text=Name folder")
	p.See("class=android.widget.EditText,focused=true,text=Unnamed folder")
	p.Type("canary-folder")
	p.Tap("id=android:id/button1")
	if out := p.Shell("ls -ld /sdcard/canary-folder"); !strings.HasPrefix(out, "d") {
		t.Fatalf("the folder was not made: %q", out)
	}
	p.Expect()
	p.Tap("text=canary-folder")
	p.Expect("event.FolderOpened{Package:com.mi.android.globalFileexplorer Path:/sdcard/canary-folder}")
	p.Key("KEYCODE_BACK")

	// The last shell folder is below the first screen of the list.
	p.Absent("text=shell-29")
	p.Scroll(true, "text=shell-29")
	p.AgreeWithElementTree("text=shell-29", "id=file_list")
	p.Tap("text=shell-29")
	p.Expect("event.FolderOpened{Package:com.mi.android.globalFileexplorer Path:/sdcard/shell-29}")

	// The first-run page does not come back once accepted.
	p.Shell("am force-stop com.mi.android.globalFileexplorer")
	p.Start(filesMain)
	p.Absent("id=confirm_btn")
}
