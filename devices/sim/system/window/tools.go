package window

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/ui"
)

// defaultDump is where `uiautomator dump` writes without a file (AOSP
// DumpCommand).
const defaultDump = "/sdcard/window_dump.xml"

// miuiThemeTrace is the start of what MIUI's resources loader prints on
// stderr whenever an app_process tool such as uiautomator starts; the dump
// is written all the same (TencentQQGYLab/AppAgent#101, Genymobile/scrcpy#1116,
// barry-ran/QtScrcpy#149: Mi 9, Android 10). Shortened: modeled.
const miuiThemeTrace = `java.io.FileNotFoundException: /data/system/theme_config/theme_compatibility.xml: open failed: ENOENT (No such file or directory)
	at libcore.io.IoBridge.open(IoBridge.java)
	at java.io.FileInputStream.<init>(FileInputStream.java)
	at miui.content.res.ThemeCompatibilityLoader.getVersion(ThemeCompatibilityLoader.java)
	at miui.content.res.ThemeCompatibilityLoader.loadConfig(ThemeCompatibilityLoader.java)
	at android.content.res.Resources.getSystem(Resources.java)
	at android.view.Display.getSize(Display.java)
	at com.android.commands.uiautomator.DumpCommand.run(DumpCommand.java)
`

// uiautomator answers `uiautomator dump [--compressed] [FILE]`: the active
// window's hierarchy to FILE (default /sdcard/window_dump.xml), or to stdout
// for /dev/tty, followed by the tool's line, typo included:
// "UI hierchary dumped to: FILE". --compressed is accepted and dumps in
// full (modeled).
func (m *Manager) uiautomator(ctx context.Context, sio shell.IO, args []string) int {
	if len(args) < 2 || args[1] != "dump" {
		fmt.Fprintln(sio.Stderr, "Usage: uiautomator <subcommand> [options]\n\nAvailable subcommands:\n\ndump: creates an XML dump of current UI hierarchy")
		return 1
	}
	file := defaultDump
	for _, a := range args[2:] {
		if !strings.HasPrefix(a, "-") {
			file = a
		}
	}
	if m.cfg.MIUI {
		fmt.Fprint(sio.Stderr, miuiThemeTrace)
	}
	var root *ui.Node
	if w := m.Focused(); w != nil {
		root = w.Content(m.Screen())
	}
	var xml bytes.Buffer
	opts := ui.DumpOptions{Screen: m.Screen(), DrawingOrder: m.cfg.SDK >= 33}
	if err := ui.Dump(&xml, root, opts); err != nil {
		return errf(sio, "ERROR: %v", err)
	}
	if file == "/dev/tty" {
		_, _ = sio.Stdout.Write(xml.Bytes())
	} else if err := m.cfg.Files.WriteFile(shell.Abs(ctx, file), xml.Bytes(), 0o644, shell.UID(ctx), false); err != nil {
		return errf(sio, "ERROR: could not write %s: %s", file, shell.ErrText(err))
	}
	fmt.Fprintf(sio.Stdout, "UI hierchary dumped to: %s\n", file)
	return 0
}

// screencap answers `screencap [-p] [FILE]`: a PNG of the display to FILE or
// stdout. A real screencap writes raw pixels unless -p is given or FILE ends
// in .png; PNG always is modeled.
func (m *Manager) screencap(ctx context.Context, sio shell.IO, args []string) int {
	var file string
	for _, a := range args[1:] {
		if !strings.HasPrefix(a, "-") {
			file = a
		}
	}
	var buf bytes.Buffer
	if err := ui.EncodePNG(&buf, m.Screenshot()); err != nil {
		return errf(sio, "screencap: %v", err)
	}
	if file == "" {
		_, _ = sio.Stdout.Write(buf.Bytes())
		return 0
	}
	if err := m.cfg.Files.WriteFile(shell.Abs(ctx, file), buf.Bytes(), 0o644, shell.UID(ctx), false); err != nil {
		return errf(sio, "screencap: %s: %s", file, shell.ErrText(err))
	}
	return 0
}
