// Package sim is the simulated phone: one model and firmware that the real
// adb server connects to like an emulator, built as a real phone is, from
// services that each own their state. This package is the wiring only:
// Config and Start, and Phone, which builds the services, apps and network,
// connects them by events, gives the shell their commands and speaks for
// them to adbd. It holds no state of its own.
//
//	p, err := sim.Start(ctx, sim.Config{Model: "redmi-note-8", Firmware: "V12.0.2.0", Truth: f})
//	defer p.Close()
//	adb connect p.Serial()
//
// Where each thing lives:
//
//	adbd/               the adb transport (shell, sync, reverse, root, reboot, framebuffer: ...)
//	shell/              /system/bin/sh; who runs a command rides in its context (shell.UID)
//	toybox/             the command-line tools (toybox applets over vfs)
//	vfs/                the file system; image.go lays out what a firmware boots with
//	clock/              the phone's time: Real, or a Fake tests move by hand
//	event/              typed events and the synchronous bus between the parts
//	identity/           the Android users (root, system, shell, apps) and their names
//	content/            intents, component names, manifests (android.content)
//	system/             servicemanager (dumpsys, cmd, svc) and one package per service:
//	  props/            getprop, setprop
//	  settings/         settings, cmd settings
//	  packages/         pm, cmd package, intent resolution, installs
//	  activity/         am, monkey, the task stack, dumpsys activity
//	  power/            the display's power, the power keys, dumpsys power
//	  battery/          dumpsys battery and its overrides
//	  wifi/             cmd wifi, svc wifi, dumpsys wifi
//	  window/           the window stack, input, uiautomator dump, screencap, wm
//	  security/         adb root and su
//	  logd/             logcat
//	ui/                 view trees, the uiautomator XML, hit testing, the screenshot PNG
//	app/                the App and Activity interfaces and the host that runs apps
//	apps/               the firmware's software: manifests and one module per app
//	  launcher/         the home screen
//	  browser/          Mi Browser, Mint Browser, Chrome
//	  generic/          any other installed package
//	netstack/           the proxy setting, connections out (loopback over adb reverse
//	                    only), the CA stores TLS trusts
//	telemetry/          what the firmware reports, fed by events, and the ground truth
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
