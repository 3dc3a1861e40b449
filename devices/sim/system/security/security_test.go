package security_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/internal/cmdtest"
	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/system/logd"
	"telltale.dev/devices/sim/system/props"
	"telltale.dev/devices/sim/system/security"
)

// whoShell reports the uid each command would run as; it has id and sh.
type whoShell struct{}

func (whoShell) Run(ctx context.Context, line string, sio shell.IO) int {
	fmt.Fprintf(sio.Stdout, "run %q as %d\n", line, shell.UID(ctx))
	return 0
}

func (whoShell) Exec(ctx context.Context, sio shell.IO, args []string) int {
	fmt.Fprintf(sio.Stdout, "exec %q as %d\n", args, shell.UID(ctx))
	return 0
}

func (whoShell) Has(name string) bool { return name == "id" || name == shell.Name }

// prompter answers Magisk's prompt from a channel, counting the prompts.
type prompter struct {
	answers chan bool
	mu      sync.Mutex
	asked   []string
}

func (p *prompter) AskSu(ctx context.Context, label, pkg string) (bool, error) {
	p.mu.Lock()
	p.asked = append(p.asked, label+" "+pkg)
	p.mu.Unlock()
	select {
	case a := <-p.answers:
		return a, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// installs answers MIUI's install dialog.
type installs struct {
	allow bool
	asked []string
}

func (i *installs) ConfirmInstall(_ context.Context, pkg, _ string) (bool, error) {
	i.asked = append(i.asked, pkg)
	return i.allow, nil
}

func newSecurity(t *testing.T, kind security.Kind, policy security.SuPolicy, toggles string) (*security.Security, *prompter, *installs) {
	t.Helper()
	var bus event.Bus
	pr := &prompter{answers: make(chan bool)}
	in := &installs{}
	pp := props.New(map[string]string{security.PropAdbInput: toggles, security.PropAdbInstall: toggles})
	s, err := security.New(security.Config{Bus: &bus, Log: logd.New(clock.Real()), Kind: kind, MIUI: kind != security.Emulator,
		SuPolicy: policy, Shell: whoShell{}, Props: pp, Prompt: pr, Installs: in})
	if err != nil {
		t.Fatal(err)
	}
	return s, pr, in
}

func TestAdbRootByKind(t *testing.T) {
	var bus event.Bus
	emu, err := security.New(security.Config{Bus: &bus, Kind: security.Emulator, Shell: whoShell{}})
	if err != nil {
		t.Fatal(err)
	}
	if msg, restart := emu.Root(); msg != "restarting adbd as root\n" || !restart || emu.AdbdUID() != 0 {
		t.Fatalf("first adb root: %q %v uid %d", msg, restart, emu.AdbdUID())
	}
	if msg, restart := emu.Root(); msg != "adbd is already running as root\n" || restart {
		t.Errorf("second adb root: %q %v", msg, restart)
	}
	bus.Publish(event.Rebooted{})
	if emu.AdbdUID() != 2000 {
		t.Error("adb root survived a reboot")
	}
	for _, k := range []security.Kind{security.Research, security.Stock} {
		s, _, _ := newSecurity(t, k, "", "1")
		if msg, restart := s.Root(); msg != "adbd cannot run as root in production builds\n" || restart || s.AdbdUID() != 2000 {
			t.Errorf("adb root on a %s phone: %q %v", k, msg, restart)
		}
	}
	if _, err := security.New(security.Config{Bus: &bus, Kind: "rooted"}); err == nil {
		t.Error("an unknown kind was accepted")
	}
}

// TestAOSPSu: the emulator's su takes its first argument for a user and
// execs the rest as it is.
func TestAOSPSu(t *testing.T) {
	var bus event.Bus
	s, err := security.New(security.Config{Bus: &bus, Kind: security.Emulator, Shell: whoShell{}})
	if err != nil {
		t.Fatal(err)
	}
	su := s.Commands()["su"]
	ctx := context.Background()
	for _, c := range []struct {
		args     []string
		out, err string
		code     int
	}{
		{[]string{"su", "0", "id", "-u"}, "exec [\"id\" \"-u\"] as 0\n", "", 0},
		{[]string{"su", "shell", "id"}, "exec [\"id\"] as 2000\n", "", 0},
		{[]string{"su"}, "exec [\"/system/bin/sh\"] as 0\n", "", 0},
		{[]string{"su", "-c", "id"}, "", "su: invalid uid/gid '-c'\n", 1},
		{[]string{"su", "0", "cp a b"}, "", "su: failed to exec cp a b: No such file or directory\n", 1},
	} {
		r := cmdtest.Run(ctx, su, c.args...)
		if r.Out != c.out || r.Err != c.err || r.Code != c.code {
			t.Errorf("%v: %+v, want (%q, %q, %d)", c.args, r, c.out, c.err, c.code)
		}
	}
	if r := cmdtest.Run(shell.WithUID(ctx, 10050), su, "su", "0", "id"); r.Err != "su: not allowed\n" || r.Code != 1 {
		t.Errorf("su from an app: %+v", r)
	}
}

func TestMagiskSuPolicies(t *testing.T) {
	ctx := context.Background()
	granted, _, _ := newSecurity(t, security.Research, security.SuGranted, "1")
	su := granted.Commands()["su"]
	for _, c := range []struct {
		args []string
		out  string
	}{
		{[]string{"su", "-c", "id", "-u"}, "run \"id -u\" as 0\n"},
		{[]string{"su", "root", "-c", "id"}, "run \"id\" as 0\n"},
		{[]string{"su", "2000", "-c", "id"}, "run \"id\" as 2000\n"},
		{[]string{"su", "-v"}, "23.0:MAGISKSU\n"},
	} {
		if out := cmdtest.Must(t, su, c.args...); out != c.out {
			t.Errorf("%v: %q, want %q", c.args, out, c.out)
		}
	}
	denied, _, _ := newSecurity(t, security.Research, security.SuDeny, "1")
	r := cmdtest.Run(ctx, denied.Commands()["su"], "su", "-c", "id")
	if r.Code != 13 || r.Err != "Permission denied\n" || r.Out != "" {
		t.Errorf("su with Shell denied: %+v", r)
	}
	stock, _, _ := newSecurity(t, security.Stock, "", "0")
	if _, ok := stock.Commands()["su"]; ok {
		t.Error("a stock phone has su")
	}
	granted.SetUnrooted(true)
	r = cmdtest.Run(ctx, su, "su", "-c", "id")
	if r.Code != shell.ExitNotFound || r.Err != "/system/bin/sh: su: inaccessible or not found\n" {
		t.Errorf("su after Magisk went: %+v", r)
	}
}

// TestMagiskPromptAsksOnceAndRemembers: the first su waits on the prompt;
// one that comes meanwhile waits for the answer and is not asked again;
// later ones get the stored answer.
func TestMagiskPromptAsksOnceAndRemembers(t *testing.T) {
	for _, grant := range []bool{true, false} {
		s, pr, _ := newSecurity(t, security.Research, security.SuPrompt, "1")
		su := s.Commands()["su"]
		results := make(chan cmdtest.Result, 2)
		for range 2 {
			go func() { results <- cmdtest.Run(context.Background(), su, "su", "-c", "id") }()
		}
		pr.answers <- grant
		for range 2 {
			r := <-results
			if grant && (r.Code != 0 || r.Out != "run \"id\" as 0\n") || !grant && (r.Code != 13 || r.Err != "Permission denied\n") {
				t.Errorf("grant=%v: %+v", grant, r)
			}
		}
		if len(pr.asked) != 1 || pr.asked[0] != "Shell com.android.shell" {
			t.Errorf("grant=%v: prompts %q, want one for the Shell", grant, pr.asked)
		}
		r := cmdtest.Run(context.Background(), su, "su", "-c", "id")
		if (r.Code == 0) != grant || len(pr.asked) != 1 {
			t.Errorf("grant=%v: a later su %+v asked %d times", grant, r, len(pr.asked))
		}
	}
	// A caller that goes away while the prompt is up gets nothing.
	s, _, _ := newSecurity(t, security.Research, security.SuPrompt, "1")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if r := cmdtest.Run(ctx, s.Commands()["su"], "su", "-c", "id"); r.Out != "" || r.Code == 0 {
		t.Errorf("su whose caller left: %+v", r)
	}
}

// TestMIUIGates: without the toggles the shell may not inject input, write
// secure settings or install; root may; with "Install via USB" a new app
// needs the user's yes and an update does not.
func TestMIUIGates(t *testing.T) {
	ctx := context.Background()
	stock, _, in := newSecurity(t, security.Stock, "", "0")
	if stock.MayInjectInput(2000) || stock.MayWriteSecureSettings(2000) {
		t.Error("stock phone lets the shell inject input or write secure settings")
	}
	if !stock.MayInjectInput(0) || !stock.MayWriteSecureSettings(1000) {
		t.Error("stock phone refuses root or the system")
	}
	if err := stock.ConfirmInstall(ctx, 2000, "a.b", "A", false); !errors.Is(err, security.ErrUserRestricted) || len(in.asked) != 0 {
		t.Errorf("install with Install via USB off: %v, dialog %v", err, in.asked)
	}
	if err := stock.ConfirmInstall(ctx, 0, "a.b", "A", false); err != nil {
		t.Errorf("install as root: %v", err)
	}
	research, _, in := newSecurity(t, security.Research, "", "1")
	if !research.MayInjectInput(2000) || !research.MayWriteSecureSettings(2000) {
		t.Error("research phone refuses the shell with the toggles on")
	}
	if err := research.ConfirmInstall(ctx, 2000, "a.b", "A", false); !errors.Is(err, security.ErrUserRestricted) || strings.Join(in.asked, ",") != "a.b" {
		t.Errorf("new app, user said no: %v, dialog %v", err, in.asked)
	}
	in.allow = true
	if err := research.ConfirmInstall(ctx, 2000, "c.d", "C", false); err != nil {
		t.Errorf("new app, user said yes: %v", err)
	}
	if err := research.ConfirmInstall(ctx, 2000, "c.d", "C", true); err != nil || len(in.asked) != 2 {
		t.Errorf("an update asked again or failed: %v, dialog %v", err, in.asked)
	}
	var bus event.Bus
	emu, _ := security.New(security.Config{Bus: &bus, Kind: security.Emulator, Shell: whoShell{}})
	if !emu.MayInjectInput(2000) || emu.ConfirmInstall(ctx, 2000, "a.b", "A", false) != nil {
		t.Error("the emulator has MIUI's gates")
	}
}

// TestTogglesAsTheSettingsAppSwitchesThem: the toggles the Settings app
// flips are the properties the gates read; a build without MIUI has none.
func TestTogglesAsTheSettingsAppSwitchesThem(t *testing.T) {
	stock, _, _ := newSecurity(t, security.Stock, "", "0")
	if stock.AdbInput() || stock.AdbInstall() {
		t.Fatal("stock toggles on")
	}
	if err := stock.SetAdbInput(true); err != nil || !stock.AdbInput() || !stock.MayInjectInput(2000) {
		t.Errorf("switching USB debugging (Security settings) on: %v", err)
	}
	if err := stock.SetAdbInstall(true); err != nil || !stock.AdbInstall() {
		t.Errorf("switching Install via USB on: %v", err)
	}
	var bus event.Bus
	emu, _ := security.New(security.Config{Bus: &bus, Kind: security.Emulator, Shell: whoShell{}})
	if err := emu.SetAdbInput(true); !errors.Is(err, security.ErrNoToggle) || emu.AdbInput() {
		t.Errorf("toggle on the emulator: %v", err)
	}
}
