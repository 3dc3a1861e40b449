// Package wifi is the Wi-Fi service: whether the radio is on, the access
// points in range, the saved networks (WifiConfigManager), the one joined,
// `cmd wifi` as each Android version has it, `svc wifi` and `dumpsys
// wifi`. It follows the global wifi_on setting and writes it when the
// radio is switched.
package wifi

import (
	"fmt"
	"slices"
	"sync"

	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/identity"
	"telltale.dev/devices/sim/system/logd"
)

// DefaultSSID is the access point a phone is in range of, and joined to,
// when nothing else is said: the emulator's virtual access point's name.
const DefaultSSID = "AndroidWifi"

// Security types, as `cmd wifi connect-network` names them.
const (
	Open = "open"
	OWE  = "owe"
	WPA2 = "wpa2"
	WPA3 = "wpa3"
)

// Network is an access point (in range) or a network configuration
// (saved): its SSID, security type and, for wpa2/wpa3, its passphrase.
type Network struct {
	SSID       string
	Security   string
	Passphrase string
}

// Saved is a saved network with its network id (`cmd wifi list-networks`).
type Saved struct {
	ID int
	Network
}

// Settings is where the service keeps global:wifi_on.
type Settings interface {
	Setting(ns, key string) (string, bool)
	Put(ns, key, value string, uid uint32) error
}

// Config builds the Wi-Fi service.
type Config struct {
	Bus      *event.Bus
	Settings Settings
	Log      *logd.Log
	// SDK is the firmware's API level, which decides what `cmd wifi` has
	// and who may use it.
	SDK int
	// InRange are the access points the phone can see at start; nil means
	// one open network named DefaultSSID. The first one is saved and
	// joined, as the network the phone was set up on.
	InRange []Network
}

// Wifi is the Wi-Fi service.
type Wifi struct {
	cfg Config

	mu      sync.Mutex
	on      bool
	inRange []Network
	saved   []Saved
	nextID  int
	// joined is the SSID of the network connected to; "" when none. last
	// is the one joined before the radio went off.
	joined, last string
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// New returns the radio on, joined to the first network in range.
func New(cfg Config) *Wifi {
	if cfg.InRange == nil {
		cfg.InRange = []Network{{SSID: DefaultSSID, Security: Open}}
	}
	w := &Wifi{cfg: cfg, on: true, inRange: slices.Clone(cfg.InRange)}
	if len(w.inRange) > 0 {
		w.saved = []Saved{{ID: 0, Network: w.inRange[0]}}
		w.nextID = 1
		w.joined = w.inRange[0].SSID
	}
	event.On(cfg.Bus, func(e event.SettingChanged) {
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
	if !w.on || w.joined == "" {
		return false, ""
	}
	return true, w.joined
}

// Enabled says whether the radio is on.
func (w *Wifi) Enabled() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.on
}

// InRange lists the access points the phone can see (a scan's results), or
// none while the radio is off.
func (w *Wifi) InRange() []Network {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.on {
		return nil
	}
	return slices.Clone(w.inRange)
}

// SavedNetworks lists the saved networks in id order.
func (w *Wifi) SavedNetworks() []Saved {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.saved)
}

// SetEnabled switches the radio as WifiManager.setWifiEnabled does: the
// service records it in global:wifi_on, which it follows.
func (w *Wifi) SetEnabled(on bool) {
	v := "0"
	if on {
		v = "1"
	}
	// The setting's event switches the radio; global is always a namespace
	// and the system user may write it.
	_ = w.cfg.Settings.Put("global", "wifi_on", v, identity.System)
}

// change is what a state change announces once the lock is released.
type change struct {
	left, joined string
	reconnect    bool
}

func (w *Wifi) announce(c change) {
	if c.left != "" {
		w.cfg.Bus.Publish(event.WifiDisconnected{SSID: c.left})
		w.cfg.Log.Printf("I", "WifiClientModeImpl", "disconnected from %q", c.left)
	}
	if c.joined != "" {
		w.cfg.Bus.Publish(event.WifiConnected{SSID: c.joined, Reconnect: c.reconnect})
		w.cfg.Log.Printf("I", "WifiClientModeImpl", "connected to %q", c.joined)
	}
}

// radio applies wifi_on: off leaves the network, on rejoins a saved one in
// range.
func (w *Wifi) radio(on bool) {
	w.mu.Lock()
	var c change
	was := w.on
	w.on = on
	switch {
	case was && !on:
		c.left, w.last, w.joined = w.joined, w.joined, ""
	case !was && on:
		c.joined, c.reconnect = w.autojoinLocked(), true
	}
	w.mu.Unlock()
	w.announce(c)
}

// autojoinLocked joins a saved network in range when the radio is on and
// nothing is joined, the last one joined first, then in saved order
// (network selection, modeled), and returns its SSID, or "". w.mu is held.
func (w *Wifi) autojoinLocked() string {
	if !w.on {
		return ""
	}
	if w.joined != "" {
		return ""
	}
	candidates := slices.Clone(w.saved)
	slices.SortStableFunc(candidates, func(a, b Saved) int {
		return boolInt(b.SSID == w.last) - boolInt(a.SSID == w.last)
	})
	for _, s := range candidates {
		if w.reachableLocked(s.Network) {
			w.joined = s.SSID
			return s.SSID
		}
	}
	return ""
}

// reachableLocked says whether cfg can join an access point in range: same
// SSID and security, and the right passphrase (modeled: a wrong one fails
// authentication and the phone stays off that network). w.mu is held.
func (w *Wifi) reachableLocked(cfg Network) bool {
	i := slices.IndexFunc(w.inRange, func(n Network) bool { return n.SSID == cfg.SSID })
	if i < 0 {
		return false
	}
	ap := w.inRange[i]
	if ap.Security != cfg.Security {
		return false
	}
	return (ap.Security != WPA2 && ap.Security != WPA3) || ap.Passphrase == cfg.Passphrase
}

// Connect saves cfg (replacing a saved network of the same SSID and
// security, as WifiConfigManager updates one) and joins it if it is in
// range, leaving the current network; a network out of range stays saved
// and unjoined, and the current connection stays. ok is false with the
// radio off, where nothing is saved (modeled: the connect is refused).
func (w *Wifi) Connect(cfg Network) (joined, ok bool) {
	w.mu.Lock()
	if !w.on {
		w.mu.Unlock()
		return false, false
	}
	if i := slices.IndexFunc(w.saved, func(s Saved) bool { return s.SSID == cfg.SSID && s.Security == cfg.Security }); i >= 0 {
		w.saved[i].Network = cfg
	} else {
		w.saved = append(w.saved, Saved{ID: w.nextID, Network: cfg})
		w.nextID++
	}
	var c change
	if w.reachableLocked(cfg) && w.joined != cfg.SSID {
		c.left, c.joined = w.joined, cfg.SSID
		w.joined = cfg.SSID
	}
	joined = w.joined == cfg.SSID
	w.mu.Unlock()
	w.announce(c)
	return joined, true
}

// Forget removes the saved network id, leaving it if joined (and joining
// another saved network in range); false when no network has that id.
func (w *Wifi) Forget(id int) bool {
	w.mu.Lock()
	i := slices.IndexFunc(w.saved, func(s Saved) bool { return s.ID == id })
	if i < 0 {
		w.mu.Unlock()
		return false
	}
	gone := w.saved[i]
	w.saved = slices.Delete(w.saved, i, i+1)
	var c change
	if w.joined == gone.SSID {
		c.left, w.joined = gone.SSID, ""
		c.joined = w.autojoinLocked()
	}
	w.mu.Unlock()
	w.announce(c)
	return true
}

// AddInRange puts an access point in range (or changes one of the same
// SSID): the rig's access point coming up. A saved network it matches is
// joined when nothing is.
func (w *Wifi) AddInRange(n Network) {
	w.mu.Lock()
	if i := slices.IndexFunc(w.inRange, func(x Network) bool { return x.SSID == n.SSID }); i >= 0 {
		w.inRange[i] = n
	} else {
		w.inRange = append(w.inRange, n)
	}
	c := change{joined: w.autojoinLocked(), reconnect: true}
	w.mu.Unlock()
	w.announce(c)
}

// RemoveInRange takes an access point out of range; the phone leaves it if
// joined and joins another saved network in range. It says whether the
// SSID was in range.
func (w *Wifi) RemoveInRange(ssid string) bool {
	w.mu.Lock()
	i := slices.IndexFunc(w.inRange, func(x Network) bool { return x.SSID == ssid })
	if i < 0 {
		w.mu.Unlock()
		return false
	}
	w.inRange = slices.Delete(w.inRange, i, i+1)
	var c change
	if w.joined == ssid {
		c.left, w.joined = ssid, ""
		c.joined, c.reconnect = w.autojoinLocked(), true
	}
	w.mu.Unlock()
	w.announce(c)
	return true
}

// scanAlways says whether scanning stays on with the radio off
// (global:wifi_scan_always_enabled; unset means off, modeled).
func (w *Wifi) scanAlways() bool {
	v, _ := w.cfg.Settings.Setting("global", "wifi_scan_always_enabled")
	return v == "1"
}

// String is a saved network in list-networks' columns.
func (s Saved) String() string {
	return fmt.Sprintf("%-12d %-32s %-4s", s.ID, s.SSID, s.Security)
}
