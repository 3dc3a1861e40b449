// Package identity names the users of the simulated phone. Who runs a
// command rides in its context (shell.WithUID, shell.UID): adbd starts
// commands as the shell user, or as root after `adb root`; su runs its
// command as root; services check it as Binder's getCallingUid is checked.
package identity

import "strconv"

// Android ids (AOSP system/core/libcutils/include/private/android_filesystem_config.h).
const (
	Root   uint32 = 0     // AID_ROOT
	System uint32 = 1000  // AID_SYSTEM: system_server and the services in it
	Shell  uint32 = 2000  // AID_SHELL: adb shell
	AppMin uint32 = 10000 // AID_APP_START: the first uid given to an app
)

// SharedUID is the fixed uid of a platform shared user id
// (android:sharedUserId), as PackageManagerService registers them at boot
// (addSharedUserLPw("android.uid.system", Process.SYSTEM_UID, ...),
// likewise android.uid.shell); false for any other name, which gets an
// app uid of its own.
func SharedUID(name string) (uint32, bool) {
	switch name {
	case "android.uid.system":
		return System, true
	case "android.uid.shell":
		return Shell, true
	}
	return 0, false
}

// Name is the user name toybox's id and ls print for uid.
func Name(uid uint32) string {
	switch uid {
	case Root:
		return "root"
	case System:
		return "system"
	case Shell:
		return "shell"
	}
	if uid >= AppMin && uid < AppMin+10000 {
		// Apps of user 0 are u0_aN (bionic's app id naming).
		return "u0_a" + strconv.Itoa(int(uid-AppMin))
	}
	return strconv.Itoa(int(uid))
}

// Lookup is Name's inverse for chown's OWNER[:GROUP] words; a number is
// taken as it is.
func Lookup(name string) (uint32, bool) {
	switch name {
	case "root":
		return Root, true
	case "system":
		return System, true
	case "shell":
		return Shell, true
	}
	n, err := strconv.ParseUint(name, 10, 32)
	return uint32(n), err == nil
}
