// Package wifi is the Wi-Fi service: whether the radio is on, the network
// it joined, `cmd wifi`, `svc wifi` and `dumpsys wifi`. It follows the
// global wifi_on setting and writes it when the radio is switched.
package wifi

import (
	"context"
	"fmt"
	"sync"

	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/identity"
	"telltale.dev/devices/sim/shell"
)

// DefaultSSID is the network a phone has joined when it starts, as the
// emulator's virtual access point is named.
const DefaultSSID = "AndroidWifi"

// Settings is where the service keeps global:wifi_on.
type Settings interface {
	Put(ns, key, value string, uid uint32) error
}

// Wifi is the Wi-Fi service.
type Wifi struct {
	bus      *event.Bus
	settings Settings

	mu sync.Mutex
	on bool
	// ssid is the joined network; connected while the radio is on. It is
	// kept when the radio goes off, so turning it on rejoins.
	ssid string
}

// New returns the radio on and joined to DefaultSSID.
func New(bus *event.Bus, settings Settings) *Wifi {
	w := &Wifi{bus: bus, settings: settings, on: true, ssid: DefaultSSID}
	event.On(bus, func(e event.SettingChanged) {
		if e.NS == "global" && e.Key == "wifi_on" {
			w.radio(e.New != "0")
		}
	})
	return w
}

// Network says whether Wi-Fi is connected, and to which SSID.
func (w *Wifi) Network() (connected bool, ssid string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.on || w.ssid == "" {
		return false, ""
	}
	return true, w.ssid
}

// Enabled says whether the radio is on.
func (w *Wifi) Enabled() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.on
}

// SetEnabled switches the radio as WifiManager.setWifiEnabled does: the
// service records it in global:wifi_on, which it follows.
func (w *Wifi) SetEnabled(on bool) {
	v := "0"
	if on {
		v = "1"
	}
	// The setting's event switches the radio; global is always a namespace.
	_ = w.settings.Put("global", "wifi_on", v, identity.System)
}

// radio applies wifi_on.
func (w *Wifi) radio(on bool) {
	w.mu.Lock()
	was, ssid := w.on, w.ssid
	w.on = on
	w.mu.Unlock()
	switch {
	case was && !on && ssid != "":
		w.bus.Publish(event.WifiDisconnected{SSID: ssid})
	case !was && on && ssid != "":
		w.bus.Publish(event.WifiConnected{SSID: ssid, Reconnect: true})
	}
}

// Join connects to ssid as if the user chose it, turning the radio on; ""
// disconnects and forgets the network.
func (w *Wifi) Join(ssid string) {
	if ssid != "" && !w.Enabled() {
		w.SetEnabled(true)
	}
	w.mu.Lock()
	old := w.ssid
	w.ssid = ssid
	on := w.on
	w.mu.Unlock()
	if on && old != "" && old != ssid {
		w.bus.Publish(event.WifiDisconnected{SSID: old})
	}
	if on && ssid != "" {
		w.bus.Publish(event.WifiConnected{SSID: ssid})
	}
}

func errf(sio shell.IO, format string, args ...any) int {
	fmt.Fprintf(sio.Stderr, format+"\n", args...)
	return 1
}

// ShellCommand answers `cmd wifi` (Android 11+ WifiShellCommand's status,
// connect-network and set-wifi-enabled).
func (w *Wifi) ShellCommand(_ context.Context, sio shell.IO, args []string) int {
	if len(args) == 0 {
		return errf(sio, "usage: cmd wifi [status|connect-network|set-wifi-enabled] ...")
	}
	switch args[0] {
	case "status":
		if !w.Enabled() {
			fmt.Fprintln(sio.Stdout, "Wifi is disabled")
			return 0
		}
		fmt.Fprintln(sio.Stdout, "Wifi is enabled")
		if connected, ssid := w.Network(); connected {
			fmt.Fprintf(sio.Stdout, "Wifi is connected to \"%s\"\n", ssid)
		} else {
			fmt.Fprintln(sio.Stdout, "Wifi is not connected")
		}
	case "connect-network":
		if len(args) < 3 {
			return errf(sio, "Error: usage: connect-network <ssid> open|owe|wpa2|wpa3 [<passphrase>]")
		}
		if args[2] != "open" && args[2] != "owe" && len(args) < 4 {
			return errf(sio, "Error: %s networks need a passphrase", args[2])
		}
		if !w.Enabled() {
			return errf(sio, "Error: Wi-Fi is disabled; run svc wifi enable first")
		}
		w.Join(args[1])
		fmt.Fprintln(sio.Stdout, "Connection initiated")
	case "set-wifi-enabled":
		if len(args) < 2 {
			return errf(sio, "Error: usage: set-wifi-enabled enabled|disabled")
		}
		w.SetEnabled(args[1] == "enabled")
	default:
		return errf(sio, "Error: unknown wifi command %s", args[0])
	}
	return 0
}

// Svc answers `svc wifi enable|disable`.
func (w *Wifi) Svc(_ context.Context, sio shell.IO, args []string) int {
	switch args[0] {
	case "enable":
		w.SetEnabled(true)
	case "disable":
		w.SetEnabled(false)
	default:
		return errf(sio, "usage: svc wifi [enable|disable]")
	}
	return 0
}

// Dump is `dumpsys wifi`, the state lines tools read.
func (w *Wifi) Dump(_ context.Context, sio shell.IO, _ []string) int {
	connected, ssid := w.Network()
	state := map[bool]string{true: "enabled", false: "disabled"}[w.Enabled()]
	supplicant := map[bool]string{true: "COMPLETED", false: "DISCONNECTED"}[connected]
	fmt.Fprintf(sio.Stdout, "Wi-Fi is %s\nmWifiInfo SSID: \"%s\", Supplicant state: %s\n", state, ssid, supplicant)
	return 0
}
