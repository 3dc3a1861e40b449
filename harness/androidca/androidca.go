// Package androidca puts a CA certificate where Android apps trust it, and
// takes it out again. On a phone that gives root (adb root, or su) it goes
// into the system store through a tmpfs over the read-only directory, and on
// Android 14+ also over the conscrypt APEX copy apps actually read; without
// root it can only be offered to the user store, which most apps ignore.
// Every change is journaled before it is made, so it can be undone after a
// crash.
package androidca

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"telltale.dev/devices/adb"
	"telltale.dev/harness/ca"
	"telltale.dev/harness/journal"
)

// System CA store locations. Android 14 (API 34) reads the conscrypt APEX's
// copy instead of /system's.
const (
	SystemDir  = "/system/etc/security/cacerts"
	APEXDir    = "/apex/com.android.conscrypt/cacerts"
	UserDir    = "/sdcard/Download"
	stagingDir = "/data/local/tmp/telltale-cacerts"
	apexSDK    = 34
)

// Stores, as run.json names them.
const (
	StoreSystem = "system"
	StoreUser   = "user"
)

// Device is what the recipes need from a phone. *adb.Device has it; a
// session hands over one whose calls carry its deadlines.
type Device interface {
	Shell(ctx context.Context, cmd string, args ...string) (*adb.ShellResult, error)
	Push(ctx context.Context, r io.Reader, path string, mode os.FileMode, mtime time.Time, opts ...adb.TransferOption) error
	Stat(ctx context.Context, path string) (*adb.DirEntry, error)
}

// Record journals a change before it is made; nil records nothing (a test
// rig that is thrown away whole).
type Record func(journal.Entry) error

func (r Record) record(e journal.Entry) error {
	if r == nil {
		return nil
	}
	return r(e)
}

// Root is how commands run as root on a phone: directly once adbd runs as
// root (`adb root` on emulators and userdebug builds), or through su in the
// form the phone's su takes.
type Root struct{ su string }

// AdbdRoot runs commands as they are: adbd itself is root.
var AdbdRoot = Root{}

// SuRoot is the form a journal entry recorded ("-c", "0", or "" for adbd).
func SuRoot(su string) Root { return Root{su: su} }

// Su is the su form, "" for AdbdRoot; journal entries keep it so an undo
// goes the same way.
func (r Root) Su() string { return r.su }

// Command wraps a command line so it runs as root.
func (r Root) Command(cmd string) string {
	if r.su == "" {
		return cmd
	}
	return "su " + r.su + " " + adb.Quote(cmd)
}

// FindSu finds how the phone's su runs a command as root: Magisk and SuperSU
// take `su -c CMD`, the userdebug su takes `su 0 CMD`. ok is false when
// neither gives uid 0; err is a failure to ask at all (a lost phone).
func FindSu(ctx context.Context, d Device) (root Root, ok bool, err error) {
	for _, style := range []string{"-c", "0"} {
		r := Root{su: style}
		res, err := d.Shell(ctx, r.Command("id -u"))
		if err != nil {
			return AdbdRoot, false, err
		}
		if res.Err() == nil && strings.TrimSpace(string(res.Stdout)) == "0" {
			return r, true, nil
		}
	}
	return AdbdRoot, false, nil
}

// run runs a command line and fails on a non-zero exit.
func run(ctx context.Context, d Device, cmd string) (string, error) {
	res, err := d.Shell(ctx, cmd)
	if err != nil {
		return "", err
	}
	return string(res.Stdout), res.Err()
}

// InstallSystem follows the recipe that works on read-only system images:
// copy the existing certificates aside, mount a tmpfs over the directory,
// copy them back and add ours under the subject-hash name Android looks up.
// API 34+ reads the conscrypt APEX copy instead, which is private to each
// mount namespace: the tmpfs is bind-mounted over it in adbd's namespace and
// in the zygotes' (apps forked from then on see it; apps already running
// keep their view until restarted). sdk is the phone's API level.
func InstallSystem(ctx context.Context, d Device, c *ca.CA, root Root, sdk int, record Record) error {
	if err := record.record(journal.Entry{Op: journal.OpFile, Path: stagingDir, Su: root.su}); err != nil {
		return err
	}
	if _, err := run(ctx, d, "mkdir -p "+stagingDir); err != nil {
		return fmt.Errorf("install CA: make %s: %w", stagingDir, err)
	}
	name := c.AndroidName()
	staged := stagingDir + "/" + name
	if err := d.Push(ctx, bytes.NewReader(c.CertPEM()), staged, 0o644, time.Now()); err != nil {
		return fmt.Errorf("install CA: push %s: %w", staged, err)
	}
	if err := record.record(journal.Entry{Op: journal.OpCASystem, Paths: []string{SystemDir}, Su: root.su}); err != nil {
		return err
	}
	keep := stagingDir + "/keep"
	for _, step := range []string{
		"mkdir -p " + keep,
		"cp " + SystemDir + "/* " + keep + "/",
		"mount -t tmpfs tmpfs " + SystemDir,
		"cp " + keep + "/* " + SystemDir + "/",
		"cp " + staged + " " + SystemDir + "/" + name,
		"chown root:root " + SystemDir + "/" + name,
		"chmod 644 " + SystemDir + "/" + name,
	} {
		if _, err := run(ctx, d, root.Command(step)); err != nil {
			return fmt.Errorf("install CA into %s: %w", SystemDir, err)
		}
	}
	// Enforcing SELinux reads only files labelled as system files; a
	// permissive or label-less image needs no label and may refuse chcon,
	// which is why only a failure to run it at all counts.
	if _, err := d.Shell(ctx, root.Command("chcon u:object_r:system_file:s0 "+SystemDir+"/"+name)); err != nil {
		return fmt.Errorf("install CA: label %s: %w", name, err)
	}
	check := []string{SystemDir}
	if sdk >= apexSDK {
		if err := bindAPEX(ctx, d, root, record); err != nil {
			return err
		}
		check = append(check, APEXDir)
	}
	for _, dir := range check {
		if _, err := d.Stat(ctx, dir+"/"+name); err != nil {
			return fmt.Errorf("install CA into %s: the certificate is not there afterwards: %w", dir, err)
		}
	}
	return nil
}

// bindAPEX shows the system store's tmpfs at the conscrypt APEX path, in
// adbd's mount namespace and each zygote's.
func bindAPEX(ctx context.Context, d Device, root Root, record Record) error {
	res, err := d.Shell(ctx, root.Command("pidof zygote zygote64"))
	if err != nil {
		return fmt.Errorf("install CA into %s: find the zygotes: %w", APEXDir, err)
	}
	// pidof exits 1 with no output when no zygote runs: nothing to enter.
	pids := strings.Fields(string(res.Stdout))
	if err := record.record(journal.Entry{Op: journal.OpCASystem, Paths: []string{APEXDir}, Namespaces: pids, Su: root.su}); err != nil {
		return err
	}
	bind := "mount --bind " + SystemDir + " " + APEXDir
	if _, err := run(ctx, d, root.Command(bind)); err != nil {
		return fmt.Errorf("install CA into %s: %w", APEXDir, err)
	}
	for _, pid := range pids {
		if _, err := run(ctx, d, root.Command(nsenter(pid, bind))); err != nil {
			return fmt.Errorf("install CA into %s for zygote %s: %w", APEXDir, pid, err)
		}
	}
	return nil
}

// nsenter runs cmd in process pid's mount namespace.
func nsenter(pid, cmd string) string {
	return "nsenter --mount=/proc/" + pid + "/ns/mnt -- " + cmd
}

// InstallUser copies the CA where the user can install it, and returns
// where. Without root, Android (7+) only lets the user add a CA to the user
// store through Settings, and apps trust that store only when they opt in.
func InstallUser(ctx context.Context, d Device, c *ca.CA, record Record) (string, error) {
	path := UserDir + "/telltale-" + c.AndroidName() + ".crt"
	if err := record.record(journal.Entry{Op: journal.OpFile, Path: path}); err != nil {
		return "", err
	}
	if _, err := run(ctx, d, "mkdir -p "+UserDir); err != nil {
		return "", fmt.Errorf("offer CA: make %s: %w", UserDir, err)
	}
	if err := d.Push(ctx, bytes.NewReader(c.CertPEM()), path, 0o644, time.Now()); err != nil {
		return "", fmt.Errorf("offer CA: push %s: %w", path, err)
	}
	return path, nil
}

// UserStoreWarning is what a reader of a run must know when the CA could
// only go to the user store.
func UserStoreWarning(serial, path string) string {
	return fmt.Sprintf("WARNING: %s cannot take a system CA (no root): the run's CA was copied to %s for the user "+
		"store. Most apps do not trust user CAs, so their traffic appears as TLS failures (\"contacted, not readable\"); "+
		"a missing leak there proves nothing.", serial, path)
}

// Unmount undoes an OpCASystem entry: the mounts in each recorded
// namespace, then in adbd's. A mount already gone (a reboot) counts as
// undone.
func Unmount(ctx context.Context, d Device, e journal.Entry) error {
	root := SuRoot(e.Su)
	var cmds []string
	for _, p := range e.Paths {
		for _, pid := range e.Namespaces {
			cmds = append(cmds, nsenter(pid, "umount "+adb.Quote(p)))
		}
		cmds = append(cmds, "umount "+adb.Quote(p))
	}
	var errs []error
	for _, cmd := range cmds {
		res, err := d.Shell(ctx, root.Command(cmd))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if res.ExitKnown && res.ExitCode != 0 && !notMounted(res) {
			errs = append(errs, fmt.Errorf("%s: %s", cmd, strings.TrimSpace(string(res.Stderr)+string(res.Stdout))))
		}
	}
	return errors.Join(errs...)
}

func notMounted(r *adb.ShellResult) bool {
	out := strings.ToLower(string(r.Stderr) + string(r.Stdout))
	return strings.Contains(out, "not mounted") || strings.Contains(out, "invalid argument") ||
		strings.Contains(out, "no such file")
}
