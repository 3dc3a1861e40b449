package apps

import (
	"errors"
	"slices"

	"telltale.dev/devices/sim/app"
	"telltale.dev/devices/sim/system/wifi"
)

// WifiManager is the Wi-Fi service as apps see it through WifiManager.
func WifiManager(w *wifi.Wifi) app.Wifi { return wifiManager{w} }

type wifiManager struct{ w *wifi.Wifi }

func (m wifiManager) Enabled() bool                          { return m.w.Enabled() }
func (m wifiManager) SetEnabled(on bool)                     { m.w.SetEnabled(on) }
func (m wifiManager) Network() (connected bool, ssid string) { return m.w.Network() }

// Scan is the access points in range. Levels fall by 7 dBm from -45 in
// the order the service lists them (modeled: the rig gives no signals).
func (m wifiManager) Scan() []app.AccessPoint {
	var out []app.AccessPoint
	for i, n := range m.w.InRange() {
		out = append(out, app.AccessPoint{SSID: n.SSID, Secured: secured(n.Security), Level: -45 - 7*i})
	}
	return out
}

func secured(security string) bool { return security == wifi.WPA2 || security == wifi.WPA3 }

func (m wifiManager) Saved(ssid string) bool {
	return slices.ContainsFunc(m.w.SavedNetworks(), func(s wifi.Saved) bool { return s.SSID == ssid })
}

// Errors the Wi-Fi page shows (modeled wording).
var (
	errWifiOff        = errors.New("Turn on Wi-Fi first")
	errNotInRange     = errors.New("Network not in range")
	errAuthentication = errors.New("Authentication problem")
)

// Connect saves and joins a network in range with the security it
// advertises, as the Settings app builds a WifiConfiguration from a scan
// result.
func (m wifiManager) Connect(ssid, passphrase string) error {
	i := slices.IndexFunc(m.w.InRange(), func(n wifi.Network) bool { return n.SSID == ssid })
	if i < 0 {
		return errNotInRange
	}
	ap := m.w.InRange()[i]
	joined, ok := m.w.Connect(wifi.Network{SSID: ssid, Security: ap.Security, Passphrase: passphrase})
	switch {
	case !ok:
		return errWifiOff
	case !joined:
		return errAuthentication
	}
	return nil
}

// Forget drops every saved network of that SSID.
func (m wifiManager) Forget(ssid string) error {
	for _, s := range m.w.SavedNetworks() {
		if s.SSID == ssid {
			m.w.Forget(s.ID)
		}
	}
	return nil
}
