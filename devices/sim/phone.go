package sim

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"image"
	"io"
	"net"
	"path"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"telltale.dev/devices/adb/wire"
	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim/adbd"
	"telltale.dev/devices/sim/app"
	"telltale.dev/devices/sim/apps"
	"telltale.dev/devices/sim/apps/browser"
	"telltale.dev/devices/sim/apps/magisk"
	"telltale.dev/devices/sim/apps/securitycenter"
	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/netstack"
	"telltale.dev/devices/sim/sdk"
	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/system"
	"telltale.dev/devices/sim/system/activity"
	"telltale.dev/devices/sim/system/battery"
	"telltale.dev/devices/sim/system/connectivity"
	"telltale.dev/devices/sim/system/keyguard"
	"telltale.dev/devices/sim/system/logd"
	"telltale.dev/devices/sim/system/packages"
	"telltale.dev/devices/sim/system/power"
	"telltale.dev/devices/sim/system/props"
	"telltale.dev/devices/sim/system/security"
	"telltale.dev/devices/sim/system/settings"
	"telltale.dev/devices/sim/system/wifi"
	"telltale.dev/devices/sim/system/window"
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
	suPrompt *magisk.Prompt
	installs *securitycenter.Installs
	net      *netstack.Stack
	window   *window.Manager

	// services is servicemanager: Start adds the telemetry's service.
	services *system.Registry

	// Set by Start: the transport (read by commands on adbd's goroutines)
	// and the telemetry.
	srv atomic.Pointer[adbd.Server]
	tel *sdk.Telemetry
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
	kind, err := kindOf(prof, cfg)
	if err != nil {
		return nil, err
	}
	androidID, _ := deviceIDs(prof, fw, cfg.Seed)
	bus := &event.Bus{}
	log := logd.New(clk)
	p := &Phone{prof: prof, fw: fw, downtime: downtime, clock: clk, bus: bus, fs: fs, sh: &shell.Shell{}, log: log}
	p.props = props.New(bootProps(prof, fw, serialFrom(androidID), kind))
	miui := p.props.Get("ro.miui.ui.version.name") != ""
	if err := p.guard(cfg, kind, miui); err != nil {
		return nil, err
	}
	p.settings = settings.New(settings.Config{Bus: bus, Gate: p.security, SDK: fw.SDK})
	p.settings.Seed(bootSettings(prof, androidID))
	p.packages = packages.New(packages.Config{Files: fs, Bus: bus, Log: log, System: apps.SystemImage(pkgNames, fw.Apps),
		Browser: prof.Actions.Browser.Package, SDK: fw.SDK, User: userApps(kind), Gate: p.security})
	p.power = power.New(bus, log)
	bat := battery.New(bus, fw.SDK)
	p.wifi = wifi.New(wifi.Config{Bus: bus, Settings: p.settings, Log: log, SDK: fw.SDK, InRange: cfg.Networks})
	connectivity.New(bus, p.settings, log)
	kg := keyguard.New(bus, log, clk, fw.SDK)
	runtime := system.Runtime{MIUI: miui, Files: fs}
	p.net = netstack.New(netstack.Config{Settings: p.settings, Files: fs, Clock: clk, SDK: fw.SDK,
		Links: p.wifi, AdbdUID: p.security.AdbdUID, Bus: bus})
	if err := p.net.PublishProc(); err != nil {
		return nil, err
	}
	am := activity.New(activity.Config{Bus: bus, Log: log, Resolver: p.packages, SDK: fw.SDK, Runtime: runtime, Keyguard: kg})
	host := app.NewHost(apps.Factory(apps.Options{Browser: browser.Options{SearchURL: prof.Actions.Browser.SearchURL}}),
		app.Env{Clock: clk, Bus: bus, Activities: am, Packages: p.packages, Settings: p.settings, Files: fs, Net: p.net,
			Props: p.props, Wifi: apps.WifiManager(p.wifi), Security: p.security}, log)
	am.Attach(host)
	p.window = window.New(window.Config{Display: window.DefaultDisplay, Sources: []window.Source{host, p.suPrompt, p.installs, kg},
		Power: p.power, Activities: am, Keyguard: kg, Gate: p.security, Files: fs, Log: log, SDK: fw.SDK, Runtime: runtime})

	p.services = &system.Registry{}
	for name, svc := range map[string]any{"activity": am, "package": p.packages, "settings": p.settings,
		"power": p.power, "battery": bat, "wifi": p.wifi, "window": p.window} {
		if err := p.services.Add(name, svc); err != nil {
			return nil, err
		}
	}
	fs.SetClock(clk.Now)
	p.sh.FS = toybox.Files(fs)
	tools := toolbox(toybox.Commands(fs, p.sh, toybox.System{Machine: machine(p.props.Get("ro.product.cpu.abi")), Clock: clk, Applets: p.net.Applets()}))
	cmds, err := commandTable(p.services, p.props, p.settings, p.packages, am, p.window, log, p.security, p.net, tools, p)
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

// Profile and Firmware say what the phone pretends to be.
func (p *Phone) Profile() *profiles.Profile   { return p.prof }
func (p *Phone) Firmware() *profiles.Firmware { return p.fw }

// Subscribe calls fn with every event the phone's apps and services publish
// from now on, for in-process tests of what happened on the phone; the
// returned func unsubscribes.
func (p *Phone) Subscribe(fn func(event.Event)) (unsubscribe func()) { return p.bus.Subscribe(fn) }

// Files is the phone's file system, for tests.
func (p *Phone) Files() *vfs.FS { return p.fs }

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

// SetUnrooted takes su away from a research phone (or gives it back), as
// uninstalling Magisk would; the MIUI toggles stay as they are. A stock
// phone (Config.Kind) has no su either way.
func (p *Phone) SetUnrooted(unrooted bool) { p.security.SetUnrooted(unrooted) }

var (
	_ adbd.Device   = (*Phone)(nil)
	_ adbd.Rebooter = (*Phone)(nil)
	_ adbd.Display  = (*Phone)(nil)
	_ adbd.Sockets  = (*Phone)(nil)
)

// Banner implements adbd.Device, with the features the firmware's adbd
// advertises (adbdFeatures).
func (p *Phone) Banner() string {
	return fmt.Sprintf("device::ro.product.name=%s;ro.product.model=%s;ro.product.device=%s;features=%s",
		p.Prop("ro.product.name"), p.Prop("ro.product.model"), p.Prop("ro.product.device"), strings.Join(adbdFeatures, ","))
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

// DialSocket implements adbd.Sockets: `adb forward` reaches what listens
// on the phone through its network stack.
func (p *Phone) DialSocket(ctx context.Context, spec string) (net.Conn, error) {
	return p.net.DialSocket(ctx, spec)
}

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

// Create makes the file's missing parent directories first, as adbd's
// handle_send_file does with secure_mkdirs (mode 0755) when the open fails
// with ENOENT (AOSP adb/daemon/file_sync_service.cpp): the host relies on
// it once the banner says fixed_push_mkdir.
func (s syncFS) Create(p string, mode uint32, mtime int64) (io.WriteCloser, error) {
	uid := s.p.security.AdbdUID()
	w, err := s.p.fs.Create(p, mode, mtime, uid)
	if errors.Is(err, syscall.ENOENT) {
		if merr := s.p.fs.MkdirAll(path.Dir(p), 0o755, uid); merr != nil {
			return nil, merr
		}
		w, err = s.p.fs.Create(p, mode, mtime, uid)
	}
	return w, err
}
