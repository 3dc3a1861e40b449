// Package packages is the package manager: which packages are installed,
// what their manifests declare, which activity an intent resolves to, the
// pm tool and `cmd package`, and its dumpsys section.
package packages

import (
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"sync"

	"telltale.dev/devices/apk"
	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/identity"
	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/system/logd"
	"telltale.dev/devices/sim/vfs"
)

// Package is one installed package.
type Package struct {
	content.Manifest
	Path      string // base.apk
	System    bool
	Disabled  bool
	UID       uint32
	Installer string
	// APK is what the install verified of the base APK (its signer for
	// updates); nil for the system image's packages.
	APK *apk.Package
}

// Config builds a package manager.
type Config struct {
	Files *vfs.FS
	Bus   *event.Bus
	Log   *logd.Log
	// System are the packages of the system image, in the image's order.
	System []content.Manifest
	// Browser is the default browser (the browser role holder), chosen when
	// several apps open web pages.
	Browser string
	// SDK is the firmware's API level, which decides what installs check
	// and how refusals read; zero means 29 (Android 10), the oldest
	// firmware simulated.
	SDK int
	// User are apps installed before the phone came to the bench (Magisk on
	// a rooted phone): not part of the system image.
	User []content.Manifest
	// Gate may refuse or hold an install (MIUI's "Install via USB"); nil
	// lets every install through.
	Gate Gate
}

// Gate decides whether uid's install of pkg (labelled label; update when
// it replaces an installed package) may go on; it may wait for the user.
type Gate interface {
	ConfirmInstall(ctx context.Context, uid uint32, pkg, label string, update bool) error
}

// Manager is the package manager.
type Manager struct {
	fs      *vfs.FS
	bus     *event.Bus
	log     *logd.Log
	browser string

	sdk  int
	gate Gate

	mu       sync.Mutex
	pkgs     map[string]*Package
	order    []string // system image order, then install order
	nextUID  uint32
	sessions map[int32]*session // open install sessions (session.go)
}

// New installs the system image's packages.
func New(cfg Config) *Manager {
	if cfg.SDK == 0 {
		cfg.SDK = 29
	}
	m := &Manager{fs: cfg.Files, bus: cfg.Bus, log: cfg.Log, browser: cfg.Browser, sdk: cfg.SDK, gate: cfg.Gate,
		pkgs: map[string]*Package{}, nextUID: identity.AppMin}
	for _, man := range cfg.System {
		if _, dup := m.pkgs[man.Package]; dup {
			continue
		}
		m.pkgs[man.Package] = &Package{Manifest: man, Path: SystemPath(man.Package), System: true, UID: m.uidFor(man)}
		m.order = append(m.order, man.Package)
	}
	for _, man := range cfg.User {
		if _, dup := m.pkgs[man.Package]; dup {
			continue
		}
		m.pkgs[man.Package] = &Package{Manifest: man, Path: "/data/app/" + man.Package + "-1/base.apk", UID: m.uidFor(man)}
		m.order = append(m.order, man.Package)
	}
	return m
}

// SystemPath is where the system image keeps a package's APK:
// /system/app/Name/Name.apk, Name being the package's last word (modeled).
func SystemPath(pkg string) string {
	short := pkg[strings.LastIndexByte(pkg, '.')+1:]
	return "/system/app/" + short + "/" + short + ".apk"
}

// uidFor gives a package its uid: a platform shared user's fixed one
// (identity.SharedUID), the uid of another package of the same shared
// user, or the next app id; m.mu is held or m is new.
func (m *Manager) uidFor(man content.Manifest) uint32 {
	if uid, ok := identity.SharedUID(man.SharedUserID); ok {
		return uid
	}
	if man.SharedUserID != "" {
		for _, p := range m.pkgs {
			if p.SharedUserID == man.SharedUserID {
				return p.UID
			}
		}
	}
	uid := m.nextUID
	m.nextUID++
	return uid
}

// Get returns a copy of an installed package.
func (m *Manager) Get(name string) (Package, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.pkgs[name]
	if !ok {
		return Package{}, false
	}
	return *p, true
}

// Installed is what the app host needs to run a package's code: its
// manifest and uid.
func (m *Manager) Installed(name string) (content.Manifest, uint32, bool) {
	p, ok := m.Get(name)
	return p.Manifest, p.UID, ok
}

// Has says whether a package is installed.
func (m *Manager) Has(name string) bool {
	_, ok := m.Get(name)
	return ok
}

// List returns copies of every package in image-then-install order.
func (m *Manager) List() []Package {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Package, 0, len(m.order))
	for _, n := range m.order {
		out = append(out, *m.pkgs[n])
	}
	return out
}

// Launchables are the enabled packages' launcher activities, in image-then-
// install order: what a launcher shows (LauncherApps.getActivityList).
func (m *Manager) Launchables() []content.Launchable {
	var out []content.Launchable
	for _, p := range m.List() {
		if p.Disabled {
			continue
		}
		if a, ok := p.LauncherActivity(); ok {
			label := p.Label
			if label == "" {
				label = p.Package
			}
			out = append(out, content.Launchable{Component: p.Component(a), Label: label})
		}
	}
	return out
}

// UnresolvedError is an intent no installed activity takes.
type UnresolvedError struct{ Intent content.Intent }

func (e *UnresolvedError) Error() string {
	return "Error: Activity not started, unable to resolve " + e.Intent.String()
}

// NoActivityError is an explicit component its package does not declare.
type NoActivityError struct{ Component content.ComponentName }

func (e *NoActivityError) Error() string {
	return "Error: Activity class {" + e.Component.String() + "} does not exist."
}

// Resolve finds the activity an intent starts (PackageManager.resolveActivity):
// the named component; or within the named package the first activity
// whose filter matches, else its launcher activity; or across packages the
// matching activity, the default browser first when several open web pages.
func (m *Manager) Resolve(in content.Intent) (content.ComponentName, error) {
	if !in.Component.IsZero() {
		p, ok := m.Get(in.Component.Package)
		if !ok || p.Disabled {
			return content.ComponentName{}, &UnresolvedError{in}
		}
		if _, ok := p.Activity(in.Component.Class); !ok {
			return content.ComponentName{}, &NoActivityError{in.Component}
		}
		return in.Component, nil
	}
	if in.Package != "" {
		p, ok := m.Get(in.Package)
		if !ok || p.Disabled {
			return content.ComponentName{}, &UnresolvedError{in}
		}
		if a, ok := p.Matching(in); ok {
			return p.Component(a), nil
		}
		if a, ok := p.LauncherActivity(); ok {
			return p.Component(a), nil
		}
		return content.ComponentName{}, &UnresolvedError{in}
	}
	var found []content.ComponentName
	for _, p := range m.List() {
		if a, ok := p.Matching(in); ok && !p.Disabled {
			found = append(found, p.Component(a))
		}
	}
	if i := slices.IndexFunc(found, func(c content.ComponentName) bool { return c.Package == m.browser }); i > 0 {
		found[0] = found[i]
	}
	if len(found) == 0 {
		return content.ComponentName{}, &UnresolvedError{in}
	}
	return found[0], nil
}

// Commands is the pm tool.
func (m *Manager) Commands() map[string]shell.Func { return map[string]shell.Func{"pm": m.pm} }

// ShellCommand answers `cmd package`, which pm wraps.
func (m *Manager) ShellCommand(ctx context.Context, sio shell.IO, args []string) int {
	return m.pm(ctx, sio, append([]string{"cmd package"}, args...))
}

func errf(sio shell.IO, format string, args ...any) int {
	fmt.Fprintf(sio.Stderr, format+"\n", args...)
	return 1
}

func (m *Manager) pm(ctx context.Context, sio shell.IO, args []string) int {
	if len(args) < 2 {
		return errf(sio, "usage: pm [list|path|install|uninstall|clear|grant|revoke] ...")
	}
	switch args[1] {
	case "list":
		return m.pmList(sio, args[2:])
	case "path":
		return m.pmPath(sio, args[2:])
	case "install":
		return m.pmInstall(ctx, sio, args[2:])
	case "install-create":
		return m.pmInstallCreate(sio)
	case "install-write":
		return m.pmInstallWrite(sio, args[2:])
	case "install-commit":
		return m.pmInstallCommit(ctx, sio, args[2:])
	case "install-abandon":
		return m.pmInstallAbandon(sio, args[2:])
	case "uninstall":
		return m.pmUninstall(sio, args[2:])
	case "clear":
		return m.pmClear(sio, args[2:])
	case "grant", "revoke", "disable-user", "enable", "set-home-activity":
		return m.pmPackageArg(sio, args[1], args[2:])
	}
	return errf(sio, "Unknown command: %s", args[1])
}

func (m *Manager) pmList(sio shell.IO, args []string) int {
	if len(args) == 0 || args[0] != "packages" {
		return errf(sio, "Error: unknown list type '%s'", strings.Join(args, " "))
	}
	var third, system, withPath, versions, uids, onlyEnabled, onlyDisabled bool
	var filter string
	for i := 1; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--user" && i+1 < len(args):
			i++
		case a == "--show-versioncode":
			versions = true
		case strings.HasPrefix(a, "-"):
			third = third || strings.Contains(a, "3")
			system = system || strings.Contains(a, "s")
			withPath = withPath || strings.Contains(a, "f")
			uids = uids || strings.Contains(a, "U")
			onlyEnabled = onlyEnabled || strings.Contains(a, "e")
			onlyDisabled = onlyDisabled || strings.Contains(a, "d")
		default:
			filter = a
		}
	}
	all := m.List()
	slices.SortFunc(all, func(a, b Package) int { return strings.Compare(a.Package, b.Package) })
	for _, p := range all {
		if (third && p.System) || (system && !p.System) || (onlyEnabled && p.Disabled) ||
			(onlyDisabled && !p.Disabled) || !strings.Contains(p.Package, filter) {
			continue
		}
		line := "package:" + p.Package
		if withPath {
			line = "package:" + p.Path + "=" + p.Package
		}
		if versions {
			line += fmt.Sprintf(" versionCode:%d", p.VersionCode)
		}
		if uids {
			line += fmt.Sprintf(" uid:%d", p.UID)
		}
		fmt.Fprintln(sio.Stdout, line)
	}
	return 0
}

func lastOperand(args []string) string {
	for i := len(args) - 1; i >= 0; i-- {
		if !strings.HasPrefix(args[i], "-") && (i == 0 || args[i-1] != "--user") {
			return args[i]
		}
	}
	return ""
}

func (m *Manager) pmPath(sio shell.IO, args []string) int {
	p, ok := m.Get(lastOperand(args))
	if !ok {
		return 1
	}
	fmt.Fprintln(sio.Stdout, "package:"+p.Path)
	return 0
}

func (m *Manager) pmUninstall(sio shell.IO, args []string) int {
	name := lastOperand(args)
	forUser := slices.Contains(args, "--user")
	m.mu.Lock()
	p, ok := m.pkgs[name]
	if !ok || (p.System && !forUser) {
		m.mu.Unlock()
		fmt.Fprintln(sio.Stdout, "Failure [DELETE_FAILED_INTERNAL_ERROR]")
		return 1
	}
	delete(m.pkgs, name)
	m.order = slices.DeleteFunc(m.order, func(n string) bool { return n == name })
	m.mu.Unlock()
	if !p.System {
		_ = m.fs.Remove(p.Path[:strings.LastIndexByte(p.Path, '/')], true, vfs.RootUID)
	}
	m.bus.Publish(event.PackageRemoved{Package: name})
	fmt.Fprintln(sio.Stdout, "Success")
	return 0
}

func (m *Manager) pmClear(sio shell.IO, args []string) int {
	name := lastOperand(args)
	if !m.Has(name) {
		fmt.Fprintln(sio.Stdout, "Failed")
		return 1
	}
	// installd's clearAppData: what the package keeps under its data
	// directory goes; the directory stays.
	dir := "/data/data/" + name
	if infos, err := m.fs.ReadDir(dir); err == nil {
		for _, in := range infos {
			_ = m.fs.Remove(dir+"/"+in.Name, true, vfs.RootUID)
		}
	}
	m.bus.Publish(event.PackageDataCleared{Package: name})
	fmt.Fprintln(sio.Stdout, "Success")
	return 0
}

func (m *Manager) pmPackageArg(sio shell.IO, verb string, args []string) int {
	var name string
	for i, a := range args {
		if !strings.HasPrefix(a, "-") && (i == 0 || args[i-1] != "--user") {
			name = a
			break
		}
	}
	m.mu.Lock()
	p, ok := m.pkgs[name]
	if ok && verb == "disable-user" {
		p.Disabled = true
	} else if ok && verb == "enable" {
		p.Disabled = false
	}
	m.mu.Unlock()
	if !ok {
		fmt.Fprintf(sio.Stderr, "Exception occurred while executing '%s':\njava.lang.IllegalArgumentException: Unknown package: %s\n", verb, name)
		return 255
	}
	if verb == "disable-user" || verb == "enable" {
		state := map[string]string{"disable-user": "disabled-user", "enable": "enabled"}[verb]
		fmt.Fprintf(sio.Stdout, "Package %s new state: %s\n", name, state)
	}
	return 0
}

// Dump is `dumpsys package`: each package as PackageManagerService dumps
// it, reduced to the fields tools read (modeled subset).
func (m *Manager) Dump(_ context.Context, sio shell.IO, args []string) int {
	all := m.List()
	byName := map[string]Package{}
	for _, p := range all {
		byName[p.Package] = p
	}
	names := slices.Sorted(maps.Keys(byName))
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		if _, ok := byName[args[0]]; !ok {
			return 0
		}
		names = []string{args[0]}
	}
	fmt.Fprintln(sio.Stdout, "Packages:")
	for _, n := range names {
		p := byName[n]
		fmt.Fprintf(sio.Stdout, "  Package [%s] (%07x):\n    userId=%d\n    codePath=%s\n    versionCode=%d\n    versionName=%s\n",
			n, hash(n), p.UID, p.Path[:strings.LastIndexByte(p.Path, '/')], p.VersionCode, p.VersionName)
		if p.Installer != "" {
			fmt.Fprintf(sio.Stdout, "    installerPackageName=%s\n", p.Installer)
		}
		fmt.Fprintf(sio.Stdout, "    User 0: installed=true enabled=%d\n", map[bool]int{false: 0, true: 3}[p.Disabled])
	}
	return 0
}

// hash stands in for the identity hash codes Android prints.
func hash(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32() & 0xfffffff
}
