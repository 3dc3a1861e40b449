package actions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"telltale.dev/devices/adb"
	"telltale.dev/devices/profiles"
	"telltale.dev/fixtures/apk"
	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/flows"
	"telltale.dev/harness/journal"
	"telltale.dev/harness/session"
)

// LauncherActivity is the test APK's launcher activity: the framework's
// plain android.app.Activity, so the APK needs no code (hasCode=false).
const LauncherActivity = "android.app.Activity"

// ConfirmFlow names the flow that answers the phone's confirmation of an
// install over USB (MIUI's "Install via USB" dialog), if it has one.
const ConfirmFlow = "install-confirm"

// InstallApp builds a minimal signed APK whose package name is the canary
// and installs it the way the phone allows: over adb, answering MIUI's
// "Install via USB" dialog on the screen when the phone asks; or, on a
// rooted MIUI phone whose "Install via USB" is off, with `su -c pm
// install`, which skips both. Teardown uninstalls it.
func InstallApp(ctx context.Context, s *session.Session, c canary.Canary) (*Result, error) {
	p := phoneOf(s)
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
		if err := p.ready(ctx); err != nil {
			return err
		}
		how, err := p.installWay(ctx)
		if err != nil {
			return err
		}
		if how == installSu {
			return p.installAsRoot(ctx, path, c.Value, b)
		}
		return p.installConfirmed(ctx, path, c.Value)
	})
}

type installWay int

const (
	installADB installWay = iota // adb install, answering a dialog if one shows
	installSu                    // su -c pm install
)

// installWay picks how to install: MIUI refuses the shell's installs
// unless "Install via USB" is on (then it asks on the screen); su skips
// that (rom1v/sndcpy#64, Magisk#3152).
func (p *phone) installWay(ctx context.Context) (installWay, error) {
	if p.s.Prop("ro.miui.ui.version.name") == "" {
		return installADB, nil
	}
	v, err := p.s.Shell(ctx, "getprop persist.security.adbinstall")
	if err != nil {
		return 0, err
	}
	if strings.TrimSpace(v) == "1" {
		return installADB, nil
	}
	if _, ok, err := p.su(ctx); err != nil || ok {
		return installSu, err
	}
	return 0, errors.New("install-app: MIUI refuses installs over USB and the phone has no root: turn on Settings > Additional settings > " +
		"Developer options > \"Install via USB\" (needs a Mi Account sign-in), then run again")
}

// installConfirmed installs over adb while watching the screen for the
// phone's confirmation dialog, and answers it. An update of an installed
// package, or a phone without the dialog, installs without asking.
func (p *phone) installConfirmed(ctx context.Context, path, pkg string) error {
	if !p.run.Has(ConfirmFlow) {
		return p.s.Install(ctx, path, pkg)
	}
	done := make(chan error, 1)
	go func() { done <- p.s.Install(ctx, path, pkg) }()
	fctx, stop := context.WithCancel(ctx)
	defer stop()
	answered := make(chan error, 1)
	go func() { answered <- p.flow(fctx, ConfirmFlow, map[string]string{"package": pkg}) }()
	select {
	case err := <-done:
		stop()
		<-answered // the dialog never showed: nothing to answer
		return err
	case ferr := <-answered:
		err := <-done
		if err != nil && ferr != nil {
			return fmt.Errorf("%w (the install dialog was not answered: %w)", err, ferr)
		}
		return err
	}
}

// installAsRoot pushes the APK and installs it with su, as research phones
// allow; the staged copy is journaled and removed.
func (p *phone) installAsRoot(ctx context.Context, path, pkg string, b []byte) error {
	root, _, err := p.su(ctx)
	if err != nil {
		return err
	}
	remote := "/data/local/tmp/" + filepath.Base(path)
	if err := p.s.Record(journal.Entry{Op: journal.OpFile, Path: remote}); err != nil {
		return err
	}
	l := p.s.Lease()
	srv, _ := adb.ParseServer(l.Server)
	pctx, cancel := context.WithTimeout(ctx, time.Minute)
	err = adb.New(srv).Device(l.Serial).Push(pctx, bytes.NewReader(b), remote, 0o644, time.Now())
	cancel()
	if err != nil {
		return p.lost(fmt.Errorf("install-app: push %s: %w", remote, err))
	}
	if err := p.s.Record(journal.Entry{Op: journal.OpInstall, Package: pkg, Path: path}); err != nil {
		return err
	}
	out, err := p.s.Shell(ctx, asRoot(root, "pm install -r "+remote))
	if err == nil && !strings.Contains(out, "Success") {
		err = fmt.Errorf("install-app: %s pm install: %s", root, strings.TrimSpace(out))
	}
	_, _ = p.s.Shell(ctx, "rm -f", remote) // only wastes space if left
	return err
}

// su finds how the phone's su runs a command as root: Magisk and SuperSU
// take `su -c CMD`, AOSP's `su 0 CMD` (HTTP Toolkit tries each the same way).
func (p *phone) su(ctx context.Context) (string, bool, error) {
	for _, form := range []string{"su -c", "su 0"} {
		out, err := p.s.Shell(ctx, form+" id -u")
		if err == nil && strings.TrimSpace(out) == "0" {
			return form, true, nil
		}
		if lost := p.s.Lost(); lost != nil {
			return "", false, lost
		}
	}
	return "", false, nil
}

// asRoot is cmd as su's form takes it: Magisk's `su -c` one command line,
// AOSP's `su 0` the command's own arguments (it execs them; LineageOS su.cpp).
func asRoot(form, cmd string) string {
	if form == "su -c" {
		return form + " " + adb.Quote(cmd)
	}
	return form + " " + cmd
}

// OpenApp opens the canary package through its launcher activity with `am
// start -W`, and reads "Status: ok" from what it prints (it exits 0 even
// when nothing started).
func OpenApp(ctx context.Context, s *session.Session, c canary.Canary) (*Result, error) {
	p := phoneOf(s)
	return window(ctx, s, profiles.ActionOpenApp, []canary.Canary{c}, func(ctx context.Context) error {
		if err := p.ready(ctx); err != nil {
			return err
		}
		return p.lost(flows.Launch(ctx, s.Shell, c.Value+"/"+LauncherActivity, false))
	})
}
