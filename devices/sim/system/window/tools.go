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

// uiautomator answers `uiautomator dump [--compressed] [FILE]`: the active
// window's hierarchy to FILE (default /sdcard/window_dump.xml), or to stdout
// for /dev/tty, followed by the tool's line, typo included:
// "UI hierchary dumped to: FILE". --compressed is accepted and dumps in
// full (modeled). With the display off the keyguard, shown as the display
// went to sleep, is the top window, so the dump is the lock screen's
// (modeled: accessibility keeps reporting the windows of a sleeping
// display).
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
	m.cfg.Runtime.Start(sio, "com.android.commands.uiautomator.DumpCommand.run(DumpCommand.java)")
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
