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
//	  keyguard/         the lock screen after sleep and reboot
//	  connectivity/     ProxyTracker: global_http_proxy_* from http_proxy
//	  security/         kinds of phone: adb root, su (Magisk's, AOSP's), MIUI's gates
//	  logd/             logcat
//	ui/                 view trees, the uiautomator XML, hit testing, gestures, the screenshot PNG
//	  widget/           the views screens are built of (MIUI pages, lists, fields, dialogs, menus)
//	app/                the App and Activity interfaces and the host that runs apps
//	apps/               the firmware's software: manifests and one module per app
//	  launcher/         the home screen
//	  browser/          Mi Browser, Mint Browser (and their settings), Chrome
//	  settings/         Settings: Display, About phone, Wi-Fi, Developer options
//	                    (and Security's warning before "USB debugging (Security settings)")
//	  files/            Mi File Manager: folders, new folder, open folder
//	  generic/          any other installed package
//	  dialog/           a system dialog counting down on the phone's clock
//	  magisk/           Magisk's su prompt (SuRequestActivity)
//	  securitycenter/   MIUI's adb-install confirmation (AdbInstallActivity)
//	  flutternews/      a Flutter app whose uploads ignore the proxy setting (modeled)
//	  cronetvideo/      a Cronet app that tries QUIC first (modeled)
//	netstack/           sockets owned by uids (to the host only over adb reverse; any
//	                    other address is the modeled outside, which answers as the
//	                    real servers accept uploads), /proc/net, listeners for
//	                    nc -l and adb forward, the proxy setting, the CA stores
//	  uplink/           HTTPS as the phone's clients speak it: through the global
//	                    proxy, or straight to the server (iptables decide the rest)
//	netfilter/          iptables / ip6tables: netd's boot tables, rules, verdicts
//	sdk/                the apps' telemetry SDKs, fed by triggers from the apps
//	                    (rules.yaml), `dumpsys telltale_telemetry`
//	  sensors/          Sensors Analytics (15 s batches, $AppEnd)
//	  onetrack/         OneTrack (priorities, key exchange, retry)
//	  jsonpost/         mistat and the security center's reports
//	  beacon/           requests on a timer (config fetch, heartbeat)
//	  eventdb/          each SDK's event table in its app's data
//	  groundtruth/      the log of every event from queued to sent or bypassed
//	                    (the SDKs' events and the apps' own uploads, sdk/own.go)
//
// Root follows the kind of phone (Config.Kind): `adb root` works on the
// emulator kind (userdebug images, profiles with root) and is refused on
// production builds. A research phone (the default for those) is rooted
// with Magisk's `su -c` and has MIUI's two Developer options toggles on; a
// stock phone has no su and the toggles off, so MIUI refuses the shell
// secure settings, injected input and installs, and only the user CA store
// is within reach.
//
// /system (and on sdk 34+ the conscrypt APEX) is read-only until remounted
// or covered by a tmpfs; a reboot undoes every mount and adb root.
package sim
