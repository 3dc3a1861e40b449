package adb_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"telltale.dev/devices/adb"
	"telltale.dev/devices/adb/adbtest"
	"telltale.dev/devices/adb/wire"
	"telltale.dev/devices/sim/adbd"
)

// testDevice is the phone behind the simulated adbd in these tests: a real
// /bin/sh runs its commands (so quoting is checked by a real shell) and a
// host directory is its file system.
type testDevice struct {
	features string
	root     string // host directory standing for the device's /
	props    map[string]string
	rootMsg  string
	// exec, when set, handles a command before the shell does; ok=false
	// passes it on.
	exec func(ctx context.Context, cmd string, stdout, stderr io.Writer) (code int, ok bool)
	// create, when set, wraps writers the FS hands out, to stall or break
	// a transfer.
	create func(path string, w io.WriteCloser) io.WriteCloser
}

func newTestDevice(t testing.TB) *testDevice {
	return &testDevice{
		features: "shell_v2,cmd,stat_v2",
		root:     t.TempDir(),
		props: map[string]string{
			"ro.product.device":        "ginkgo",
			"ro.product.model":         "Redmi Note 8",
			"ro.build.version.release": "10",
			"ro.miui.ui.version.name":  "V11",
		},
		rootMsg: "adbd cannot run as root in production builds\n",
	}
}

func (d *testDevice) Banner() string {
	return "device::ro.product.name=ginkgo;ro.product.model=Redmi Note 8;ro.product.device=ginkgo;features=" + d.features
}

func (d *testDevice) Root() (string, bool) { return d.rootMsg, false }

func (d *testDevice) FS() adbd.FS { return dirFS{d} }

func (d *testDevice) Exec(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) int {
	if d.exec != nil {
		if code, ok := d.exec(ctx, cmd, stdout, stderr); ok {
			return code
		}
	}
	if f := strings.Fields(cmd); len(f) > 0 && f[0] == "getprop" {
		return d.getprop(f[1:], stdout)
	}
	// Commands on device paths are served here, as the shell below runs
	// on the host and would reach the host's own /data.
	if rest, ok := strings.CutPrefix(cmd, "pm install -r "); ok {
		return d.pmInstall(strings.Trim(rest, "'"), stdout)
	}
	if pkg, ok := strings.CutPrefix(cmd, "pm uninstall "); ok {
		if pkg != "com.example.present" {
			fmt.Fprintln(stdout, "Failure [DELETE_FAILED_INTERNAL_ERROR]")
			return 1
		}
		fmt.Fprintln(stdout, "Success")
		return 0
	}
	if rest, ok := strings.CutPrefix(cmd, "rm -f "); ok {
		if err := os.Remove(d.host(strings.Trim(rest, "'"))); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		return 0
	}
	sh := exec.CommandContext(ctx, "/bin/sh", "-c", cmd)
	sh.Dir, sh.Stdin, sh.Stdout, sh.Stderr = d.root, stdin, stdout, stderr
	err := sh.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return ee.ExitCode()
	}
	fmt.Fprintln(stderr, err)
	return 127
}

func (d *testDevice) getprop(args []string, w io.Writer) int {
	if len(args) == 1 {
		fmt.Fprintln(w, d.props[args[0]])
		return 0
	}
	keys := make([]string, 0, len(d.props))
	for k := range d.props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "[%s]: [%s]\n", k, d.props[k])
	}
	return 0
}

// pmInstall accepts any staged file except one whose content starts with
// "FAIL ", which is refused with the rest of that line as pm's reason.
func (d *testDevice) pmInstall(path string, w io.Writer) int {
	b, err := os.ReadFile(d.host(path))
	if err != nil {
		fmt.Fprintf(w, "Failure [INSTALL_FAILED_INVALID_URI: %v]\n", err)
		return 1
	}
	if reason, ok := strings.CutPrefix(string(b), "FAIL "); ok {
		fmt.Fprintf(w, "Failure [%s]\n", strings.TrimSpace(reason))
		return 1
	}
	fmt.Fprintln(w, "Success")
	return 0
}

func (d *testDevice) host(path string) string {
	return filepath.Join(d.root, filepath.Clean("/"+path))
}

// dirFS serves sync: from the device's host directory.
type dirFS struct{ d *testDevice }

func (f dirFS) Stat(path string) (wire.Stat, error) {
	fi, err := os.Lstat(f.d.host(path))
	if err != nil {
		return wire.Stat{}, errno(err)
	}
	return statOf(fi), nil
}

func (f dirFS) List(path string) ([]adbd.DirEntry, error) {
	ents, err := os.ReadDir(f.d.host(path))
	if err != nil {
		return nil, errno(err)
	}
	var out []adbd.DirEntry
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			return nil, errno(err)
		}
		out = append(out, adbd.DirEntry{Name: e.Name(), Stat: statOf(fi)})
	}
	return out, nil
}

func (f dirFS) Open(path string) (io.ReadCloser, error) {
	r, err := os.Open(f.d.host(path))
	if err != nil {
		return nil, errno(err)
	}
	return r, nil
}

func (f dirFS) Create(path string, mode uint32, mtime int64) (io.WriteCloser, error) {
	name := f.d.host(path)
	w, err := os.OpenFile(name, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, os.FileMode(mode&0o777))
	if err != nil {
		return nil, errno(err)
	}
	var wc io.WriteCloser = &createdFile{File: w, mode: os.FileMode(mode & 0o777), mtime: mtime}
	if f.d.create != nil {
		wc = f.d.create(path, wc)
	}
	return wc, nil
}

// createdFile sets mode and mtime on close, as adbd does once DONE arrives.
type createdFile struct {
	*os.File
	mode  os.FileMode
	mtime int64
}

func (c *createdFile) SetMtime(mtime int64) { c.mtime = mtime }

func (c *createdFile) Close() error {
	if err := c.File.Close(); err != nil {
		return err
	}
	if err := os.Chmod(c.Name(), c.mode); err != nil {
		return err
	}
	t := time.Unix(c.mtime, 0)
	return os.Chtimes(c.Name(), t, t)
}

func statOf(fi fs.FileInfo) wire.Stat {
	st := fi.Sys().(*syscall.Stat_t)
	return wire.Stat{
		Dev: st.Dev, Ino: st.Ino, Mode: st.Mode, Nlink: uint32(st.Nlink),
		UID: st.Uid, GID: st.Gid, Size: uint64(st.Size),
		Atime: st.Atim.Sec, Mtime: st.Mtim.Sec, Ctime: st.Ctim.Sec,
	}
}

func errno(err error) error {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return syscall.EIO
}

// phone is a simulated phone connected to a test adb server.
type phone struct {
	srv    *adbd.Server
	dev    *testDevice
	client *adb.Client
	*adb.Device
}

// startPhone serves dev on a free port, starts a test adb server and has it
// connect to the phone.
func startPhone(t testing.TB, dev *testDevice) *phone {
	t.Helper()
	srv, err := adbd.Listen("127.0.0.1:0", dev)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	c := adbtest.StartServer(t)
	return &phone{srv: srv, dev: dev, client: c, Device: adbtest.Connect(t, c, srv.Addr())}
}
