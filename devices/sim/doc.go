// Package sim is the simulated phone: the state of one model and firmware
// (properties, settings, packages, files, battery, Wi-Fi, CA store), the
// shell commands the harness drives it with, and the wiring to the adb
// transport (devices/sim/adbd) and the telemetry engine
// (devices/sim/telemetry).
//
// Start serves a phone that the real adb server connects to like an
// emulator:
//
//	p, err := sim.Start(ctx, sim.Config{Model: "redmi-note-8", Firmware: "V12.0.2.0", Truth: f})
//	defer p.Close()
//	adb connect p.Serial()
//
// The shell (devices/sim/shell) understands quoting, ; && || |, > >> 2>
// 2>&1, globs and $(...), and these commands: ls mkdir rm rmdir cat echo
// printf touch cp mv chmod chown chcon id whoami grep sleep mount umount
// nsenter pidof nc toybox su getprop setprop settings pm cmd am monkey input
// dumpsys (battery, power, wifi, activity, window) svc screencap logcat
// reboot. Anything else is "not found", exit 127.
//
// Root follows the profile: `adb root` works where the profile says root
// (emulator images) and is refused on production builds. Phones of those
// builds are rooted the way research phones are, with a Magisk-style
// `su -c`, unless Config.Unrooted; then only the user CA store is within
// reach and telemetry fails TLS, as on a retail phone.
//
// /system (and on sdk 34+ the conscrypt APEX) is read-only until remounted
// or covered by a tmpfs; a reboot undoes every mount and adb root.
package sim
