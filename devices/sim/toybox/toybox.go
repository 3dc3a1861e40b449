// Package toybox is the simulated phone's /system/bin toolbox: the toybox
// applets Android ships (AOSP external/toybox), working on the phone's file
// system (vfs) and registered as shell commands. Output formats and error
// texts follow toybox's sources where cited next to them; where no source
// says, the behaviour is modeled and marked so.
package toybox

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/vfs"
)

// System is what applets report about the phone itself.
type System struct {
	// Release and Version are the kernel's, as `uname -r` and `uname -v`
	// print them; Machine is `uname -m` (aarch64, x86_64).
	Release, Version, Machine string
	// Clock is the phone's: date tells it, sleep waits on it.
	Clock clock.Clock
	// Applets are toybox applets that live with the part of the phone they
	// work on (nc with the network): `toybox NAME` runs them too, and the
	// phone registers them under their own names itself.
	Applets map[string]shell.Func
}

// withDefaults fills what the phone left empty with a plausible Android 10
// arm64 kernel (modeled: no profile names its kernel).
func (s System) withDefaults() System {
	if s.Release == "" {
		s.Release = "4.14.186-perf+"
	}
	if s.Version == "" {
		s.Version = "#1 SMP PREEMPT Wed Jan 13 00:00:00 CST 2021"
	}
	if s.Machine == "" {
		s.Machine = "aarch64"
	}
	if s.Clock == nil {
		s.Clock = clock.Real()
	}
	return s
}

// box is the applets' shared state: the file system, the shell that runs
// other commands (xargs, env, nsenter), and the phone's facts.
type box struct {
	fs      *vfs.FS
	sh      *shell.Shell
	sys     System
	applets map[string]shell.Func
}

// Commands returns the applets over fs under their names, plus `toybox`
// itself, which lists them or runs one (`toybox ls /`). sh is the shell
// the phone runs commands with: xargs, env and nsenter run theirs through
// it, and which looks commands up in its table. The phone registers these
// first and its own commands over them.
func Commands(fs *vfs.FS, sh *shell.Shell, sys System) map[string]shell.Func {
	b := &box{fs: fs, sh: sh, sys: sys.withDefaults()}
	b.applets = map[string]shell.Func{
		"base64": b.base64, "basename": b.basename, "cat": b.cat, "chcon": b.chcon, "chgrp": b.chown,
		"chmod": b.chmod, "chown": b.chown, "cp": b.cp, "cut": b.cut, "date": b.date, "df": b.df,
		"dirname": b.dirname, "echo": b.echo, "env": b.env, "false": b.exitWith(1), "find": b.find,
		"grep": b.grep, "head": b.head, "id": b.id, "ln": b.ln, "ls": b.ls, "md5sum": b.sum,
		"mkdir": b.mkdir, "mount": b.mount, "mv": b.mv, "nsenter": b.nsenter, "pidof": b.pidof,
		"printf": b.printf, "pwd": b.pwd, "readlink": b.readlink, "realpath": b.realpath, "rm": b.rm,
		"rmdir": b.rmdir, "sed": b.sed, "seq": b.seq, "sha1sum": b.sum, "sha256sum": b.sum,
		"sleep": b.sleep, "sort": b.sort, "stat": b.stat, "tail": b.tail, "tee": b.tee, "test": b.test,
		"[": b.test, "touch": b.touch, "tr": b.tr, "true": b.exitWith(0), "umount": b.umount,
		"uname": b.uname, "uniq": b.uniq, "wc": b.wc, "which": b.which, "whoami": b.whoami,
		"xargs": b.xargs,
	}
	out := maps.Clone(b.applets)
	out["toybox"] = b.toybox
	maps.Copy(b.applets, b.sys.Applets)
	return out
}

// toybox with no arguments lists its applets; otherwise it runs one, as
// the multiplexer binary does (`toybox ls /`).
func (b *box) toybox(ctx context.Context, sio shell.IO, args []string) int {
	if len(args) < 2 {
		names := slices.Sorted(maps.Keys(b.applets))
		fmt.Fprintln(sio.Stdout, strings.Join(names, " "))
		return 0
	}
	f, ok := b.applets[args[1]]
	if !ok {
		fmt.Fprintf(sio.Stderr, "toybox: Unknown command %s (see \"toybox --help\")\n", args[1])
		return 1
	}
	return f(ctx, sio, args[1:])
}

func (b *box) exitWith(code int) shell.Func {
	return func(context.Context, shell.IO, []string) int { return code }
}

// fail prints "NAME: message" as toybox's error_msg does and returns 1.
func fail(sio shell.IO, name, format string, args ...any) int {
	fmt.Fprintf(sio.Stderr, name+": "+format+"\n", args...)
	return 1
}

// failErr is toybox's perror_msg: "NAME: WHAT: errno text".
func failErr(sio shell.IO, name, what string, err error) int {
	return fail(sio, name, "%s: %s", what, shell.ErrText(err))
}

// userName and userID map the Android IDs the simulated phone uses
// (AOSP system/core/include/private/android_filesystem_config.h).
var androidIDs = map[string]uint32{
	"root": 0, "system": 1000, "radio": 1001, "input": 1004, "log": 1007, "adb": 1011,
	"sdcard_rw": 1015, "media_rw": 1023, "sdcard_r": 1028, "shell": 2000, "cache": 2001,
	"inet": 3003, "everybody": 9997,
}

func userName(uid uint32) string {
	for name, id := range androidIDs {
		if id == uid {
			return name
		}
	}
	if uid >= 10000 && uid < 20000 {
		return fmt.Sprintf("u0_a%d", uid-10000) // app uids (AID_APP_START)
	}
	return fmt.Sprint(uid)
}

// userID reads a user or group name or number; ok is false for neither.
func userID(name string) (uint32, bool) {
	if id, ok := androidIDs[name]; ok {
		return id, true
	}
	var n uint32
	if _, err := fmt.Sscanf(name, "%d", &n); err == nil && fmt.Sprint(n) == name {
		return n, true
	}
	var app uint32
	if _, err := fmt.Sscanf(name, "u0_a%d", &app); err == nil {
		return 10000 + app, true
	}
	return 0, false
}
