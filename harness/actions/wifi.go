package actions

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"telltale.dev/devices/adb"
	"telltale.dev/devices/profiles"
	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/journal"
	"telltale.dev/harness/session"
)

// ErrNoAccessPoint is connect-wifi on a rig without an access point.
var ErrNoAccessPoint = errors.New("connect-wifi needs an access point the rig controls: simulated phones have one; " +
	"for real phones give `telltale run --ap-hook CMD`, a command called as `CMD add SSID` and `CMD remove SSID` " +
	"that makes an open network of that name (see README, \"Wi-Fi access point\")")

// joinTimeout bounds the wait for the phone to join the network: a real
// phone scans, associates and gets an address in seconds.
const joinTimeout = 45 * time.Second

// ConnectWifi has the rig's access point broadcast the open network named
// by the canary and joins it: on Android 11+ with `cmd wifi connect-network`
// (which says "Connection initiated" whatever happens, so the join is
// waited for), on Android 10, whose `cmd wifi` has no connect-network and
// refuses the shell, in the Settings app (flow connect-wifi, with ${ssid}).
// Then, since some firmware reports the SSID only with the next charging
// event, it plugs the charger at level (not a canary: the charge spec
// covers the level). Teardown forgets the network and resets the battery;
// the framework stops the access point.
func ConnectWifi(ctx context.Context, s *session.Session, ssid canary.Canary, level int) (*Result, error) {
	p := phoneOf(s)
	p.mu.Lock()
	ap := p.opts.AccessPoint
	p.mu.Unlock()
	if ap == nil {
		return nil, ErrNoAccessPoint
	}
	return window(ctx, s, profiles.ActionConnectWifi, []canary.Canary{ssid}, func(ctx context.Context) error {
		if err := p.ready(ctx); err != nil {
			return err
		}
		if err := ap.Add(ctx, ssid.Value); err != nil {
			return fmt.Errorf("connect-wifi: the access point would not broadcast %s: %w", ssid.Value, err)
		}
		if err := p.join(ctx, ssid.Value); err != nil {
			return err
		}
		return p.plugIn(ctx, "ac", level)
	})
}

// join joins the open network ssid, journaling how to forget it, and waits
// until the phone is on it.
func (p *phone) join(ctx context.Context, ssid string) error {
	if p.sdk() >= 30 {
		// Forget it by the id list-networks gives it, whatever id it got.
		undo := fmt.Sprintf(`cmd wifi list-networks | while read id name rest; do [ "$name" = %s ] && cmd wifi forget-network "$id"; done; true`, adb.Quote(ssid))
		if err := p.s.Record(journal.Entry{Op: journal.OpWifi, Value: ssid, Command: undo}); err != nil {
			return err
		}
		out, err := p.wifi(ctx, "connect-network", ssid, "open")
		if err != nil {
			return err
		}
		if !strings.Contains(out, "Connection initiated") {
			return fmt.Errorf("connect-wifi: cmd wifi connect-network %s: %s", ssid, strings.TrimSpace(out))
		}
	} else {
		undo, err := p.run.Record("forget-wifi", map[string]string{"ssid": ssid})
		if err != nil {
			return fmt.Errorf("connect-wifi on Android 10 needs the profile's flows connect-wifi and forget-wifi: %w", err)
		}
		if err := p.s.Record(journal.Entry{Op: journal.OpUI, Value: "Wi-Fi network " + ssid + " saved", Flow: undo}); err != nil {
			return err
		}
		if err := p.flow(ctx, "connect-wifi", map[string]string{"ssid": ssid}); err != nil {
			return err
		}
	}
	return p.until(ctx, joinTimeout, "the phone to join "+ssid, func() (bool, error) { return p.joined(ctx, ssid) })
}

// joined says whether the phone is connected to ssid: `cmd wifi status`
// on Android 11+ ("Wifi is connected to "NAME""), `dumpsys wifi` on 10
// (mWifiInfo SSID: "NAME", ... Supplicant state: COMPLETED).
func (p *phone) joined(ctx context.Context, ssid string) (bool, error) {
	if p.sdk() >= 30 {
		out, err := p.wifi(ctx, "status")
		return strings.Contains(out, `connected to "`+ssid+`"`), err
	}
	out, err := p.s.Shell(ctx, "dumpsys wifi")
	if err != nil {
		return false, err
	}
	for line := range strings.Lines(out) {
		if strings.Contains(line, `mWifiInfo SSID: "`+ssid+`"`) && strings.Contains(line, "COMPLETED") {
			return true, nil
		}
	}
	return false, nil
}

// wifi runs `cmd wifi VERB ARGS`. Android 11's WifiShellCommand ends
// connect-network, forget-network, status and list-networks with `break`
// into its `return -1`, so they exit 255 after doing their work
// (frameworks/opt/net/wifi, android-11); 12 and later exit 0. Their output
// is what says how it went.
func (p *phone) wifi(ctx context.Context, verb string, args ...string) (string, error) {
	out, err := p.s.Shell(ctx, "cmd wifi "+verb, args...)
	var exit *adb.ExitError
	if p.sdk() == 30 && errors.As(err, &exit) && exit.Code == 255 && p.s.Lost() == nil {
		err = nil
	}
	if err == nil && strings.Contains(out, "Exception") {
		err = fmt.Errorf("cmd wifi %s: %s", verb, strings.TrimSpace(out))
	}
	return out, err
}
