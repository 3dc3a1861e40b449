package adb

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// installDir is where Install stages the APK, as `adb install` does.
const installDir = "/data/local/tmp/"

// Install installs (or replaces) the APK at apkPath on the host: it pushes it
// to /data/local/tmp, runs `pm install -r` and removes the staged copy. A
// package manager refusal is an *InstallError.
func (d *Device) Install(ctx context.Context, apkPath string) error {
	f, err := os.Open(apkPath)
	if err != nil {
		return fmt.Errorf("adb install: %w", err)
	}
	defer f.Close()
	remote := installDir + filepath.Base(apkPath)
	if err := d.Push(ctx, f, remote, 0o644, time.Now()); err != nil {
		return fmt.Errorf("adb install %s: staging the APK: %w", apkPath, err)
	}
	r, err := d.Shell(ctx, "pm install -r", remote)
	if err != nil {
		return fmt.Errorf("adb install %s: %w", apkPath, err)
	}
	ierr := parsePMOutput(string(r.Stdout) + string(r.Stderr))
	// The staged copy only wastes space; failing to remove it changes nothing.
	_, _ = d.Shell(ctx, "rm -f", remote)
	return ierr
}

// Uninstall removes a package; a package manager refusal is an *InstallError.
func (d *Device) Uninstall(ctx context.Context, pkg string) error {
	r, err := d.Shell(ctx, "pm uninstall", pkg)
	if err != nil {
		return fmt.Errorf("adb uninstall %s: %w", pkg, err)
	}
	return parsePMOutput(string(r.Stdout) + string(r.Stderr))
}

var pmFailure = regexp.MustCompile(`Failure \[([A-Z][A-Z0-9_]*)(?::\s*([^\]]*))?\]`)

// parsePMOutput reads what `pm install`/`pm uninstall` printed: "Success",
// or "Failure [INSTALL_FAILED_X: message]", or some other complaint.
func parsePMOutput(out string) error {
	for line := range strings.Lines(out) {
		if strings.TrimSpace(line) == "Success" {
			return nil
		}
	}
	if m := pmFailure.FindStringSubmatch(out); m != nil {
		return &InstallError{Code: m[1], Message: strings.TrimSpace(m[2])}
	}
	msg := strings.TrimSpace(out)
	if i := strings.Index(msg, "Failure ["); i >= 0 {
		msg = strings.TrimSuffix(msg[i+len("Failure ["):], "]")
	}
	if msg == "" {
		msg = "no output and no \"Success\": is pm present on the device?"
	}
	return &InstallError{Message: msg}
}
