package actions_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim"
	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/actions"
	"telltale.dev/harness/session/sessiontest"
)

// BenchmarkAction times each action on a simulated Redmi Note 8 (V12.5,
// Android 11) through a session: the whole window (marks, the action, the
// fixed 500 ms settle of the test session, the read of its flows) as ns/op,
// and the action's own part, from the start mark to the end of its UI
// flow or commands, as body-ms/op. Run with
//
//	go test ./harness/actions -run '^$' -bench Action -benchtime 5x
func BenchmarkAction(b *testing.B) {
	rig := sessiontest.New(b, "redmi-note-8", "V12.5.1.0", func(c *sim.Config) { c.TelemetryTiming = "immediate"; c.NoNoise = true })
	s := rig.Open(b)
	actions.Attach(s, actions.Options{AccessPoint: rig.AccessPoint()})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	if _, err := actions.Baseline(ctx, s); err != nil {
		b.Fatal(err)
	}
	gen := canary.NewGenerator(3)
	n := 0
	id := func() string { n++; return fmt.Sprint(n) }
	brightness := s.Profile().Actions.Settings[0]
	var installed canary.Canary
	for _, c := range []struct {
		name string
		do   func() (*actions.Result, error)
	}{
		{profiles.ActionBrowseIncognito, func() (*actions.Result, error) { return actions.BrowseIncognito(ctx, s, gen.URL(id())) }},
		{profiles.ActionSearch, func() (*actions.Result, error) { return actions.Search(ctx, s, gen.Search(id())) }},
		{profiles.ActionChangeSetting + "-brightness", func() (*actions.Result, error) {
			return actions.ChangeSetting(ctx, s, brightness.Namespace, brightness.Key, actions.SettingCanary(gen, id(), brightness))
		}},
		{profiles.ActionChangeSetting + "-device-name", func() (*actions.Result, error) {
			return actions.ChangeSetting(ctx, s, "global", "device_name", gen.SettingValue(id()))
		}},
		{profiles.ActionCreateFolder, func() (*actions.Result, error) { return actions.CreateFolder(ctx, s, gen.Folder(id())) }},
		{profiles.ActionInstallApp, func() (*actions.Result, error) {
			installed = gen.Package(id())
			return actions.InstallApp(ctx, s, installed)
		}},
		{profiles.ActionOpenApp, func() (*actions.Result, error) { return actions.OpenApp(ctx, s, installed) }},
		{profiles.ActionCharge, func() (*actions.Result, error) { return actions.Charge(ctx, s, "ac", gen.Number(id())) }},
		{profiles.ActionConnectWifi, func() (*actions.Result, error) { return actions.ConnectWifi(ctx, s, gen.SSID(id()), 40) }},
		{profiles.ActionLockScreen, func() (*actions.Result, error) { return actions.LockScreen(ctx, s) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			var body time.Duration
			for b.Loop() {
				r, err := c.do()
				if err != nil {
					b.Fatal(err)
				}
				body += r.Acted.Sub(r.Start)
			}
			b.ReportMetric(float64(body.Milliseconds())/float64(b.N), "body-ms/op")
		})
	}
}
