// Package protocols is the vendor catalogue: what each telemetry service
// telltale meets looks like on the wire. It sits at the bottom of the house
// so that the three places which must agree on it read one description: the
// simulated phone's SDKs encode with it, the proxy's sinkhole answers with
// it, and the detector decodes with it.
//
// Each fact carries its source in a comment; what no public source states is
// marked "modeled" (see shared/reference/telemetry.md and miui-ui.md, from
// which these notes were taken).
package protocols

import "strings"

// Service IDs, as profiles name them.
const (
	SensorsAnalytics = "sensors-analytics"
	OneTrack         = "onetrack"
	Mistat           = "mistat"
	SecurityCenter   = "security-center"
	AdConfig         = "ad-config"
	MIUIAds          = "miui-ads"
	Firebase         = "firebase"
	FirebaseLogging  = "firebase-logging"
	Crashlytics      = "crashlytics"
	FacebookGraph    = "facebook-graph"
)

// Regions of MIUI builds (ro.miui.region is "global" on international ROMs,
// which report to the *.intl.* hosts).
const (
	RegionGlobal = "global"
	RegionChina  = "cn"
	RegionIndia  = "in"
	RegionRussia = "ru"
)

// Host is one host a service reports to. A leading dot matches the domain
// and any subdomain. Region is "" for hosts every region uses.
type Host struct {
	Name   string
	Region string
}

// Service is one telemetry service.
type Service struct {
	ID    string
	Name  string // for reports: "OneTrack"
	Hosts []Host
}

// services is the catalogue. Hosts: telemetry.md, "Sensors Analytics",
// "OneTrack", "Other endpoints" [S]; the regional OneTrack and mistat hosts
// follow the naming MIUI uses for each region [S for tracking.*, modeled for
// the regional mistat hosts].
var services = []Service{
	{SensorsAnalytics, "Sensors Analytics", []Host{
		{"sa.api.intl.miui.com", RegionGlobal}, {".sensorsdata.cn", ""}}},
	{OneTrack, "OneTrack", []Host{
		{"tracking.intl.miui.com", RegionGlobal}, {"tracking.miui.com", RegionChina},
		{"tracking.india.miui.com", RegionIndia}, {"tracking.rus.miui.com", RegionRussia}}},
	{Mistat, "mistat", []Host{
		{"data.mistat.intl.xiaomi.com", RegionGlobal}, {"data.mistat.xiaomi.com", RegionChina},
		{"data.mistat.india.xiaomi.com", RegionIndia}, {"data.mistat.rus.xiaomi.com", RegionRussia}}},
	{SecurityCenter, "MIUI security center", []Host{
		{"api.sec.intl.miui.com", RegionGlobal}, {"api.sec.miui.com", RegionChina}}},
	{AdConfig, "MIUI ad config", []Host{
		{"sdkconfig.ad.intl.xiaomi.com", RegionGlobal}, {"sdkconfig.ad.xiaomi.com", RegionChina}}},
	{MIUIAds, "MIUI ads", []Host{{"api.ad.xiaomi.com", ""}, {"globalapi.ad.xiaomi.com", RegionGlobal}}},
	{Firebase, "Google Analytics for Firebase", []Host{{"app-measurement.com", ""}}},
	{FirebaseLogging, "Firebase logging", []Host{{"firebaselogging-pa.googleapis.com", ""}}},
	{Crashlytics, "Crashlytics", []Host{{".crashlytics.com", ""}}},
	{FacebookGraph, "Facebook Graph API", []Host{{"graph.facebook.com", ""}}},
}

// Services lists the catalogue.
func Services() []Service { return services }

// ByID returns the service with that ID.
func ByID(id string) (Service, bool) {
	for _, s := range services {
		if s.ID == id {
			return s, true
		}
	}
	return Service{}, false
}

// Lookup names the service behind host (a port is ignored).
func Lookup(host string) (Service, bool) {
	host = strings.ToLower(hostOnly(host))
	// Exact hosts win over suffixes, whatever their order in the catalogue.
	for _, suffix := range []bool{false, true} {
		for _, s := range services {
			for _, h := range s.Hosts {
				if (h.Name[0] == '.') != suffix {
					continue
				}
				if host == h.Name || suffix && (strings.HasSuffix(host, h.Name) || host == h.Name[1:]) {
					return s, true
				}
			}
		}
	}
	return Service{}, false
}

// HostsOf returns the exact hosts the services report to from a build of
// region ("" matches every region's hosts).
func HostsOf(region string, ids ...string) []string {
	var out []string
	for _, id := range ids {
		s, ok := ByID(id)
		if !ok {
			continue
		}
		for _, h := range s.Hosts {
			if h.Name[0] != '.' && (region == "" || h.Region == "" || h.Region == region) {
				out = append(out, h.Name)
			}
		}
	}
	return out
}

func hostOnly(hostport string) string {
	if strings.HasPrefix(hostport, "[") {
		if i := strings.IndexByte(hostport, ']'); i >= 0 {
			return hostport[1:i]
		}
	}
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && !strings.Contains(hostport[:i], ":") {
		return hostport[:i]
	}
	return hostport
}
