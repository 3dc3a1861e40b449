package sim

import (
	"context"
	"crypto/x509"
	"fmt"
	"image"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"telltale.dev/devices/adb/wire"
	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim/adbd"
	"telltale.dev/devices/sim/app"
	"telltale.dev/devices/sim/apps"
	"telltale.dev/devices/sim/apps/browser"
	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/netstack"
	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/system"
	"telltale.dev/devices/sim/system/activity"
	"telltale.dev/devices/sim/system/battery"
	"telltale.dev/devices/sim/system/logd"
	"telltale.dev/devices/sim/system/packages"
	"telltale.dev/devices/sim/system/power"
	"telltale.dev/devices/sim/system/props"
	"telltale.dev/devices/sim/system/security"
	"telltale.dev/devices/sim/system/settings"
	"telltale.dev/devices/sim/system/wifi"
	"telltale.dev/devices/sim/system/window"
	"telltale.dev/devices/sim/telemetry"
	"telltale.dev/devices/sim/toybox"
	"telltale.dev/devices/sim/vfs"
)

// Phone is one simulated phone: the wiring of its services, apps and
// network. It keeps no state of its own; each service guards its own. All
// methods are safe for concurrent use.
type Phone struct {
	prof     *profiles.Profile
	fw       *profiles.Firmware
	downtime time.Duration

	clock    clock.Clock
	bus      *event.Bus
	fs       *vfs.FS
	sh       *shell.Shell
	log      *logd.Log
	props    *props.Props
	settings *settings.Settings
	packages *packages.Manager
	power    *power.Power
	wifi     *wifi.Wifi
	security *security.Security
	net      *netstack.Stack
	window   *window.Manager

	// Set by Start: the transport (read by commands on adbd's goroutines)
	// and the telemetry.
	srv atomic.Pointer[adbd.Server]
	tel *telemetry.Engine
}

// Observer learns the user actions the phone's telemetry reports.
type Observer interface {
	Observe(telemetry.Occurrence)
}

// New builds a phone for a model and firmware, not yet on the bus. seed
// makes its identifiers (ANDROID_ID, IMEI): the same seed gives the same
// phone.
func New(prof *profiles.Profile, fw *profiles.Firmware, seed string) (*Phone, error) {
	return build(prof, fw, Config{Seed: seed})
}

// build wires a phone: services first, then the apps' host, the window
// manager over it, and the shell that reaches them all.
func build(prof *profiles.Profile, fw *profiles.Firmware, cfg Config) (*Phone, error) {
	if prof == nil || fw == nil {
		return nil, fmt.Errorf("sim: a phone needs a profile and a firmware")
	}
	clk := cfg.Clock
	if clk == nil {
		clk = clock.Real()
	}
	downtime := cfg.RebootDowntime
	if downtime <= 0 {
		downtime = RebootDowntime
	}
	pkgNames := systemPackages(prof)
	fs, err := newFS(fw.SDK, pkgNames)
	if err != nil {
		return nil, err
	}
	androidID, _ := deviceIDs(prof, fw, cfg.Seed)
	bus := &event.Bus{}
	log := logd.New(clk)
	p := &Phone{prof: prof, fw: fw, downtime: downtime, clock: clk, bus: bus, fs: fs, sh: &shell.Shell{}, log: log}
	p.props = props.New(bootProps(prof, fw, serialFrom(androidID)))
	p.settings = settings.New(bus)
	p.settings.Seed(bootSettings(prof, androidID))
	p.packages = packages.New(packages.Config{Files: fs, Bus: bus, Log: log, System: apps.SystemImage(pkgNames),
		Browser: prof.Actions.Browser.Package, SDK: fw.SDK})
	p.security = security.New(security.Config{Bus: bus, Debuggable: prof.Root, Unrooted: cfg.Unrooted, Shell: p.sh})
	p.power = power.New(bus, log)
	bat := battery.New(bus)
	p.wifi = wifi.New(bus, p.settings)
	p.net = netstack.New(netstack.Config{Settings: p.settings, Files: fs, Clock: clk, SDK: fw.SDK})
	am := activity.New(activity.Config{Bus: bus, Log: log, Resolver: p.packages})
	host := app.NewHost(apps.Factory(apps.Options{Browser: browser.Options{IncognitoExtra: prof.Actions.Browser.IncognitoExtra}}),
		app.Env{Clock: clk, Bus: bus, Activities: am, Packages: p.packages, Settings: p.settings, Files: fs, Net: p.net}, log)
	am.Attach(host)
	p.window = window.New(window.Config{Display: window.DefaultDisplay, Sources: []window.Source{host}, Power: p.power,
		Activities: am, Files: fs, Log: log, SDK: fw.SDK, MIUI: p.props.Get("ro.miui.ui.version.name") != ""})

	var services system.Registry
	for name, svc := range map[string]any{"activity": am, "package": p.packages, "settings": p.settings,
		"power": p.power, "battery": bat, "wifi": p.wifi, "window": p.window} {
		if err := services.Add(name, svc); err != nil {
			return nil, err
		}
	}
	fs.SetClock(clk.Now)
	p.sh.FS = toybox.Files(fs)
	tools := toolbox(toybox.Commands(fs, p.sh, toybox.System{Machine: machine(p.props.Get("ro.product.cpu.abi")), Clock: clk, Applets: p.net.Commands()}))
	cmds, err := commandTable(&services, p.props, p.settings, p.packages, am, p.window, log, p.security, p.net, tools, p)
	if err != nil {
		return nil, err
	}
	if err := installTools(fs, cmds, tools); err != nil {
		return nil, err
	}
	p.sh.Commands = cmds
	am.Boot()
	return p, nil
}

// commandSet is anything that adds commands to the phone's shell.
type commandSet interface {
	Commands() map[string]shell.Func
}

// toolbox is the toybox applets as a commandSet.
type toolbox map[string]shell.Func

func (t toolbox) Commands() map[string]shell.Func { return t }

// machine is `uname -m` for an ABI (ro.product.cpu.abi).
func machine(abi string) string {
	if strings.HasPrefix(abi, "x86_64") {
		return "x86_64"
	}
	return "aarch64"
}

// commandTable merges every part's commands; a name claimed twice is a
// wiring mistake.
func commandTable(sets ...commandSet) (map[string]shell.Func, error) {
	all := map[string]shell.Func{}
	for _, s := range sets {
		for name, f := range s.Commands() {
			if _, dup := all[name]; dup {
				return nil, fmt.Errorf("sim: command %q registered twice", name)
			}
			all[name] = f
		}
	}
	return all, nil
}

// Commands are the phone's own: reboot.
func (p *Phone) Commands() map[string]shell.Func {
	return map[string]shell.Func{"reboot": p.cmdReboot}
}

// observe reports the phone's actions to o, and logs each to logcat.
func (p *Phone) observe(o Observer) {
	bridge := telemetry.Bridge{FolderRoot: p.prof.Actions.FolderRoot, Browser: p.prof.Actions.Browser.Package, Wifi: p.wifi}
	p.bus.Subscribe(func(ev event.Event) {
		occ, ok := bridge.Occurrence(ev)
		if !ok {
			return
		}
		p.log.Printf("I", "TelltaleSim", "%s %s %v", occ.Action, occ.App, occ.Values)
		o.Observe(occ)
	})
}

// Profile and Firmware say what the phone pretends to be.
func (p *Phone) Profile() *profiles.Profile   { return p.prof }
func (p *Phone) Firmware() *profiles.Firmware { return p.fw }

// Files is the phone's file system, for tests.
func (p *Phone) Files() *vfs.FS { return p.fs }

// SetSSID connects the phone to a Wi-Fi network as if the user chose it;
// "" disconnects.
func (p *Phone) SetSSID(ssid string) { p.wifi.Join(ssid) }

// Setting returns a setting ("" and false when unset).
func (p *Phone) Setting(ns, key string) (string, bool) { return p.settings.Setting(ns, key) }

// Network says whether Wi-Fi is connected, and to which SSID.
func (p *Phone) Network() (wifi bool, ssid string) { return p.wifi.Network() }

// Prop returns a build property.
func (p *Phone) Prop(name string) string { return p.props.Get(name) }

// HasPackage says whether a package is installed.
func (p *Phone) HasPackage(name string) bool { return p.packages.Has(name) }

// TrustedCAs returns the CAs an app trusts; userStore for apps whose
// network security config opts in.
func (p *Phone) TrustedCAs(userStore bool) *x509.CertPool { return p.net.TrustedCAs(userStore) }

// SetUnrooted removes su from a phone whose profile has no root: an
// unrooted retail phone, where the harness can only use the user CA store.
func (p *Phone) SetUnrooted(unrooted bool) { p.security.SetUnrooted(unrooted) }

var (
	_ adbd.Device   = (*Phone)(nil)
	_ adbd.Rebooter = (*Phone)(nil)
	_ adbd.Display  = (*Phone)(nil)
)

// Banner implements adbd.Device. "cmd" makes adb 29 stream installs to
// `cmd package install -S SIZE` over exec:.
func (p *Phone) Banner() string {
	return fmt.Sprintf("device::ro.product.name=%s;ro.product.model=%s;ro.product.device=%s;features=shell_v2,cmd,stat_v2",
		p.Prop("ro.product.name"), p.Prop("ro.product.model"), p.Prop("ro.product.device"))
}

// Exec implements adbd.Device: it runs a shell command line as adbd's user.
func (p *Phone) Exec(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) int {
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	if strings.TrimSpace(cmd) == "" {
		// An interactive shell: run what arrives on stdin as a script.
		cmd = "sh"
	}
	ctx = shell.WithUID(ctx, p.security.AdbdUID())
	return p.sh.Run(ctx, cmd, shell.IO{Stdin: stdin, Stdout: stdout, Stderr: stderr})
}

// Run is Exec collecting output, for tests and the CLI.
func (p *Phone) Run(ctx context.Context, cmd string) (stdout, stderr string, code int) {
	var o, e strings.Builder
	code = p.Exec(ctx, cmd, nil, &o, &e)
	return o.String(), e.String(), code
}

// Screenshot implements adbd.Display: what the screen shows now.
func (p *Phone) Screenshot(context.Context) (image.Image, error) { return p.window.Screenshot(), nil }

// Root implements adbd.Device.
func (p *Phone) Root() (msg string, restart bool) { return p.security.Root() }

func (p *Phone) cmdReboot(_ context.Context, _ shell.IO, args []string) int {
	p.Reboot(strings.Join(args[1:], " "))
	if srv := p.srv.Load(); srv != nil {
		// Let the command's exit status reach the host before the link drops.
		p.clock.AfterFunc(50*time.Millisecond, func() { srv.Disconnect(p.downtime) })
	}
	return 0
}

// Reboot implements adbd.Rebooter: mounts come back as at boot, then every
// service returns to its boot state (event.Rebooted). The transport (or the
// reboot command) takes the phone off the bus.
func (p *Phone) Reboot(target string) {
	p.fs.Reboot()
	p.bus.Publish(event.Rebooted{Target: target})
	p.log.Printf("I", "ShutdownThread", "rebooting %s", target)
}

// FS implements adbd.Device.
func (p *Phone) FS() adbd.FS { return syncFS{p} }

// syncFS is the file system as adb sync sees it, acting as adbd's user.
type syncFS struct{ p *Phone }

func (s syncFS) Stat(path string) (wire.Stat, error) {
	i, err := s.p.fs.StatInfo(path)
	if err != nil {
		return wire.Stat{}, err
	}
	return wireStat(i), nil
}

// wireStat is the sync protocol's form of a file's metadata; the file
// system keeps no access or change times, so both are the mtime.
func wireStat(i vfs.Info) wire.Stat {
	return wire.Stat{Ino: i.Ino, Mode: i.Mode, Nlink: i.Nlink, UID: i.UID, GID: i.GID, Size: uint64(i.Size),
		Atime: i.Mtime, Mtime: i.Mtime, Ctime: i.Mtime}
}

func (s syncFS) List(path string) ([]adbd.DirEntry, error) {
	infos, err := s.p.fs.ReadDir(path)
	if err != nil {
		return nil, err
	}
	out := make([]adbd.DirEntry, len(infos))
	for i, in := range infos {
		out[i] = adbd.DirEntry{Name: in.Name, Stat: wireStat(in)}
	}
	return out, nil
}

func (s syncFS) Open(path string) (io.ReadCloser, error) { return s.p.fs.Open(path) }

func (s syncFS) Create(path string, mode uint32, mtime int64) (io.WriteCloser, error) {
	return s.p.fs.Create(path, mode, mtime, s.p.security.AdbdUID())
}
