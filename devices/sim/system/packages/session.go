package packages

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	"telltale.dev/devices/apk"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/vfs"
)

// Install sessions, as PackageInstaller keeps them and `pm`/`cmd package`
// expose them: install-create, install-write, install-commit,
// install-abandon (adb install-multiple, ddmlib's installPackages). `pm
// install` is a session of one APK, as PackageManagerShellCommand.runInstall
// makes it. Sources: frameworks/base services/core/java/com/android/server/
// pm/PackageManagerShellCommand.java and PackageInstallerSession.java
// (validateApkInstallLocked, assertApkConsistentLocked).

// session is one open install session: the APKs written to it by name.
type session struct {
	id    int32
	files map[string][]byte
}

// stageDir is the session's directory, which the verifier's messages name.
func (s *session) stageDir() string { return path.Dir(apk.StagePath(s.id)) }

// PackageInstaller's public statuses, which `pm install-commit` exits with
// (PackageManager.installStatusToPublicStatus); `pm install` exits 1.
const (
	statusFailure      = 1
	statusInvalid      = 4
	statusConflict     = 5
	statusStorage      = 6
	statusIncompatible = 7
)

func publicStatus(code string) int {
	switch {
	case code == "INSTALL_FAILED_UPDATE_INCOMPATIBLE":
		return statusConflict
	case code == "INSTALL_FAILED_INSUFFICIENT_STORAGE":
		return statusStorage
	case code == "INSTALL_FAILED_OLDER_SDK", code == "INSTALL_FAILED_USER_RESTRICTED", code == "INSTALL_FAILED_VERSION_DOWNGRADE":
		return statusIncompatible
	case code == "INSTALL_FAILED_INVALID_APK", strings.HasPrefix(code, "INSTALL_PARSE_FAILED_"):
		return statusInvalid
	}
	return statusFailure
}

// pmInstallCreate opens a session: "Success: created install session [ID]".
// Its options (-r, -t, -d, -g, -S, -i, --user ...) change nothing this
// phone models.
func (m *Manager) pmInstallCreate(sio shell.IO) int {
	m.mu.Lock()
	s := m.newSessionLocked()
	m.mu.Unlock()
	fmt.Fprintf(sio.Stdout, "Success: created install session [%d]\n", s.id)
	return 0
}

func (m *Manager) newSessionLocked() *session {
	if m.sessions == nil {
		m.sessions = map[int32]*session{}
	}
	id := apk.NewSessionID()
	for m.sessions[id] != nil {
		id = apk.NewSessionID()
	}
	s := &session{id: id, files: map[string][]byte{}}
	m.sessions[id] = s
	return s
}

// session finds an open session, or answers as the shell command does for
// one the caller cannot see.
func (m *Manager) session(sio shell.IO, verb, arg string) (*session, bool) {
	id, err := strconv.ParseInt(arg, 10, 32)
	if err != nil {
		fmt.Fprintf(sio.Stderr, "Exception occurred while executing '%s':\njava.lang.NumberFormatException: For input string: \"%s\"\n", verb, arg)
		return nil, false
	}
	m.mu.Lock()
	s := m.sessions[int32(id)]
	m.mu.Unlock()
	if s == nil {
		fmt.Fprintf(sio.Stderr, "Exception occurred while executing '%s':\njava.lang.SecurityException: Caller has no access to session %d\n", verb, id)
		return nil, false
	}
	return s, true
}

// pmInstallWrite is `install-write [-S BYTES] SESSION NAME [PATH|-]`: the
// APK from a file on the phone, or BYTES of stdin.
func (m *Manager) pmInstallWrite(sio shell.IO, args []string) int {
	size := int64(-1)
	var operands []string
	for i := 0; i < len(args); i++ {
		if args[i] == "-S" && i+1 < len(args) {
			n, err := strconv.ParseInt(args[i+1], 10, 64)
			if err != nil || n < 0 || n > maxAPK {
				return errf(sio, "Error: invalid size %q", args[i+1])
			}
			size, i = n, i+1
			continue
		}
		operands = append(operands, args[i])
	}
	if len(operands) < 2 {
		return errf(sio, "Error: usage: install-write [-S BYTES] SESSION_ID SPLIT_NAME [PATH|-]")
	}
	s, ok := m.session(sio, "install-write", operands[0])
	if !ok {
		return 255
	}
	name := operands[1]
	if name == "" || strings.ContainsAny(name, "/\x00") {
		fmt.Fprintf(sio.Stderr, "Exception occurred while executing 'install-write':\njava.lang.IllegalArgumentException: Invalid name: %s\n", name)
		return 255
	}
	src := "-"
	if len(operands) > 2 {
		src = operands[2]
	}
	data, code := m.readAPK(sio, src, size)
	if code != 0 {
		return code
	}
	m.mu.Lock()
	s.files[name] = data // same name again overwrites, as the session's file does
	m.mu.Unlock()
	fmt.Fprintf(sio.Stdout, "Success: streamed %d bytes\n", len(data))
	return 0
}

// readAPK reads an APK from a file on the phone, or size bytes of stdin
// for "-".
func (m *Manager) readAPK(sio shell.IO, src string, size int64) ([]byte, int) {
	if src != "-" {
		data, err := m.fs.ReadFile(src)
		if err != nil {
			fmt.Fprintf(sio.Stderr, "Error: Unable to open file: %s\nConsider using a file under /data/local/tmp/\n", src)
			fmt.Fprintf(sio.Stdout, "Error: Can't open file: %s\n", src)
			return nil, 1
		}
		return data, 0
	}
	if size < 0 {
		return nil, errf(sio, "Error: APK content must be streamed with -S SIZE or given as a path")
	}
	data, err := io.ReadAll(io.LimitReader(sio.Stdin, size))
	if err == nil && int64(len(data)) != size {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, errf(sio, "Failure [INSTALL_FAILED_INVALID_APK: reading stdin: %v]", err)
	}
	return data, 0
}

func (m *Manager) pmInstallCommit(ctx context.Context, sio shell.IO, args []string) int {
	if len(args) < 1 {
		return errf(sio, "Error: usage: install-commit SESSION_ID")
	}
	s, ok := m.session(sio, "install-commit", args[0])
	if !ok {
		return 255
	}
	return m.commit(ctx, sio, s, false)
}

func (m *Manager) pmInstallAbandon(sio shell.IO, args []string) int {
	if len(args) < 1 {
		return errf(sio, "Error: usage: install-abandon SESSION_ID")
	}
	s, ok := m.session(sio, "install-abandon", args[0])
	if !ok {
		return 255
	}
	m.mu.Lock()
	delete(m.sessions, s.id)
	m.mu.Unlock()
	fmt.Fprintln(sio.Stdout, "Success")
	return 0
}

// installAPK is `pm install`: a session holding the one APK as base.apk,
// committed at once.
func (m *Manager) installAPK(ctx context.Context, sio shell.IO, data []byte) int {
	m.mu.Lock()
	s := m.newSessionLocked()
	s.files["base.apk"] = data
	m.mu.Unlock()
	return m.commit(ctx, sio, s, true)
}

// commit verifies the session's APKs as one package and installs it. The
// session ends either way. pm install exits 1 on failure, install-commit
// with the public status.
func (m *Manager) commit(ctx context.Context, sio shell.IO, s *session, single bool) int {
	m.mu.Lock()
	delete(m.sessions, s.id)
	m.mu.Unlock()
	fail := func(err error) int {
		fmt.Fprintf(sio.Stdout, "Failure [%v]\n", err)
		if single {
			return 1
		}
		var ie *apk.InstallError
		if errors.As(err, &ie) {
			return publicStatus(ie.Code)
		}
		return statusFailure
	}
	base, splits, err := m.validate(s)
	if err != nil {
		return fail(err)
	}
	if err := ctx.Err(); err != nil {
		return 130
	}
	pkgName := base.Package
	m.mu.Lock()
	old, replaced := m.pkgs[pkgName]
	m.mu.Unlock()
	if m.gate != nil {
		if err := m.gate.ConfirmInstall(ctx, shell.UID(ctx), pkgName, base.Label, replaced); err != nil {
			if ctx.Err() != nil {
				return 130
			}
			return fail(&apk.InstallError{Code: "INSTALL_FAILED_USER_RESTRICTED", Message: err.Error()})
		}
	}
	if replaced {
		installed := old.APK
		if installed == nil { // the system image's copy: signed with the platform key
			installed = &apk.Package{Manifest: &apk.Manifest{Package: pkgName}}
		}
		if err := apk.CheckUpdate(installed, base, m.sdk); err != nil {
			return fail(err)
		}
	}
	sum := sha256.Sum256([]byte(pkgName + strconv.Itoa(base.VersionCode)))
	dir := "/data/app/" + pkgName + "-" + base64.RawURLEncoding.EncodeToString(sum[:16])
	if err := m.fs.MkdirAll(dir, 0o755, vfs.RootUID); err != nil {
		return fail(&apk.InstallError{Code: "INSTALL_FAILED_INSUFFICIENT_STORAGE", Message: shell.ErrText(err)})
	}
	for file, data := range splits {
		if err := m.fs.WriteFile(dir+"/"+file, data, 0o644, vfs.RootUID, false); err != nil {
			return fail(&apk.InstallError{Code: "INSTALL_FAILED_INSUFFICIENT_STORAGE", Message: shell.ErrText(err)})
		}
	}
	man := manifestFrom(base.Manifest)
	p := &Package{Manifest: man, Path: dir + "/base.apk", Installer: "adb", APK: base}
	m.mu.Lock()
	if replaced {
		p.UID = old.UID // an update keeps its app id
	} else {
		p.UID = m.uidFor(man)
		m.order = append(m.order, pkgName)
	}
	m.pkgs[pkgName] = p
	m.mu.Unlock()
	if replaced && !old.System && old.Path != p.Path {
		_ = m.fs.Remove(path.Dir(old.Path), true, vfs.RootUID)
	}
	fmt.Fprintln(sio.Stdout, "Success")
	m.log.Printf("I", "PackageManager", "installed %s %s (%d)", pkgName, man.VersionName, man.VersionCode)
	m.bus.Publish(event.PackageInstalled{Package: pkgName, VersionName: man.VersionName,
		VersionCode: man.VersionCode, Installer: "adb", Replacing: replaced})
	return 0
}

// validate is PackageInstallerSession.validateApkInstallLocked for a full
// install: every APK verified, all of one package, version and signer, one
// base, no split twice. It returns the base and the files to install
// under their final names (base.apk, split_NAME.apk).
func (m *Manager) validate(s *session) (*apk.Package, map[string][]byte, error) {
	invalid := func(format string, args ...any) error {
		return &apk.InstallError{Code: "INSTALL_FAILED_INVALID_APK", Message: fmt.Sprintf(format, args...)}
	}
	m.mu.Lock()
	files := maps.Clone(s.files)
	m.mu.Unlock()
	if len(files) == 0 {
		return nil, nil, invalid("No packages staged")
	}
	var base, first *apk.Package
	out := map[string][]byte{}
	seen := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		data := files[name]
		p, err := apk.Verify(bytes.NewReader(data), int64(len(data)), apk.Platform{SDK: m.sdk, Path: s.stageDir() + "/" + name})
		if err != nil {
			return nil, nil, err
		}
		if seen[p.Split] {
			split := p.Split
			if split == "" {
				split = "null"
			}
			return nil, nil, invalid("Split %s was defined multiple times", split)
		}
		seen[p.Split] = true
		if first == nil {
			first = p
		} else if err := consistent(s.stageDir()+"/"+name, p, first); err != nil {
			return nil, nil, err
		}
		target := "base.apk"
		if p.Split != "" {
			target = "split_" + p.Split + ".apk"
		} else {
			base = p
		}
		out[target] = data
	}
	if base == nil {
		return nil, nil, invalid("Full install must include a base package")
	}
	return base, out, nil
}

// consistent is assertApkConsistentLocked: every APK must match the
// package the session's first APK set; tag is the staged file's path.
func consistent(tag string, p, first *apk.Package) error {
	invalid := func(format string, args ...any) error {
		return &apk.InstallError{Code: "INSTALL_FAILED_INVALID_APK", Message: tag + " " + fmt.Sprintf(format, args...)}
	}
	switch {
	case p.Package != first.Package:
		return invalid("package %s inconsistent with %s", p.Package, first.Package)
	case p.VersionCode != first.VersionCode:
		return invalid("version code %d inconsistent with %d", p.VersionCode, first.VersionCode)
	case !p.SameSigner(first):
		return invalid("signatures are inconsistent")
	}
	return nil
}
