package wifi

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"telltale.dev/devices/sim/identity"
	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/system"
)

// WifiShellCommand differs most between releases. Sources:
//   - Android 10 (frameworks/opt/net/wifi, android-10): checkRootPermission
//     first for every command, "Uid N does not have access to wifi
//     commands"; only tuning commands for root, no status or
//     connect-network.
//   - Android 11 (frameworks/opt/net/wifi, LineageOS lineage-18.1):
//     NON_PRIVILEGED_COMMANDS open to the shell, others "Uid N does not
//     have access to CMD wifi command"; status, list-networks,
//     connect-network, forget-network, list-scan-results and start-scan
//     `break` out of the switch and fall to `return -1`, so they exit 255
//     after doing their work.
//   - Android 12 on (packages/modules/Wifi): every command returns 0 on
//     success; status prints through printStatus, from 13 under a
//     "==== Primary ClientModeManager instance ====" header for the shell
//     (modeled boundary: the header's release).
const (
	sdkQ = 29
	sdkR = 30
	sdkT = 33
)

// nonPrivileged are the commands the shell may use on Android 11 and later
// (WifiShellCommand.NON_PRIVILEGED_COMMANDS, those this phone has).
var nonPrivileged = []string{"connect-network", "forget-network", "list-scan-results", "list-networks",
	"set-wifi-enabled", "start-scan", "status", "help", "-h"}

// rootOnlyQ are Android 10's commands (all for root): tuning knobs that
// change nothing this phone models.
var rootOnlyQ = []string{"set-ipreach-disconnect", "get-ipreach-disconnect", "set-poll-rssi-interval-msecs",
	"get-poll-rssi-interval-msecs", "force-hi-perf-mode", "force-low-latency-mode", "send-link-probe"}

// ShellCommand answers `cmd wifi`.
func (w *Wifi) ShellCommand(ctx context.Context, sio shell.IO, args []string) int {
	verb := "help"
	if len(args) > 0 && args[0] != "" {
		verb = args[0]
	}
	uid := shell.UID(ctx)
	if w.cfg.SDK <= sdkQ {
		if uid != identity.Root {
			return w.denied(sio, verb, fmt.Sprintf("Uid %d does not have access to wifi commands", uid))
		}
		if slices.Contains(rootOnlyQ, verb) {
			return 0
		}
		return system.UnknownCommand(sio, verb)
	}
	if !slices.Contains(nonPrivileged, verb) && uid != identity.Root {
		return w.denied(sio, verb, fmt.Sprintf("Uid %d does not have access to %s wifi command", uid, verb))
	}
	code, err := w.run(sio, verb, args[min(1, len(args)):])
	if err != nil {
		// BasicShellCommandHandler.getNextArgRequired and Integer.parseInt
		// throw IllegalArgumentException (NumberFormatException is one),
		// which onCommand catches and prints on stdout.
		fmt.Fprintf(sio.Stdout, "Invalid args for %s: %v\n", verb, err)
		return system.ExitException
	}
	return code
}

// denied is WifiShellCommand's SecurityException for the shell user.
func (w *Wifi) denied(sio shell.IO, verb, msg string) int {
	frames := []string{"com.android.server.wifi.WifiShellCommand.onCommand(WifiShellCommand.java)"}
	if w.cfg.SDK <= sdkQ {
		frames = []string{"com.android.server.wifi.WifiShellCommand.checkRootPermission(WifiShellCommand.java)",
			"com.android.server.wifi.WifiShellCommand.onCommand(WifiShellCommand.java)",
			"android.os.ShellCommand.exec(ShellCommand.java)"}
	} else {
		frames = append(frames, "android.os.BasicShellCommandHandler.exec(BasicShellCommandHandler.java)")
	}
	frames = append(frames, "com.android.server.wifi.WifiServiceImpl.onShellCommand(WifiServiceImpl.java)",
		"android.os.Binder.shellCommand(Binder.java)", "android.os.Binder.onTransact(Binder.java)")
	return system.Throw(sio, w.cfg.SDK, verb, system.Throwable{Class: "java.lang.SecurityException", Message: msg, Frames: frames})
}

// javaError is an exception a WifiShellCommand case throws and its catch
// prints as "Invalid args for CMD: " + the exception.
type javaError struct{ class, msg string }

func (e javaError) Error() string { return e.class + ": " + e.msg }

// argAfter is BasicShellCommandHandler.getNextArgRequired's complaint.
func argAfter(prev string) error {
	return javaError{"java.lang.IllegalArgumentException", fmt.Sprintf("Argument expected after \"%s\"", prev)}
}

// run carries out a command the caller may use. A command that Android 11
// ends with `break` returns done, which is 255 there and 0 later.
func (w *Wifi) run(sio shell.IO, verb string, args []string) (int, error) {
	done := 0
	if w.cfg.SDK == sdkR {
		done = system.ExitException
	}
	switch verb {
	case "status":
		w.status(sio)
	case "list-networks":
		saved := w.SavedNetworks()
		if len(saved) == 0 {
			fmt.Fprintln(sio.Stdout, "No networks")
			break
		}
		fmt.Fprintln(sio.Stdout, "Network Id      SSID                         Security type")
		for _, s := range saved {
			fmt.Fprintln(sio.Stdout, s)
		}
	case "list-scan-results":
		w.scanResults(sio)
	case "start-scan":
	case "connect-network":
		cfg, err := connectArgs(args)
		if err != nil {
			return 0, err
		}
		if _, ok := w.Connect(cfg); ok {
			// onSuccess's line, trailing space and all: the connection
			// is initiated, not made.
			fmt.Fprintln(sio.Stdout, "Connection initiated ")
		} else {
			fmt.Fprintln(sio.Stdout, "Connection failed")
		}
	case "forget-network":
		if len(args) == 0 {
			return 0, argAfter("forget-network")
		}
		id, err := strconv.ParseInt(args[0], 10, 32)
		if err != nil {
			return 0, javaError{"java.lang.NumberFormatException", fmt.Sprintf("For input string: \"%s\"", args[0])}
		}
		if w.Forget(int(id)) {
			fmt.Fprintln(sio.Stdout, "Forget successful")
		} else {
			fmt.Fprintln(sio.Stdout, "Forget failed")
		}
	case "set-wifi-enabled":
		if len(args) == 0 {
			return 0, argAfter("set-wifi-enabled")
		}
		switch args[0] {
		case "enabled", "disabled":
			w.SetEnabled(args[0] == "enabled")
		default:
			return 0, javaError{"java.lang.IllegalArgumentException",
				fmt.Sprintf("Expected 'enabled' or 'disabled' as next arg but got '%s'", args[0])}
		}
		return 0, nil
	case "help", "-h":
		fmt.Fprint(sio.Stdout, help)
		return 0, nil
	default:
		return system.UnknownCommand(sio, verb), nil
	}
	return done, nil
}

// connectArgs is buildWifiConfiguration: SSID, type, a passphrase for
// wpa2 and wpa3, then options (-m, -d) this phone ignores.
func connectArgs(args []string) (Network, error) {
	if len(args) < 1 {
		return Network{}, argAfter("connect-network")
	}
	if len(args) < 2 {
		return Network{}, argAfter(args[0])
	}
	n := Network{SSID: args[0], Security: args[1]}
	switch n.Security {
	case WPA2, WPA3:
		if len(args) < 3 {
			return Network{}, argAfter(args[1])
		}
		n.Passphrase = args[2]
	case Open, OWE:
	default:
		return Network{}, javaError{"java.lang.IllegalArgumentException", "Unknown network type " + n.Security}
	}
	return n, nil
}

// status is the status command: the radio, scanning, and the connection as
// WifiInfo.toString gives it to the shell (BSSID and MAC redacted, link
// figures modeled).
func (w *Wifi) status(sio shell.IO) {
	out := sio.Stdout
	on := w.Enabled()
	fmt.Fprintf(out, "Wifi is %s\n", map[bool]string{true: "enabled", false: "disabled"}[on])
	scan := "only available when wifi is enabled"
	if w.scanAlways() {
		scan = "always available"
	}
	fmt.Fprintf(out, "Wifi scanning is %s\n", scan)
	if !on {
		return
	}
	if w.cfg.SDK >= sdkT {
		fmt.Fprintln(out, "==== Primary ClientModeManager instance ====")
	}
	connected, ssid := w.Network()
	if !connected {
		fmt.Fprintln(out, "Wifi is not connected")
		return
	}
	fmt.Fprintf(out, "Wifi is connected to \"%s\"\n", ssid)
	fmt.Fprintf(out, "WifiInfo: SSID: \"%s\", BSSID: 02:00:00:00:00:00, MAC: 02:00:00:00:00:00, Supplicant state: COMPLETED, "+
		"RSSI: -55, Link speed: 433Mbps, Tx Link speed: 433Mbps, Rx Link speed: 433Mbps, Frequency: 5180MHz, Net ID: %d, "+
		"Metered hint: false, score: 60\n", ssid, w.netID(ssid))
	if w.cfg.SDK > sdkR {
		fmt.Fprint(out, "successfulTxPackets: 0\nsuccessfulTxPacketsPerSecond: 0.0\nretriedTxPackets: 0\nretriedTxPacketsPerSecond: 0.0\n"+
			"lostTxPackets: 0\nlostTxPacketsPerSecond: 0.0\nsuccessfulRxPackets: 0\nsuccessfulRxPacketsPerSecond: 0.0\n")
	}
}

// netID is the saved network id of ssid (-1 when not saved).
func (w *Wifi) netID(ssid string) int {
	for _, s := range w.SavedNetworks() {
		if s.SSID == ssid {
			return s.ID
		}
	}
	return -1
}

// scanResults is list-scan-results in ScanResultUtil.dumpScanResults'
// columns (modeled widths and figures).
func (w *Wifi) scanResults(sio shell.IO) {
	aps := w.InRange()
	if len(aps) == 0 {
		fmt.Fprintln(sio.Stdout, "No scan results")
		return
	}
	fmt.Fprintf(sio.Stdout, "    %-17s  %9s  %5s  %9s  %-32s  %s\n", "BSSID", "Frequency", "RSSI", "Age(sec)", "SSID", "Flags")
	for i, ap := range aps {
		flags := map[string]string{Open: "[ESS]", OWE: "[RSN-OWE-CCMP][ESS]", WPA2: "[WPA2-PSK-CCMP][ESS]", WPA3: "[RSN-SAE-CCMP][ESS]"}[ap.Security]
		fmt.Fprintf(sio.Stdout, "  %-17s  %9d  %5d  %9.3f  %-32s  %s\n", fmt.Sprintf("02:00:00:00:01:%02x", i), 5180, -55, 1.0, "\""+ap.SSID+"\"", flags)
	}
}

// help is the non-privileged part of WifiShellCommand.onHelp (Android 11+).
const help = `Wi-Fi (wifi) commands:
  help or -h
    Print this help text.
  set-wifi-enabled enabled|disabled
    Enables/disables Wifi on this device.
  list-scan-results
    Lists the latest scan results
  start-scan
    Start a new scan
  list-networks
    Lists the saved networks
  connect-network <ssid> open|owe|wpa2|wpa3 [<passphrase>] [-m] [-d]
    Connect to a network with provided params and add to saved networks list
  forget-network <networkId>
    Remove the network mentioned by <networkId>
        - Use list-networks to retrieve <networkId> for the network
  status
    Current wifi status
`

// Svc answers `svc wifi enable|disable`.
func (w *Wifi) Svc(_ context.Context, sio shell.IO, args []string) int {
	switch args[0] {
	case "enable":
		w.SetEnabled(true)
	case "disable":
		w.SetEnabled(false)
	default:
		fmt.Fprintln(sio.Stderr, "usage: svc wifi [enable|disable]")
		return 1
	}
	return 0
}

// Dump is `dumpsys wifi`, the state lines tools read (modeled subset).
func (w *Wifi) Dump(_ context.Context, sio shell.IO, _ []string) int {
	connected, ssid := w.Network()
	state := map[bool]string{true: "enabled", false: "disabled"}[w.Enabled()]
	supplicant := map[bool]string{true: "COMPLETED", false: "DISCONNECTED"}[connected]
	fmt.Fprintf(sio.Stdout, "Wi-Fi is %s\nmWifiInfo SSID: \"%s\", Supplicant state: %s\n", state, ssid, supplicant)
	return 0
}
