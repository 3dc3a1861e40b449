package shell

import (
	"context"
	"path"
	"strings"
)

// shellUID is AID_SHELL, the user adbd runs the shell as on a user build.
const shellUID uint32 = 2000

type uidKey struct{}

// WithUID returns a context whose commands run as uid: the phone passes 0
// under su or adb root, and the shell user otherwise.
func WithUID(ctx context.Context, uid uint32) context.Context {
	return context.WithValue(ctx, uidKey{}, uid)
}

// UID is who runs the command: the uid given by WithUID, else the shell
// user (2000), as adbd on a user build.
func UID(ctx context.Context) uint32 {
	if uid, ok := ctx.Value(uidKey{}).(uint32); ok {
		return uid
	}
	return shellUID
}

// process is what a running command inherits from its shell.
type process struct {
	dir string
	env []string
}

type processKey struct{}

func withProcess(ctx context.Context, dir string, env []string) context.Context {
	return context.WithValue(ctx, processKey{}, &process{dir: dir, env: env})
}

// WithEnviron returns a context whose commands see env as their
// environment, keeping the working directory (what env(1) does).
func WithEnviron(ctx context.Context, env []string) context.Context {
	if env == nil {
		env = []string{} // empty, not absent: env -i
	}
	return withProcess(ctx, Dir(ctx), env)
}

// Dir is the working directory of the shell that runs the command; "/"
// outside one, where adbd starts its shell.
func Dir(ctx context.Context) string {
	if p, ok := ctx.Value(processKey{}).(*process); ok && p.dir != "" {
		return p.dir
	}
	return "/"
}

// Abs makes p absolute against Dir(ctx), as the kernel resolves a relative
// path against the caller's working directory.
func Abs(ctx context.Context, p string) string {
	if strings.HasPrefix(p, "/") {
		return path.Clean(p)
	}
	return path.Join(Dir(ctx), p)
}

// Environ is the exported environment the command got from its shell, as
// NAME=value pairs; nil outside a shell.
func Environ(ctx context.Context) []string {
	if p, ok := ctx.Value(processKey{}).(*process); ok {
		return p.env
	}
	return nil
}

// Getenv is one variable of Environ, "" when unset.
func Getenv(ctx context.Context, name string) string {
	for _, kv := range Environ(ctx) {
		if k, v, _ := strings.Cut(kv, "="); k == name {
			return v
		}
	}
	return ""
}

// DefaultEnv is the environment adbd gives a shell on Android 12-15: init's
// exported variables (init.environ.rc: PATH, ANDROID_*, EXTERNAL_STORAGE)
// and what adbd's shell service adds from the user's passwd entry (HOME,
// LOGNAME, SHELL, TMPDIR, USER, HOSTNAME: AOSP adb/daemon/shell_service.cpp;
// bionic gives every Android user the home "/" and the shell
// /system/bin/sh). PATH is the one adbd's init environment carries on
// those releases; a phone on another release sets Shell.Env.
func DefaultEnv(uid uint32) []string {
	user := "shell"
	if uid == 0 {
		user = "root"
	}
	return []string{
		"PATH=/product/bin:/apex/com.android.runtime/bin:/apex/com.android.art/bin:/system_ext/bin:/system/bin:/system/xbin:/odm/bin:/vendor/bin:/vendor/xbin",
		"ANDROID_ASSETS=/system/app",
		"ANDROID_DATA=/data",
		"ANDROID_ROOT=/system",
		"ANDROID_STORAGE=/storage",
		"ASEC_MOUNTPOINT=/mnt/asec",
		"EXTERNAL_STORAGE=/sdcard",
		"HOME=/",
		"HOSTNAME=localhost",
		"LOGNAME=" + user,
		"SHELL=" + Name,
		"TMPDIR=/data/local/tmp",
		"USER=" + user,
	}
}

// environ is what a new shell starts with: its parent's exported variables
// when it runs inside one, else the phone's.
func (s *Shell) environ(ctx context.Context) []string {
	if env := Environ(ctx); env != nil {
		return env
	}
	if s.Env != nil {
		return s.Env
	}
	return DefaultEnv(UID(ctx))
}
