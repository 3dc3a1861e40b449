// Package doctor checks, before a run touches a phone, everything the run
// needs of it: adb authorisation, the Android version and the phone's
// profile, root and the su form that works (and whether Magisk asks),
// MIUI's Developer options toggles, the screen, the CA store the run can
// use, the proxy path, free storage, and the profile's UI flows. It only
// reads: every failed check says what to tap on the phone to fix it.
// `telltale doctor` prints it; `telltale run` runs it first and stops
// before changing anything when a check fails.
package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"telltale.dev/devices/adb"
	"telltale.dev/devices/profiles"
	"telltale.dev/harness/ui"
)

// Status is a check's outcome.
type Status string

const (
	OK   Status = "ok"
	Warn Status = "warn" // the run goes on, with less (a user CA store) or after a change it makes itself
	Fail Status = "fail" // the run would fail or mislead: fix it first
	Skip Status = "skip" // not checked: an earlier check failed, or it does not apply
)

// Check is one check's outcome.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	// Found is what the phone showed.
	Found string `json:"found"`
	// Fix says what to do on the phone (what to tap) when Status is not OK.
	Fix string `json:"fix,omitempty"`
}

// Report is every check of one phone.
type Report struct {
	Server   string  `json:"server"`
	Serial   string  `json:"serial"`
	Profile  string  `json:"profile,omitempty"`
	Firmware string  `json:"firmware,omitempty"`
	Android  string  `json:"android,omitempty"`
	Checks   []Check `json:"checks"`
	// Root is how the phone runs commands as root: "adb root", "su -c",
	// "su 0", or "" without root.
	Root string `json:"root"`
}

// Failed are the checks that failed.
func (r *Report) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if c.Status == Fail {
			out = append(out, c)
		}
	}
	return out
}

// Err says, when a check failed, which and what to do on the phone.
func (r *Report) Err() error {
	failed := r.Failed()
	if len(failed) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "preflight: %s is not ready for a run (%d check(s) failed); nothing was changed on it:", r.Serial, len(failed))
	for _, c := range failed {
		fmt.Fprintf(&b, "\n  %s: %s\n    fix: %s", c.Name, c.Found, c.Fix)
	}
	return errors.New(b.String())
}

// WriteText prints the report for a person, one line a check and the fix
// under each that is not OK.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	what := r.Serial
	if r.Profile != "" {
		what += " (" + strings.TrimSpace(r.Profile+" "+r.Firmware) + ")"
	}
	fmt.Fprintf(&b, "%s on %s\n", what, r.Server)
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "  %-4s  %-34s %s\n", strings.ToUpper(string(c.Status)), c.Name, c.Found)
		if c.Fix != "" && c.Status != OK && c.Status != Skip {
			fmt.Fprintf(&b, "        fix: %s\n", c.Fix)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON prints the report as one JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Options tune Run.
type Options struct {
	// Profiles are the known models (profiles.Load).
	Profiles []*profiles.Profile
	// Progress gets what a person must do while the doctor waits (answer
	// Magisk's prompt); nil discards it.
	Progress io.Writer
	// SuWait is how long to wait for su's answer when Magisk asks on the
	// screen: a person taps Grant, or Magisk denies after its timeout
	// (10 s by default, Magisk Config.suDefaultTimeout). 0 is 20 s.
	SuWait time.Duration
	// CallTimeout bounds each command (0 is 20 s).
	CallTimeout time.Duration
}

// minFree is the storage a run needs on /data: APKs staged in
// /data/local/tmp, the CA staging copy, UI dumps.
const minFree = 100 << 20

// Run checks the phone serial on the adb server c. It changes nothing on
// the phone; su's own prompt is the one thing it may make appear, which a
// person answers (or Magisk denies on its own).
func Run(ctx context.Context, c *adb.Client, serial string, opts Options) *Report {
	if opts.SuWait <= 0 {
		opts.SuWait = 20 * time.Second
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 20 * time.Second
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	d := &doctor{c: c, dev: c.Device(serial), opts: opts, r: &Report{Server: c.Addr(), Serial: serial}}
	d.run(ctx)
	return d.r
}

type doctor struct {
	c     *adb.Client
	dev   *adb.Device
	opts  Options
	r     *Report
	props map[string]string
	prof  *profiles.Profile
	fw    *profiles.Firmware
}

func (d *doctor) add(c Check) { d.r.Checks = append(d.r.Checks, c) }

// checks run in order; one that returns false stops those after it, which
// are reported as skipped.
var checks = []struct {
	name string
	run  func(d *doctor, ctx context.Context) (Check, bool)
}{
	{"adb authorisation", (*doctor).authorised},
	{"model and firmware", (*doctor).model},
	{"Android version", (*doctor).android},
	{"root", (*doctor).root},
	{"USB debugging (Security settings)", (*doctor).adbInput},
	{"Install via USB", (*doctor).adbInstall},
	{"screen", (*doctor).screen},
	{"CA store", (*doctor).caStore},
	{"proxy path", (*doctor).proxyPath},
	{"free storage", (*doctor).storage},
	{"UI flows", (*doctor).flows},
}

func (d *doctor) run(ctx context.Context) {
	stopped := ""
	for _, c := range checks {
		if stopped != "" {
			d.add(Check{Name: c.name, Status: Skip, Found: "not checked: " + stopped})
			continue
		}
		res, goOn := c.run(d, ctx)
		res.Name = c.name
		d.add(res)
		if !goOn {
			stopped = c.name + " failed"
		}
		if ctx.Err() != nil && stopped == "" {
			stopped = "interrupted"
		}
	}
}

// shell runs a command under the call deadline; the result's exit status
// is the caller's to read.
func (d *doctor) shell(ctx context.Context, cmd string) (string, int, error) {
	ctx, cancel := context.WithTimeout(ctx, d.opts.CallTimeout)
	defer cancel()
	r, err := d.dev.Shell(ctx, cmd)
	if err != nil {
		return "", 0, err
	}
	return strings.TrimSpace(string(r.Stdout) + string(r.Stderr)), r.ExitCode, nil
}

func (d *doctor) authorised(ctx context.Context) (Check, bool) {
	lctx, cancel := context.WithTimeout(ctx, d.opts.CallTimeout)
	list, err := d.c.ListDevices(lctx)
	cancel()
	if err != nil {
		return Check{Status: Fail, Found: "the adb server does not answer: " + err.Error(),
			Fix: "start it (adb start-server) or give its address with --adb HOST:PORT"}, false
	}
	for _, info := range list {
		if info.Serial != d.r.Serial {
			continue
		}
		switch info.State {
		case adb.StateDevice:
			return Check{Status: OK, Found: "authorised (state device)"}, true
		case "unauthorized":
			return Check{Status: Fail, Found: "unauthorized: the phone has not accepted this computer's key",
				Fix: "unlock the phone and tap Allow in \"Allow USB debugging?\" (tick \"Always allow from this computer\"); no dialog? " +
					"Developer options > \"Revoke USB debugging authorisations\", then unplug and replug the cable"}, false
		default:
			return Check{Status: Fail, Found: "state " + info.State,
				Fix: "unplug and replug the cable (or `adb reconnect`); a phone that stays offline needs `adb kill-server` and a new cable or port"}, false
		}
	}
	return Check{Status: Fail, Found: "the adb server does not list it",
		Fix: "plug the phone in with USB debugging on (Settings > About phone > tap MIUI version 7 times; then Additional settings > Developer options > USB debugging), see `telltale devices`"}, false
}

func (d *doctor) model(ctx context.Context) (Check, bool) {
	pctx, cancel := context.WithTimeout(ctx, d.opts.CallTimeout)
	props, err := d.dev.Properties(pctx)
	cancel()
	if err != nil {
		return Check{Status: Fail, Found: "getprop failed: " + err.Error(), Fix: "reconnect the phone and run again"}, false
	}
	d.props = props
	device := props["ro.product.device"]
	d.prof = profiles.Match(d.opts.Profiles, device)
	if d.prof == nil {
		return Check{Status: Fail, Found: fmt.Sprintf("no profile for ro.product.device %q (%s)", device, props["ro.product.model"]),
			Fix: fmt.Sprintf("write a profile for it in $%s (devices/profiles/redmi-note-8.yaml is an example; `telltale ui dump` helps write its flows)", profiles.EnvDir)}, false
	}
	d.r.Profile = d.prof.Name
	version := props["ro.build.version.incremental"]
	for i := range d.prof.Firmware {
		fw := &d.prof.Firmware[i]
		if fw.Version == version || fw.Props["ro.build.fingerprint"] == props["ro.build.fingerprint"] {
			d.fw = fw
		}
	}
	if d.fw == nil {
		return Check{Status: Fail, Found: fmt.Sprintf("%s, firmware %q is not in profile %s", d.prof.DisplayName, version, d.prof.Name),
			Fix: fmt.Sprintf("add firmware %s to %s (its known leaks and flows), or flash a firmware the profile knows", version, d.prof.Source)}, false
	}
	d.r.Firmware = d.fw.Version
	return Check{Status: OK, Found: fmt.Sprintf("%s, firmware %s (profile %s)", d.prof.DisplayName, d.fw.Version, d.prof.Name)}, true
}

func (d *doctor) android(context.Context) (Check, bool) {
	release, sdk := d.props["ro.build.version.release"], d.props["ro.build.version.sdk"]
	d.r.Android = release
	found := fmt.Sprintf("Android %s (sdk %s)", release, sdk)
	if fmt.Sprint(d.fw.SDK) != sdk && d.fw.SDK != 0 {
		return Check{Status: Warn, Found: found + fmt.Sprintf(", the profile says sdk %d", d.fw.SDK),
			Fix: "check the firmware entry of " + d.prof.Source}, true
	}
	if n := atoi(sdk); n < 24 {
		return Check{Status: Fail, Found: found, Fix: "telltale needs Android 7 (sdk 24) or later (toybox nc, uiautomator dump --compressed, shell_v2)"}, false
	}
	return Check{Status: OK, Found: found}, true
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0
		}
		n = n*10 + int(r-'0')
	}
	return n
}

func (d *doctor) miui() bool { return d.props["ro.miui.ui.version.name"] != "" }

// toggleFix is where MIUI keeps a Developer options toggle.
func toggleFix(name, needs string) string {
	return fmt.Sprintf("on the phone: Settings > Additional settings > Developer options > turn on %q (%s)", name, needs)
}

func (d *doctor) prop(ctx context.Context, name string) string {
	out, _, err := d.shell(ctx, "getprop "+name)
	if err != nil {
		return ""
	}
	return out
}

func (d *doctor) adbInput(ctx context.Context) (Check, bool) {
	if !d.miui() {
		return Check{Status: Skip, Found: "not MIUI"}, true
	}
	if v := d.prop(ctx, "persist.security.adbinput"); v != "1" {
		return Check{Status: Fail, Found: fmt.Sprintf("off (persist.security.adbinput=%s): MIUI refuses the computer's taps, typing and secure settings", orUnset(v)),
			Fix: toggleFix("USB debugging (Security settings)", "MIUI asks for a Mi Account sign-in and a SIM card, then shows three warnings with timed buttons: Next step, Next step, Accept")}, true
	}
	return Check{Status: OK, Found: "on (persist.security.adbinput=1)"}, true
}

func (d *doctor) adbInstall(ctx context.Context) (Check, bool) {
	if !d.miui() {
		return Check{Status: Skip, Found: "not MIUI"}, true
	}
	v := d.prop(ctx, "persist.security.adbinstall")
	switch {
	case v == "1":
		return Check{Status: OK, Found: "on: installs ask \"Install this app via USB?\" on the screen; the run answers Install"}, true
	case d.r.Root != "":
		return Check{Status: OK, Found: fmt.Sprintf("off (persist.security.adbinstall=%s); the run installs with %s pm install instead", orUnset(v), d.r.Root)}, true
	}
	return Check{Status: Fail, Found: fmt.Sprintf("off (persist.security.adbinstall=%s) and no root: MIUI refuses installs (INSTALL_FAILED_USER_RESTRICTED)", orUnset(v)),
		Fix: toggleFix("Install via USB", "needs a Mi Account sign-in and a network connection")}, true
}

func orUnset(v string) string {
	if v == "" {
		return "unset"
	}
	return v
}

func (d *doctor) screen(ctx context.Context) (Check, bool) {
	drv := ui.New(d.dev, ui.Options{CallTimeout: d.opts.CallTimeout})
	st, err := drv.State(ctx)
	if err != nil {
		return Check{Status: Fail, Found: "cannot read the screen state: " + err.Error(), Fix: "reconnect the phone and run again"}, true
	}
	if !st.Ready() {
		return Check{Status: Warn, Found: st.String() + ": the run wakes it and dismisses the keyguard",
			Fix: "a PIN, pattern or password lock stops the run: set Settings > Lock screen > Screen lock to None or Swipe; " +
				"Developer options > \"Stay awake\" keeps it on while charging"}, true
	}
	sc, err := drv.Dump(ctx)
	if errors.Is(err, ui.ErrNoUIAutomator) {
		return Check{Status: Fail, Found: err.Error(), Fix: "this build has no uiautomator: the UI flows cannot run on it"}, true
	}
	if err != nil {
		return Check{Status: Fail, Found: "uiautomator dump failed: " + err.Error(),
			Fix: "close animations and videos on the screen; Developer options > set the three animation scales to Off"}, true
	}
	return Check{Status: OK, Found: fmt.Sprintf("%s; uiautomator dump works (%s)", st, sc.Summary(3))}, true
}

func (d *doctor) caStore(ctx context.Context) (Check, bool) {
	if d.r.Root == "" {
		return Check{Status: Warn, Found: "no root: the run's CA can only be offered to the user store, which apps ignore since Android 7 (their TLS telemetry shows as connections, not content)",
			Fix: "root the phone with Magisk (and allow Shell in Magisk > Superuser) so the CA goes into the system store"}, true
	}
	where := "/system/etc/security/cacerts (tmpfs over it)"
	if atoi(d.props["ro.build.version.sdk"]) >= 34 {
		where += " and /apex/com.android.conscrypt/cacerts in the apps' mount namespaces"
	}
	if _, code, err := d.shell(ctx, "ls /system/etc/security/cacerts >/dev/null"); err != nil || code != 0 {
		return Check{Status: Fail, Found: "/system/etc/security/cacerts cannot be listed", Fix: "check the phone's system image: its CA store is missing"}, true
	}
	return Check{Status: OK, Found: "system store via " + d.r.Root + ": " + where}, true
}

func (d *doctor) proxyPath(ctx context.Context) (Check, bool) {
	rctx, cancel := context.WithTimeout(ctx, d.opts.CallTimeout)
	_, err := d.dev.ReverseList(rctx)
	cancel()
	if err != nil {
		return Check{Status: Fail, Found: "adb reverse does not work: " + err.Error(),
			Fix: "adb reverse needs adb 1.0.36+ on the computer and Android 5+; update platform-tools"}, true
	}
	// toybox with no arguments lists its applets; curl is a command of its own.
	var clients []string
	if out, _, err := d.shell(ctx, "toybox"); err == nil && slices.Contains(strings.Fields(out), "nc") {
		clients = append(clients, "toybox nc")
	}
	if _, code, err := d.shell(ctx, "command -v curl >/dev/null"); err == nil && code == 0 {
		clients = append(clients, "curl")
	}
	if len(clients) == 0 {
		return Check{Status: Fail, Found: "neither toybox nc nor curl: the phone cannot send the probe request that proves the path",
			Fix: "Android 7+ ships toybox nc; this build lacks it"}, true
	}
	found := "adb reverse works; probe with " + clients[0]
	cur, _, _ := d.shell(ctx, "settings get global http_proxy")
	if cur != "" && cur != "null" && cur != ":0" {
		return Check{Status: Warn, Found: found + fmt.Sprintf("; a proxy is already set (%s): the run replaces it and puts it back", cur),
			Fix: "if a VPN or proxy app set it, stop that app: its traffic would bypass telltale's proxy"}, true
	}
	return Check{Status: OK, Found: found + "; no global proxy set"}, true
}

func (d *doctor) storage(ctx context.Context) (Check, bool) {
	out, _, err := d.shell(ctx, "df -k /data")
	if err != nil {
		return Check{Status: Fail, Found: "df failed: " + err.Error(), Fix: "reconnect the phone and run again"}, true
	}
	free, ok := available(out)
	if !ok {
		return Check{Status: Warn, Found: "cannot read `df -k /data`: " + firstLine(out), Fix: "check there are 100 MB free: Settings > About phone > Storage"}, true
	}
	found := fmt.Sprintf("%d MB free on /data", free>>20)
	if free < minFree {
		return Check{Status: Fail, Found: found, Fix: "free at least 100 MB: Settings > About phone > Storage > Clean up"}, true
	}
	return Check{Status: OK, Found: found}, true
}

// available reads the Available column of `df -k` (toybox: Filesystem
// 1K-blocks Used Available Use% Mounted on) in bytes.
func available(out string) (int64, bool) {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 {
		return 0, false
	}
	head, row := strings.Fields(lines[0]), strings.Fields(lines[len(lines)-1])
	for i, h := range head {
		if (h == "Available" || h == "Avail") && i < len(row) {
			n := atoi(row[i])
			return int64(n) << 10, n > 0 || row[i] == "0"
		}
	}
	return 0, false
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
