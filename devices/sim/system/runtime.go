package system

import (
	"fmt"

	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/vfs"
)

// Runtime is the Android runtime as app_process tools (uiautomator, input,
// monkey) meet it when they start.
type Runtime struct {
	// MIUI marks a MIUI build, whose resources loader complains on stderr.
	MIUI  bool
	Files *vfs.FS
}

// themeConfig is the file MIUI's theme loader looks for; rooted phones
// create an empty one to silence it (code-index ids 71200743666,
// 57646228866 in reference/miui-ui.md section 7).
const themeConfig = "/data/system/theme_config/theme_compatibility.xml"

// miuiThemeTrace is the start of what MIUI's resources loader prints on
// stderr whenever an app_process tool starts; the tool goes on all the
// same (TencentQQGYLab/AppAgent#101, Genymobile/scrcpy#1116,
// barry-ran/QtScrcpy#149: Mi 9, Android 10). Shortened: modeled.
const miuiThemeTrace = `java.io.FileNotFoundException: /data/system/theme_config/theme_compatibility.xml: open failed: ENOENT (No such file or directory)
	at libcore.io.IoBridge.open(IoBridge.java)
	at java.io.FileInputStream.<init>(FileInputStream.java)
	at miui.content.res.ThemeCompatibilityLoader.getVersion(ThemeCompatibilityLoader.java)
	at miui.content.res.ThemeCompatibilityLoader.loadConfig(ThemeCompatibilityLoader.java)
	at android.content.res.Resources.getSystem(Resources.java)
`

// Start prints what the runtime prints as a tool starts: on MIUI the theme
// loader's trace, ending in the tool's own frame (caller), unless the file
// it looks for exists.
func (r Runtime) Start(sio shell.IO, caller string) {
	if !r.MIUI || r.Files == nil {
		return
	}
	if _, err := r.Files.StatInfo(themeConfig); err == nil {
		return
	}
	fmt.Fprintf(sio.Stderr, "%s\tat %s\n", miuiThemeTrace, caller)
}
