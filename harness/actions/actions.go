// Package actions does the user actions a scenario asks for on a prepared
// session, the way the device's profile says, each inside a marked window of
// the proxy's flow log, and returns what the detector found in that window.
package actions

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"telltale.dev/devices/adb"
	"telltale.dev/devices/profiles"
	"telltale.dev/fixtures/apk"
	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/capture"
	"telltale.dev/harness/journal"
	"telltale.dev/harness/leak"
	"telltale.dev/harness/session"
)

// Result is one action's window and what was found in it.
type Result struct {
	Action   string
	Window   string // the window's name: the marks are "start:"+Window and "end:"+Window
	Canaries []canary.Canary
	// Flows are the window's flows, marks excluded.
	Flows  []capture.Flow
	Report leak.Report
	// Diff is what appeared in the window and not in the session's idle baseline.
	Diff             leak.Diff
	StartSeq, EndSeq int64
	Start, End       time.Time
	// Settle is the part of End-Start spent waiting for telemetry; the rest
	// is the harness's own overhead plus the device's command time.
	Settle time.Duration
}

// Overhead is the window's length minus the settle wait.
func (r *Result) Overhead() time.Duration { return r.End.Sub(r.Start) - r.Settle }

// window runs do between a start and an end mark, waits the settle window,
// and scans the flows in between for the canaries. On an error from do the
// end mark is still posted, so the log stays well formed, and the partial
// result (with whatever flows arrived) comes back with the error.
func window(ctx context.Context, s *session.Session, action string, cs []canary.Canary, do func(context.Context) error) (*Result, error) {
	r := &Result{Action: action, Window: s.NextWindow(action), Canaries: cs}
	r.Start = time.Now()
	start, err := s.Mark(ctx, "start:"+r.Window)
	if err != nil {
		return r, fmt.Errorf("%s: mark window start: %w", action, err)
	}
	r.StartSeq = start.Seq
	doErr := do(ctx)
	if doErr == nil {
		r.Settle = s.Settle()
		doErr = s.Wait(ctx, s.Settle())
	}
	end, err := s.Mark(context.WithoutCancel(ctx), "end:"+r.Window)
	r.End = time.Now()
	if err != nil {
		return r, errors.Join(doErr, fmt.Errorf("%s: mark window end: %w", action, err))
	}
	r.EndSeq = end.Seq
	flows, err := s.Flows(context.WithoutCancel(ctx), 0)
	if err != nil {
		return r, errors.Join(doErr, fmt.Errorf("%s: read flows: %w", action, err))
	}
	r.Flows = capture.Between(flows, capture.Window{Name: r.Window, Start: start.Seq, End: end.Seq})
	r.Report = scan(cs, flows, start.Seq, end.Seq)
	r.Diff = leak.Differential(s.Baseline(), r.Flows)
	if doErr != nil {
		return r, fmt.Errorf("%s: %w", action, doErr)
	}
	return r, nil
}

// scan finds the canaries in the window (start, end) of flows. The detector
// is given every flow up to the window's end, because keyed decryption
// (OneTrack) needs the key exchange, which an app makes once, often long
// before the window; findings and caps outside the window are dropped and
// entries renumbered to index the window's requests.
func scan(cs []canary.Canary, flows []capture.Flow, start, end int64) leak.Report {
	var input []capture.Flow
	entrySeq := map[int]int64{} // entry index in input -> seq
	windowEntry := map[int64]int{}
	for _, f := range flows {
		if f.Kind == capture.KindMark || f.Seq >= end {
			continue
		}
		if f.Request != nil && (f.Kind == capture.KindHTTP || f.Kind == capture.KindWebSocket) {
			entrySeq[len(entrySeq)] = f.Seq
			if f.Seq > start {
				windowEntry[f.Seq] = len(windowEntry)
			}
		}
		input = append(input, f)
	}
	all := leak.New(cs).Scan(input)
	rep := leak.Report{Findings: []leak.Finding{}, Capped: []leak.Capped{}, Entries: len(windowEntry)}
	for _, f := range all.Findings {
		if i, ok := windowEntry[entrySeq[f.Entry]]; ok {
			f.Entry, f.Seq = i, entrySeq[f.Entry]
			rep.Findings = append(rep.Findings, f)
		}
	}
	for _, c := range all.Capped {
		if i, ok := windowEntry[entrySeq[c.Entry]]; ok {
			c.Entry = i
			rep.Capped = append(rep.Capped, c)
		}
	}
	return rep
}

// Baseline records the session's idle window once: the flows of one settle
// window with no action, which every later Diff is taken against.
func Baseline(ctx context.Context, s *session.Session) (*Result, error) {
	if b := s.Baseline(); b != nil {
		return &Result{Action: "idle", Flows: b}, nil
	}
	r, err := window(ctx, s, "idle", nil, func(context.Context) error { return nil })
	if err != nil {
		return r, err
	}
	s.SetBaseline(r.Flows)
	return r, nil
}

// BrowseIncognito opens url in an incognito tab of the profile's browser.
func BrowseIncognito(ctx context.Context, s *session.Session, c canary.Canary) (*Result, error) {
	return window(ctx, s, profiles.ActionBrowseIncognito, []canary.Canary{c}, func(ctx context.Context) error {
		return openInBrowser(ctx, s, c.Value)
	})
}

// Search searches for the canary's phrase in the browser's incognito tab,
// through the profile's search URL.
func Search(ctx context.Context, s *session.Session, c canary.Canary) (*Result, error) {
	b := s.Profile().Actions.Browser
	if b.SearchURL == "" {
		return nil, fmt.Errorf("search: profile %s has no actions.browser.search_url", s.Profile().Name)
	}
	u := strings.Replace(b.SearchURL, "%s", strings.ReplaceAll(url.QueryEscape(c.Value), "+", "%20"), 1)
	return window(ctx, s, profiles.ActionSearch, []canary.Canary{c}, func(ctx context.Context) error {
		return openInBrowser(ctx, s, u)
	})
}

func openInBrowser(ctx context.Context, s *session.Session, u string) error {
	b := s.Profile().Actions.Browser
	if b.Component == "" {
		return fmt.Errorf("profile %s has no actions.browser.component", s.Profile().Name)
	}
	args := []string{"-a", "android.intent.action.VIEW", "-d", u, "-n", b.Component}
	if b.IncognitoExtra != "" {
		args = append(args, "--ez", b.IncognitoExtra, "true")
	}
	_, err := s.Shell(ctx, "am start", args...)
	return err
}

// InstallApp builds a minimal signed APK whose package name is the canary
// and installs it; teardown uninstalls it.
func InstallApp(ctx context.Context, s *session.Session, c canary.Canary) (*Result, error) {
	b, err := apk.Build(apk.Options{Package: c.Value, Label: "telltale " + c.ID})
	if err != nil {
		return nil, fmt.Errorf("install-app: build APK for %s: %w", c.Value, err)
	}
	path := filepath.Join(s.Dir(), "apk", c.Value+".apk")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return nil, err
	}
	return window(ctx, s, profiles.ActionInstallApp, []canary.Canary{c}, func(ctx context.Context) error {
		return s.Install(ctx, path, c.Value)
	})
}

// OpenApp launches a package the way monkey does (its launcher activity).
func OpenApp(ctx context.Context, s *session.Session, c canary.Canary) (*Result, error) {
	return window(ctx, s, profiles.ActionOpenApp, []canary.Canary{c}, func(ctx context.Context) error {
		_, err := s.Shell(ctx, "monkey -p", c.Value, "-c", "android.intent.category.LAUNCHER", "1")
		return err
	})
}

// Charge plugs a simulated charger (ac, usb or wireless) and sets the
// battery level to the canary's number; teardown resets the battery.
func Charge(ctx context.Context, s *session.Session, plugged string, level canary.Canary) (*Result, error) {
	ch := s.Profile().Actions.Charge
	n, err := strconv.Atoi(level.Value)
	if err != nil {
		return nil, fmt.Errorf("charge: level canary %q is not a number", level.Value)
	}
	return window(ctx, s, profiles.ActionCharge, []canary.Canary{level}, func(ctx context.Context) error {
		return plugIn(ctx, s, ch, plugged, n)
	})
}

func plugIn(ctx context.Context, s *session.Session, ch profiles.Charge, plugged string, level int) error {
	if err := s.Record(journal.Entry{Op: journal.OpBattery, Command: ch.Reset}); err != nil {
		return err
	}
	if _, err := s.Shell(ctx, fmt.Sprintf(ch.Plug, plugged)); err != nil {
		return err
	}
	_, err := s.Shell(ctx, fmt.Sprintf(ch.Level, level))
	return err
}

// Unplug unplugs the simulated charger. It plants no canary: its window is
// for the differential view.
func Unplug(ctx context.Context, s *session.Session) (*Result, error) {
	ch := s.Profile().Actions.Charge
	return window(ctx, s, "unplug", nil, func(ctx context.Context) error {
		if err := s.Record(journal.Entry{Op: journal.OpBattery, Command: ch.Reset}); err != nil {
			return err
		}
		_, err := s.Shell(ctx, ch.Unplug)
		return err
	})
}

// ChangeSetting puts a setting to the canary's value; teardown puts the old
// value back.
func ChangeSetting(ctx context.Context, s *session.Session, ns, key string, value canary.Canary) (*Result, error) {
	return window(ctx, s, profiles.ActionChangeSetting, []canary.Canary{value}, func(ctx context.Context) error {
		return s.PutSetting(ctx, ns, key, value.Value)
	})
}

// CreateFolder makes a folder named by the canary under the profile's
// folder root; teardown removes it.
func CreateFolder(ctx context.Context, s *session.Session, name canary.Canary) (*Result, error) {
	root := s.Profile().Actions.FolderRoot
	if root == "" {
		root = "/sdcard"
	}
	path := strings.TrimSuffix(root, "/") + "/" + name.Value
	return window(ctx, s, profiles.ActionCreateFolder, []canary.Canary{name}, func(ctx context.Context) error {
		_, err := s.Do(ctx, journal.Entry{Op: journal.OpFile, Path: path}, "mkdir -p", path)
		return err
	})
}

// ConnectWifi joins the open network named by the canary. Then, since some
// firmware reports the SSID only with the next charging event, it plugs the
// charger at level (not a canary: the charge spec covers the level).
// Teardown reconnects the network the phone was on and resets the battery.
func ConnectWifi(ctx context.Context, s *session.Session, ssid canary.Canary, level int) (*Result, error) {
	old, err := currentSSID(ctx, s)
	if err != nil {
		return nil, err
	}
	undo := "cmd wifi connect-network " + adb.Quote(old) + " open"
	if old == "" {
		// `cmd wifi` has no disconnect; cycling the radio leaves it on and
		// not connected, as it was.
		undo = "svc wifi disable && svc wifi enable"
	}
	return window(ctx, s, profiles.ActionConnectWifi, []canary.Canary{ssid}, func(ctx context.Context) error {
		if _, err := s.Do(ctx, journal.Entry{Op: journal.OpWifi, Value: ssid.Value, Command: undo},
			"cmd wifi connect-network", ssid.Value, "open"); err != nil {
			return err
		}
		return plugIn(ctx, s, s.Profile().Actions.Charge, "ac", level)
	})
}

// currentSSID reads the connected network from `cmd wifi status`
// ("Wifi is connected to "NAME"" on Android 11+, the sim's too).
func currentSSID(ctx context.Context, s *session.Session) (string, error) {
	out, err := s.Shell(ctx, "cmd wifi status")
	if err != nil {
		return "", fmt.Errorf("connect-wifi: read the current network: %w", err)
	}
	for _, line := range strings.Split(out, "\n") {
		if _, rest, ok := strings.Cut(line, "connected to "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	return "", nil
}

// LockScreen presses the power key. It plants no canary: what it shows is
// in the differential view. Teardown wakes the screen.
func LockScreen(ctx context.Context, s *session.Session) (*Result, error) {
	return window(ctx, s, profiles.ActionLockScreen, nil, func(ctx context.Context) error {
		_, err := s.Do(ctx, journal.Entry{Op: journal.OpScreen, Command: "input keyevent 224"}, "input keyevent 26")
		return err
	})
}
