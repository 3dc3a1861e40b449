package leak

import "strings"

// endpoints names known telemetry hosts. Exact hosts first; a leading dot
// matches any subdomain.
var endpoints = []struct{ host, name string }{
	{"sa.api.intl.miui.com", "Sensors Analytics (MIUI browser)"},
	{".sensorsdata.cn", "Sensors Analytics"},
	{"tracking.intl.miui.com", "OneTrack"},
	{"tracking.miui.com", "OneTrack"},
	{"tracking.india.miui.com", "OneTrack"},
	{"tracking.rus.miui.com", "OneTrack"},
	{"data.mistat.intl.xiaomi.com", "mistat"},
	{"data.mistat.xiaomi.com", "mistat"},
	{"data.mistat.india.xiaomi.com", "mistat"},
	{"data.mistat.rus.xiaomi.com", "mistat"},
	{"api.sec.intl.miui.com", "MIUI security center"},
	{"api.sec.miui.com", "MIUI security center"},
	{"sdkconfig.ad.intl.xiaomi.com", "MIUI ad config"},
	{"sdkconfig.ad.xiaomi.com", "MIUI ad config"},
	{"api.ad.xiaomi.com", "MIUI ads"},
	{"globalapi.ad.xiaomi.com", "MIUI ads"},
	{"app-measurement.com", "Google Analytics for Firebase"},
	{"firebaselogging-pa.googleapis.com", "Firebase logging"},
	{".crashlytics.com", "Crashlytics"},
	{"graph.facebook.com", "Facebook Graph API"},
}

// Endpoint names the telemetry service behind host (a port is ignored).
func Endpoint(host string) (name string, ok bool) {
	host = hostOnly(host)
	for _, e := range endpoints {
		if host == e.host || e.host[0] == '.' && (strings.HasSuffix(host, e.host) || host == e.host[1:]) {
			return e.name, true
		}
	}
	return "", false
}
