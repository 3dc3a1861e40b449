package sim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"telltale.dev/devices/adb/wire"
	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim/adbd"
	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/telemetry"
	"telltale.dev/devices/sim/vfs"
)

// Paths of the phone's CA stores.
const (
	SystemCADir = "/system/etc/security/cacerts"
	// APEXCADir is where Android 14 (sdk 34) and later read system CAs from.
	APEXCADir = "/apex/com.android.conscrypt/cacerts"
	UserCADir = "/data/misc/user/0/cacerts-added"
)

// Observer learns what the user did on the phone; the telemetry engine is one.
type Observer interface {
	Observe(telemetry.Occurrence)
}

// Phone is one simulated phone. All methods are safe for concurrent use.
type Phone struct {
	prof *profiles.Profile
	fw   *profiles.Firmware
	fs   *vfs.FS
	sh   *shell.Shell

	mu       sync.Mutex
	props    map[string]string
	settings map[string]map[string]string // namespace -> key -> value
	packages map[string]*pkg
	battery  battery
	wifiOn   bool
	ssid     string // the joined network; connected while Wi-Fi is on
	screenOn bool
	root     bool
	unrooted bool // no su on a root:false model
	fgApp    string
	logbuf   []string
	tunnel   adbd.Tunnel
	observer Observer
	downtime time.Duration

	// Set by Start.
	srv *adbd.Server
	tel *telemetry.Engine

	androidID string
	imei      string
}

type pkg struct {
	path        string
	system      bool
	versionCode int
	disabled    bool
}

type battery struct {
	ac, usb, wireless bool
	level             int
	status            int // BatteryManager.BATTERY_STATUS_*
	overridden        bool
}

// Battery status codes as dumpsys prints them.
const (
	batteryCharging    = 2
	batteryDischarging = 3
	batteryFull        = 5
)

// basePackages are on every Android build whatever the profile lists.
var basePackages = []string{
	"android", "com.android.settings", "com.android.shell", "com.android.systemui",
	"com.android.providers.settings", "com.android.packageinstaller", "com.android.phone",
}

// New builds a phone for a model and firmware. seed makes its identifiers
// (ANDROID_ID, IMEI): the same seed gives the same phone.
func New(prof *profiles.Profile, fw *profiles.Firmware, seed string) (*Phone, error) {
	if prof == nil || fw == nil {
		return nil, fmt.Errorf("sim: a phone needs a profile and a firmware")
	}
	p := &Phone{
		prof:     prof,
		fw:       fw,
		settings: map[string]map[string]string{"system": {}, "secure": {}, "global": {}},
		packages: map[string]*pkg{},
		wifiOn:   true,
		ssid:     DefaultSSID,
		screenOn: true,
		downtime: RebootDowntime,
	}
	p.setIdentity(seed)
	p.props = p.buildProps()
	p.resetBattery()
	p.seedSettings()
	p.seedPackages()
	if err := p.seedFiles(); err != nil {
		return nil, err
	}
	p.sh = &shell.Shell{Commands: p.commands(), Glob: p.fs.Glob, Create: p.createForShell}
	return p, nil
}

func (p *Phone) setIdentity(seed string) {
	sum := sha256.Sum256([]byte(p.prof.Name + "\x00" + p.fw.Version + "\x00" + seed))
	p.androidID = hex.EncodeToString(sum[:8])
	p.imei = imeiFrom(sum[8:16])
}

// reseed gives a started phone identifiers derived from seed (its serial).
func (p *Phone) reseed(seed string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.setIdentity(seed)
	p.settings["secure"]["android_id"] = p.androidID
	p.props["ro.serialno"] = strings.ToUpper(p.androidID[:12])
}

// imeiFrom makes a 15-digit IMEI-shaped number with a valid Luhn check digit.
func imeiFrom(b []byte) string {
	var d strings.Builder
	d.WriteString("86")
	for i := 0; d.Len() < 14; i++ {
		d.WriteByte('0' + b[i%len(b)]%10)
	}
	s := d.String()
	sum := 0
	for i := 0; i < 14; i++ {
		n := int(s[i] - '0')
		if i%2 == 1 {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return s + strconv.Itoa((10-sum%10)%10)
}

func (p *Phone) buildProps() map[string]string {
	props := p.prof.BuildProps(p.fw)
	dev := p.prof.Name
	if len(p.prof.Devices) > 0 {
		dev = p.prof.Devices[0]
	}
	defaults := map[string]string{
		"ro.product.device":            dev,
		"ro.product.name":              dev,
		"ro.product.model":             p.prof.DisplayName,
		"ro.build.version.release":     p.fw.Android,
		"ro.build.version.sdk":         strconv.Itoa(p.fw.SDK),
		"ro.build.version.incremental": p.fw.Version,
		"ro.build.display.id":          p.fw.Version,
		"ro.serialno":                  strings.ToUpper(p.androidID[:12]),
		"ro.secure":                    "1",
		"ro.debuggable":                "0",
		"ro.build.type":                "user",
		"sys.boot_completed":           "1",
		"persist.sys.timezone":         "UTC",
		"ro.product.cpu.abi":           "arm64-v8a",
	}
	if p.prof.Root {
		defaults["ro.secure"], defaults["ro.debuggable"], defaults["ro.build.type"] = "0", "1", "userdebug"
		defaults["ro.product.cpu.abi"] = "x86_64"
	}
	for k, v := range defaults {
		if _, ok := props[k]; !ok {
			props[k] = v
		}
	}
	return props
}

func (p *Phone) seedSettings() {
	s := p.settings
	s["global"]["adb_enabled"] = "1"
	s["global"]["airplane_mode_on"] = "0"
	s["global"]["wifi_on"] = "1"
	s["global"]["device_name"] = p.prof.DisplayName
	s["global"]["stay_on_while_plugged_in"] = "0"
	s["system"]["screen_brightness"] = "128"
	s["system"]["screen_off_timeout"] = "60000"
	s["system"]["font_scale"] = "1.0"
	s["secure"]["android_id"] = p.androidID
	s["secure"]["location_mode"] = "3"
	s["secure"]["lock_screen_lock_after_timeout"] = "5000"
}

// setDefaultSettings adds firmware settings ("secure:key" -> value) that
// exist on this firmware, such as the browser's aggregated data switch.
func (p *Phone) setDefaultSettings(defaults map[string]string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for nk, v := range defaults {
		ns, key, ok := strings.Cut(nk, ":")
		if ns, ok2 := p.settings[ns]; ok && ok2 {
			ns[key] = v
		}
	}
}

func (p *Phone) seedPackages() {
	for _, name := range slices.Concat(basePackages, p.prof.Packages) {
		short := name[strings.LastIndexByte(name, '.')+1:]
		p.packages[name] = &pkg{system: true, versionCode: 1, path: "/system/app/" + short + "/" + short + ".apk"}
	}
}

func (p *Phone) seedFiles() error {
	roots := []string{"/system"}
	if p.fw.SDK >= 34 {
		roots = append(roots, "/apex/com.android.conscrypt")
	}
	p.fs = vfs.New(roots...)
	type dir struct {
		path string
		perm uint32
		uid  uint32
	}
	dirs := []dir{
		{"/sdcard", 0o777, vfs.ShellUID},
		{"/sdcard/Download", 0o777, vfs.ShellUID},
		{"/sdcard/DCIM", 0o777, vfs.ShellUID},
		{"/data/local/tmp", 0o771, vfs.ShellUID},
		{"/data/app", 0o771, vfs.RootUID},
		{UserCADir, 0o755, vfs.RootUID},
		{"/system/bin", 0o755, vfs.RootUID},
		{"/system/app", 0o755, vfs.RootUID},
		{SystemCADir, 0o755, vfs.RootUID},
		{"/proc", 0o555, vfs.RootUID},
		{"/dev", 0o755, vfs.RootUID},
	}
	if p.fw.SDK >= 34 {
		dirs = append(dirs, dir{APEXCADir, 0o755, vfs.RootUID})
	}
	// Seeding writes under what will be read-only mounts, so open them first.
	for _, r := range roots {
		if err := p.fs.Remount(r, false); err != nil {
			return err
		}
	}
	for _, d := range dirs {
		if err := p.fs.MkdirAll(d.path, d.perm, vfs.RootUID); err != nil {
			return fmt.Errorf("sim: seed %s: %w", d.path, err)
		}
		if err := p.fs.Chown(d.path, d.uid, d.uid, vfs.RootUID); err != nil {
			return err
		}
		if err := p.fs.Chmod(d.path, d.perm, vfs.RootUID); err != nil {
			return err
		}
	}
	cas, err := placeholderCAs()
	if err != nil {
		return err
	}
	storeDirs := []string{SystemCADir}
	if p.fw.SDK >= 34 {
		storeDirs = append(storeDirs, APEXCADir)
	}
	for _, dir := range storeDirs {
		for name, pem := range cas {
			if err := p.fs.WriteFile(dir+"/"+name, pem, 0o644, vfs.RootUID, false); err != nil {
				return err
			}
		}
	}
	for _, pk := range p.packages {
		if err := p.fs.MkdirAll(path.Dir(pk.path), 0o755, vfs.RootUID); err != nil {
			return err
		}
		if err := p.fs.WriteFile(pk.path, []byte("PK\x03\x04"), 0o644, vfs.RootUID, false); err != nil {
			return err
		}
	}
	for _, r := range roots {
		if err := p.fs.Remount(r, true); err != nil {
			return err
		}
	}
	return nil
}

// Profile and Firmware say what the phone pretends to be.
func (p *Phone) Profile() *profiles.Profile   { return p.prof }
func (p *Phone) Firmware() *profiles.Firmware { return p.fw }

// Files is the phone's file system, for tests and the telemetry engine.
func (p *Phone) Files() *vfs.FS { return p.fs }

// SetObserver sets who is told about user actions (the telemetry engine).
func (p *Phone) SetObserver(o Observer) {
	p.mu.Lock()
	p.observer = o
	p.mu.Unlock()
}

// SetTunnel gives the phone its adb transport, for reverse connections and reboot.
func (p *Phone) SetTunnel(t adbd.Tunnel) {
	p.mu.Lock()
	p.tunnel = t
	p.mu.Unlock()
}

func (p *Phone) observe(action, app string, values map[string]string) {
	p.mu.Lock()
	o := p.observer
	p.mu.Unlock()
	p.logf("I", "TelltaleSim", "%s %s %v", action, app, values)
	if o != nil {
		o.Observe(telemetry.Occurrence{Action: action, App: app, Values: values})
	}
}

// logf appends a logcat line; the buffer keeps the latest 2000 lines.
func (p *Phone) logf(level, tag, format string, args ...any) {
	line := fmt.Sprintf("%s  1000  1000 %s %s: %s", time.Now().Format("01-02 15:04:05.000"), level, tag,
		fmt.Sprintf(format, args...))
	p.mu.Lock()
	p.logbuf = append(p.logbuf, line)
	if len(p.logbuf) > 2000 {
		p.logbuf = slices.Delete(p.logbuf, 0, len(p.logbuf)-2000)
	}
	p.mu.Unlock()
}

// DefaultSSID is the network a phone has joined when it starts, as the
// emulator's virtual access point is named.
const DefaultSSID = "AndroidWifi"

// SetSSID connects the phone to a Wi-Fi network as if the user chose it;
// "" disconnects.
func (p *Phone) SetSSID(ssid string) {
	p.mu.Lock()
	p.ssid = ssid
	if ssid != "" {
		p.wifiOn = true
	}
	p.mu.Unlock()
}

// Setting returns a setting ("" and false when unset).
func (p *Phone) Setting(ns, key string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v, ok := p.settings[ns][key]
	return v, ok
}

// Network says whether Wi-Fi is connected, and to which SSID.
func (p *Phone) Network() (wifi bool, ssid string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.wifiOn || p.ssid == "" {
		return false, ""
	}
	return true, p.ssid
}

// Prop returns a build property.
func (p *Phone) Prop(name string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.props[name]
}

// DialReverse connects out through the adb transport's reverse rules.
func (p *Phone) DialReverse(ctx context.Context, local string) (net.Conn, error) {
	p.mu.Lock()
	t := p.tunnel
	p.mu.Unlock()
	if t == nil {
		return nil, adbd.ErrNoReverse
	}
	return t.DialReverse(ctx, local)
}

func (p *Phone) createForShell(ctx context.Context, path string, appendTo bool) (io.WriteCloser, error) {
	uid := p.uid(ctx)
	if !appendTo {
		if err := p.fs.WriteFile(path, nil, 0o644, uid, false); err != nil {
			return nil, err
		}
	}
	return &appender{p: p, path: path, uid: uid}, nil
}

// appender writes a redirect's output into a file as it comes.
type appender struct {
	p    *Phone
	path string
	uid  uint32
}

func (a *appender) Write(b []byte) (int, error) {
	if err := a.p.fs.WriteFile(a.path, b, 0o644, a.uid, true); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (a *appender) Close() error { return nil }

var (
	_ adbd.Device   = (*Phone)(nil)
	_ adbd.Rebooter = (*Phone)(nil)
)

// Banner implements adbd.Device. "cmd" makes adb 29 stream installs to
// `cmd package install -S SIZE` over exec:.
func (p *Phone) Banner() string {
	return fmt.Sprintf("device::ro.product.name=%s;ro.product.model=%s;ro.product.device=%s;features=shell_v2,cmd,stat_v2",
		p.Prop("ro.product.name"), p.Prop("ro.product.model"), p.Prop("ro.product.device"))
}

// Exec implements adbd.Device: it runs a shell command line.
func (p *Phone) Exec(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) int {
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	if strings.TrimSpace(cmd) == "" {
		// An interactive shell: run what arrives on stdin as a script.
		cmd = "sh"
	}
	return p.sh.Run(ctx, cmd, shell.IO{Stdin: stdin, Stdout: stdout, Stderr: stderr})
}

// Run is Exec collecting output, for tests and the CLI.
func (p *Phone) Run(ctx context.Context, cmd string) (stdout, stderr string, code int) {
	var o, e strings.Builder
	code = p.Exec(ctx, cmd, nil, &o, &e)
	return o.String(), e.String(), code
}

// FS implements adbd.Device.
func (p *Phone) FS() adbd.FS { return syncFS{p} }

// Root implements adbd.Device.
func (p *Phone) Root() (msg string, restart bool) {
	if !p.prof.Root {
		return "adbd cannot run as root in production builds\n", false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.root {
		return "adbd is already running as root\n", false
	}
	p.root = true
	return "restarting adbd as root\n", true
}

// syncFS is the file system as adb sync sees it, acting as adbd's identity.
type syncFS struct{ p *Phone }

func (s syncFS) Stat(path string) (wire.Stat, error) {
	i, err := s.p.fs.StatInfo(path)
	if err != nil {
		return wire.Stat{}, err
	}
	return i.Stat2(), nil
}

func (s syncFS) List(path string) ([]adbd.DirEntry, error) {
	infos, err := s.p.fs.ReadDir(path)
	if err != nil {
		return nil, err
	}
	out := make([]adbd.DirEntry, len(infos))
	for i, in := range infos {
		out[i] = adbd.DirEntry{Name: in.Name, Stat: in.Stat2()}
	}
	return out, nil
}

func (s syncFS) Open(path string) (io.ReadCloser, error) { return s.p.fs.Open(path) }

func (s syncFS) Create(path string, mode uint32, mtime int64) (io.WriteCloser, error) {
	return s.p.fs.Create(path, mode, mtime, s.p.uid(context.Background()))
}
