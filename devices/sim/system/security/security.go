// Package security decides who may do what on the phone, by the kind of
// phone it is: adbd as root after `adb root` where the build allows it, su
// where the phone has one (Magisk's on a rooted retail phone, AOSP's on an
// emulator image), and MIUI's gates on what the shell user may do without
// the two Developer options toggles (injecting input, writing secure and
// global settings, installing over adb).
package security

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/identity"
	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/system/logd"
)

// Kind is the kind of phone, as far as who may be root goes.
type Kind string

const (
	// Research is a rooted retail phone: Magisk's su, Developer options on,
	// both MIUI toggles on.
	Research Kind = "research"
	// Stock is a retail phone out of the box: no su, the MIUI toggles off.
	Stock Kind = "stock"
	// Emulator is a userdebug image: `adb root` works, AOSP su.
	Emulator Kind = "emulator"
)

// Kinds lists the kinds in the order `telltale sim --kind` offers them.
var Kinds = []Kind{Research, Stock, Emulator}

// SuPolicy is what Magisk answers the shell's first su request with.
type SuPolicy string

const (
	// SuGranted: Shell was granted "Forever" in Magisk beforehand.
	SuGranted SuPolicy = "granted"
	// SuPrompt: nothing stored yet, so the first request shows Magisk's
	// prompt on the screen.
	SuPrompt SuPolicy = "prompt"
	// SuDeny: Shell was denied "Forever" (or Automatic Response is Deny).
	SuDeny SuPolicy = "deny"
)

// SuPolicies lists the policies in the order `telltale sim --su-policy`
// offers them.
var SuPolicies = []SuPolicy{SuGranted, SuPrompt, SuDeny}

// The MIUI Developer options toggles, as the properties MIUI keeps them in
// (reference/miui-ui.md section 5: "USB debugging (Security settings)" is
// persist.security.adbinput, "Install via USB" persist.security.adbinstall).
const (
	PropAdbInput   = "persist.security.adbinput"
	PropAdbInstall = "persist.security.adbinstall"
)

// ErrUserRestricted is MIUI refusing an adb install: the toggle is off, or
// the user denied (or let time out) the confirmation dialog.
var ErrUserRestricted = errors.New("Install canceled by user")

// Shell runs commands for su.
type Shell interface {
	Run(ctx context.Context, line string, sio shell.IO) int
	Exec(ctx context.Context, sio shell.IO, args []string) int
	// Has says whether a command of that name (as execvp sees it) exists.
	Has(name string) bool
}

// Props is where the MIUI toggles live.
type Props interface {
	Get(name string) string
	Set(name, value string) error
}

// SuPrompter is Magisk's SuRequestActivity: it asks the user about a su
// request from the app label (package pkg) and says whether it was
// granted; the answer is remembered (the prompt's "Forever").
type SuPrompter interface {
	AskSu(ctx context.Context, label, pkg string) (grant bool, err error)
}

// InstallConfirmer is MIUI's AdbInstallActivity: it asks the user whether
// to install pkg (labelled label) over USB.
type InstallConfirmer interface {
	ConfirmInstall(ctx context.Context, pkg, label string) (allow bool, err error)
}

// Config builds the security service.
type Config struct {
	Bus  *event.Bus
	Log  *logd.Log
	Kind Kind
	// MIUI is a MIUI build, where the toggles gate the shell user.
	MIUI bool
	// SuPolicy is Magisk's stored answer for the shell at boot (research
	// phones only; default SuGranted).
	SuPolicy SuPolicy
	Shell    Shell
	Props    Props
	Prompt   SuPrompter
	Installs InstallConfirmer
}

// Security holds the root state and Magisk's policies.
type Security struct {
	cfg Config

	// promptTurn lets one su request at a time ask the user, as Magisk's
	// daemon shows one prompt at a time; the others then find the stored
	// answer.
	promptTurn chan struct{}

	mu       sync.Mutex
	adbRoot  bool
	unrooted bool
	// policy is magisk.db's policies row for the shell: "" until asked.
	policy SuPolicy
}

// New returns adbd unprivileged, as after boot; a reboot drops adb root and
// keeps Magisk's stored policies (they live in /data/adb/magisk.db).
func New(cfg Config) (*Security, error) {
	if !slices.Contains(Kinds, cfg.Kind) {
		return nil, fmt.Errorf("security: unknown kind of phone %q (want %s)", cfg.Kind, joinKinds())
	}
	if cfg.SuPolicy == "" {
		cfg.SuPolicy = SuGranted
	}
	if !slices.Contains(SuPolicies, cfg.SuPolicy) {
		return nil, fmt.Errorf("security: unknown su policy %q (want granted, prompt or deny)", cfg.SuPolicy)
	}
	if cfg.Kind == Research && cfg.SuPolicy == SuPrompt && cfg.Prompt == nil {
		return nil, errors.New("security: su policy prompt needs Magisk's prompt on the screen")
	}
	if cfg.MIUI && (cfg.Props == nil || cfg.Installs == nil) {
		return nil, errors.New("security: a MIUI phone needs its properties and the install dialog")
	}
	s := &Security{cfg: cfg, promptTurn: make(chan struct{}, 1)}
	if cfg.SuPolicy != SuPrompt {
		s.policy = cfg.SuPolicy
	}
	event.On(cfg.Bus, func(event.Rebooted) {
		s.mu.Lock()
		s.adbRoot = false
		s.mu.Unlock()
	})
	return s, nil
}

func joinKinds() string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// Kind is the kind of phone.
func (s *Security) Kind() Kind { return s.cfg.Kind }

// AdbdUID is who adbd runs commands and file transfers as.
func (s *Security) AdbdUID() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.adbRoot {
		return identity.Root
	}
	return identity.Shell
}

// Root answers adbd's root: service (AOSP adbd's restart_root_service):
// only a debuggable build (ro.debuggable=1, the emulator) restarts as root.
func (s *Security) Root() (msg string, restart bool) {
	if s.cfg.Kind != Emulator {
		return "adbd cannot run as root in production builds\n", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.adbRoot {
		return "adbd is already running as root\n", false
	}
	s.adbRoot = true
	return "restarting adbd as root\n", true
}

// SetUnrooted removes su from (or gives it back to) a research phone, as
// uninstalling Magisk would. Stock phones have no su to give back.
func (s *Security) SetUnrooted(unrooted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unrooted = unrooted
}

// toggle reads a MIUI toggle property as SystemProperties.getBoolean does.
func (s *Security) toggle(prop string) bool {
	switch strings.ToLower(s.cfg.Props.Get(prop)) {
	case "1", "y", "yes", "on", "true":
		return true
	}
	return false
}

// ErrNoToggle is a MIUI toggle asked of a build without MIUI.
var ErrNoToggle = errors.New("security: this build has no MIUI Developer options toggles")

// AdbInput says whether "USB debugging (Security settings)" is on.
func (s *Security) AdbInput() bool { return s.cfg.MIUI && s.toggle(PropAdbInput) }

// AdbInstall says whether "Install via USB" is on.
func (s *Security) AdbInstall() bool { return s.cfg.MIUI && s.toggle(PropAdbInstall) }

// SetAdbInput switches "USB debugging (Security settings)" as the Settings
// app does once its warnings are accepted. MIUI also wants a Mi Account
// signed in (and on newer builds a SIM); the simulated phones are taken as
// signed in (modeled).
func (s *Security) SetAdbInput(on bool) error { return s.setToggle(PropAdbInput, on) }

// SetAdbInstall switches "Install via USB", with SetAdbInput's conditions.
func (s *Security) SetAdbInstall(on bool) error { return s.setToggle(PropAdbInstall, on) }

func (s *Security) setToggle(prop string, on bool) error {
	if !s.cfg.MIUI {
		return ErrNoToggle
	}
	return s.cfg.Props.Set(prop, map[bool]string{true: "1", false: "0"}[on])
}

// gated says whether MIUI's shell restrictions apply to uid: MIUI's
// PackageManagerServiceImpl denies the shell user (2000) INJECT_EVENTS,
// WRITE_SECURE_SETTINGS and more unless persist.security.adbinput is true
// (reference/miui-ui.md section 5); root and apps are not the shell.
func (s *Security) gated(uid uint32) bool {
	return s.cfg.MIUI && uid == identity.Shell && !s.toggle(PropAdbInput)
}

// MayInjectInput says whether uid holds INJECT_EVENTS.
func (s *Security) MayInjectInput(uid uint32) bool { return !s.gated(uid) }

// MayWriteSecureSettings says whether uid holds WRITE_SECURE_SETTINGS.
func (s *Security) MayWriteSecureSettings(uid uint32) bool { return !s.gated(uid) }

// ConfirmInstall is MIUI's check on an install by uid of pkg: the shell
// needs "Install via USB" (else ErrUserRestricted at once), and then the
// user's yes in the confirmation dialog for a new package; an update of an
// installed one goes through without it (reference/miui-ui.md section 5,
// from the decompiled AdbInstallActivity). It blocks until the user
// answers, the dialog times out (ErrUserRestricted), or ctx ends.
func (s *Security) ConfirmInstall(ctx context.Context, uid uint32, pkg, label string, update bool) error {
	if !s.cfg.MIUI || uid != identity.Shell {
		return nil
	}
	if !s.toggle(PropAdbInstall) {
		return ErrUserRestricted
	}
	if update {
		return nil
	}
	allow, err := s.cfg.Installs.ConfirmInstall(ctx, pkg, label)
	switch {
	case err != nil:
		return err
	case !allow:
		return ErrUserRestricted
	}
	return nil
}
