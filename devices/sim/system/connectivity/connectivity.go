// Package connectivity is the part of ConnectivityService that follows the
// deprecated global http_proxy setting: ProxyTracker, which turns it into
// the global proxy and records that in the global_http_proxy_* settings.
// The network stack reads http_proxy itself; what this package adds is the
// settings a real phone writes in response, which stay after the proxy is
// cleared.
package connectivity

import (
	"net"
	"strconv"
	"strings"

	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/identity"
	"telltale.dev/devices/sim/system/logd"
)

// Settings is where ProxyTracker records the global proxy.
type Settings interface {
	Setting(ns, key string) (string, bool)
	Put(ns, key, value string, uid uint32) error
}

// The keys ProxyTracker writes (Settings.Global.GLOBAL_HTTP_PROXY_*).
const (
	keyHost      = "global_http_proxy_host"
	keyPort      = "global_http_proxy_port"
	keyExclusion = "global_http_proxy_exclusion_list"
	keyPAC       = "global_http_proxy_pac"
)

// defaultPort is what handleDeprecatedGlobalHttpProxy assumes when
// http_proxy has no port.
const defaultPort = 8080

// Tracker follows global:http_proxy.
type Tracker struct {
	settings Settings
	log      *logd.Log
}

// New starts following the setting on bus.
func New(bus *event.Bus, s Settings, log *logd.Log) *Tracker {
	t := &Tracker{settings: s, log: log}
	event.On(bus, func(e event.SettingChanged) {
		if e.NS == "global" && e.Key == "http_proxy" {
			t.apply(e.New)
		}
	})
	return t
}

// apply is ConnectivityService.handleDeprecatedGlobalHttpProxy followed by
// ProxyTracker.setGlobalProxy: a non-empty "HOST[:PORT]" becomes the
// global proxy (port 8080 when absent; a port that is not a number is
// ignored); a proxy with no host (":0") clears it. Either way the four
// global_http_proxy_* settings are written, empty and 0 when cleared, as
// the system user; an invalid proxy (bad host or port) is ignored and
// writes nothing.
func (t *Tracker) apply(raw string) {
	if raw == "" {
		return
	}
	host, portText, hasPort := strings.Cut(raw, ":")
	port := defaultPort
	if hasPort {
		n, err := strconv.Atoi(portText)
		if err != nil {
			return
		}
		port = n
	}
	if host == "" {
		port = 0
	} else if !validProxy(host, port) {
		t.log.Printf("D", "ProxyTracker", "Invalid proxy properties, ignoring: %s", raw)
		return
	}
	// setGlobalProxy returns early when the proxy equals the current one.
	oldHost, hadHost := t.settings.Setting("global", keyHost)
	oldPort, _ := t.settings.Setting("global", keyPort)
	if hadHost && oldHost == host && oldPort == strconv.Itoa(port) {
		return
	}
	for _, kv := range [][2]string{{keyHost, host}, {keyPort, strconv.Itoa(port)}, {keyExclusion, ""}, {keyPAC, ""}} {
		// global is always a table, and the system user may write it.
		_ = t.settings.Put("global", kv[0], kv[1], identity.System)
	}
}

// validProxy is ProxyInfo.isValid by Proxy.validate: a host name of
// letters, digits, dots and dashes (or an address) and a port of 1-65535
// (modeled: Proxy.validate's host pattern, simplified).
func validProxy(host string, port int) bool {
	if port < 1 || port > 65535 {
		return false
	}
	if net.ParseIP(host) != nil {
		return true
	}
	for _, r := range host {
		if !(r == '.' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}
