package protocols

import "time"

// MIUI's smaller reporters: mistat (Xiaomi's MiStat SDK), the security
// center's app reports, and the ad SDK's config fetch. Paths: telemetry.md
// "Other endpoints" [S for /mistats/v3 and /api/v4/detail/config]; the
// security center's report path is modeled.
const (
	MistatPath               = "/mistats/v3"
	SecurityCenterReportPath = "/v1/apps/report"
	AdConfigPath             = "/api/v4/detail/config"
	// TrackV1Path is OneTrack's legacy form upload; the sender parameter
	// names the package (seen 2017 on MIUI 8.5).
	TrackV1Path = "/track/v1"
)

// MiStat upload policies (com/xiaomi/mistatistic/sdk/MiStatInterface
// UPLOAD_POLICY_* constants, decompiled). MIUI's SystemUI, which reports
// screen events, initialises MiStat with setUploadPolicy(WIFI_ONLY, 0)
// (MiuiSystemUI AnalyticsWrapper.init, decompiled from a MIUI 10 EU ROM).
// What WIFI_ONLY does within the SDK is modeled: an event goes as soon as
// it is recorded while Wi-Fi is up, and waits for Wi-Fi otherwise.
const (
	MistatPolicyRealtime = 0
	MistatPolicyWifiOnly = 1
	MistatPolicyBatch    = 2
	MistatPolicyInterval = 4
	// MistatMinInterval and MistatMaxInterval bound the INTERVAL policy.
	MistatMinInterval = time.Minute
	MistatMaxInterval = 24 * time.Hour
	// MistatDatabase is the SDK's SQLite file (controller/p.java).
	MistatDatabase = "mistat.db"
)
