package sim

import (
	"fmt"
	"path"

	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim/apps/magisk"
	"telltale.dev/devices/sim/apps/securitycenter"
	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/system/security"
	"telltale.dev/devices/sim/system/wifi"
)

// Kind is the kind of phone (Config.Kind).
type Kind = security.Kind

// The kinds of phone.
const (
	KindResearch = security.Research
	KindStock    = security.Stock
	KindEmulator = security.Emulator
)

// Kinds lists the kinds of phone.
var Kinds = security.Kinds

// SuPolicy is Magisk's stored answer to the shell's su (Config.SuPolicy).
type SuPolicy = security.SuPolicy

// The su policies of a research phone.
const (
	SuGranted = security.SuGranted
	SuPrompt  = security.SuPrompt
	SuDeny    = security.SuDeny
)

// SuPolicies lists the su policies.
var SuPolicies = security.SuPolicies

// Network is a Wi-Fi access point in range (Config.Networks):
// Security is "open", "owe", "wpa2" or "wpa3", with a Passphrase for the
// last two.
type Network = wifi.Network

// kindOf is the kind of phone cfg asks for on prof, or why it cannot be:
// a profile with root is a userdebug image, which is the emulator kind and
// nothing else; a retail profile is research or stock; only a research
// phone has Magisk to have a su policy.
func kindOf(prof *profiles.Profile, cfg Config) (Kind, error) {
	k := cfg.Kind
	switch {
	case k == "" && prof.Root:
		k = KindEmulator
	case k == "" && cfg.Unrooted:
		k = KindStock
	case k == "":
		k = KindResearch
	}
	switch {
	case cfg.Unrooted && k != KindStock:
		return "", fmt.Errorf("sim: Unrooted asks for a stock phone but Kind is %s; set Kind alone", k)
	case prof.Root && k != KindEmulator:
		return "", fmt.Errorf("sim: %s is a userdebug emulator image, which can only be kind %s, not %s", prof.Name, KindEmulator, k)
	case !prof.Root && k == KindEmulator:
		return "", fmt.Errorf("sim: %s is a retail phone (kind %s or %s); kind %s needs a userdebug image such as aosp-emulator", prof.Name, KindResearch, KindStock, k)
	case cfg.SuPolicy != "" && k != KindResearch:
		return "", fmt.Errorf("sim: a su policy is Magisk's, which only a %s phone has (this one is %s)", KindResearch, k)
	}
	return k, nil
}

// suShell is the shell as su runs programs with it.
type suShell struct{ *shell.Shell }

// Has says whether execvp would find name: sh, or a command of the phone.
func (s suShell) Has(name string) bool {
	if name == shell.Name || name == "sh" {
		return true
	}
	_, ok := s.Commands[path.Base(name)]
	return ok
}

// guard builds the security service for the kind of phone, with the two
// dialogs it shows on the screen: Magisk's su prompt and MIUI's install
// confirmation.
func (p *Phone) guard(cfg Config, kind Kind, miui bool) error {
	p.suPrompt = magisk.New(p.clock)
	p.installs = securitycenter.New(p.clock)
	s, err := security.New(security.Config{Bus: p.bus, Log: p.log, Kind: kind, MIUI: miui, SuPolicy: cfg.SuPolicy,
		Shell: suShell{p.sh}, Props: p.props, Prompt: p.suPrompt, Installs: p.installs})
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	p.security = s
	return nil
}

// userApps are the apps a kind of phone has installed before it reaches
// the bench: Magisk on a research phone.
func userApps(kind Kind) []content.Manifest {
	if kind == KindResearch {
		return []content.Manifest{magisk.Manifest}
	}
	return nil
}

// Kind is the kind of phone.
func (p *Phone) Kind() Kind { return p.security.Kind() }

// AddNetwork puts a Wi-Fi access point in range, or changes the one of
// that SSID: the rig's access point coming up. The phone joins it if it is
// saved and Wi-Fi is on and not connected.
func (p *Phone) AddNetwork(n Network) { p.wifi.AddInRange(n) }

// RemoveNetwork takes the access point ssid out of range; the phone leaves
// it if connected. It says whether ssid was in range.
func (p *Phone) RemoveNetwork(ssid string) bool { return p.wifi.RemoveInRange(ssid) }
