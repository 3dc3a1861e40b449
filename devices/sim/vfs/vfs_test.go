package vfs

import (
	"errors"
	"io"
	"reflect"
	"syscall"
	"testing"
)

func names(t *testing.T, f *FS, dir string) []string {
	t.Helper()
	infos, err := f.ReadDir(dir)
	if err != nil {
		t.Fatalf("ReadDir(%s): %v", dir, err)
	}
	var out []string
	for _, i := range infos {
		out = append(out, i.Name)
	}
	return out
}

func TestErrnoAndPermissions(t *testing.T) {
	f := New("/system")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.MkdirAll("/data/local/tmp", 0o771, RootUID))
	must(f.Chown("/data/local/tmp", ShellUID, ShellUID, RootUID))
	cases := []struct {
		name string
		err  error
		want syscall.Errno
	}{
		{"read missing", func() error { _, err := f.ReadFile("/nope"); return err }(), syscall.ENOENT},
		{"write into ro mount", f.WriteFile("/system/x", nil, 0o644, RootUID, false), syscall.EROFS},
		{"shell writes root dir", f.Mkdir("/data/x", 0o755, ShellUID), syscall.EACCES},
		{"mkdir twice", func() error {
			_ = f.Mkdir("/data/local/tmp/d", 0o755, ShellUID)
			return f.Mkdir("/data/local/tmp/d", 0o755, ShellUID)
		}(), syscall.EEXIST},
		{"read a dir", func() error { _, err := f.ReadFile("/data"); return err }(), syscall.EISDIR},
		{"rm non-empty", func() error {
			_ = f.WriteFile("/data/local/tmp/d/f", []byte("x"), 0o644, ShellUID, false)
			return f.Remove("/data/local/tmp/d", false, ShellUID)
		}(), syscall.ENOTEMPTY},
		{"path through a file", f.Mkdir("/data/local/tmp/d/f/g", 0o755, ShellUID), syscall.ENOTDIR},
		{"rm a mount point", f.Remove("/system", true, RootUID), syscall.EBUSY},
		{"chown as shell", f.Chown("/data/local/tmp/d", 0, 0, ShellUID), syscall.EPERM},
	}
	for _, c := range cases {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.err, c.want)
		}
	}
}

func TestCreateAppearsOnClose(t *testing.T) {
	f := New()
	if err := f.MkdirAll("/sdcard", 0o777, RootUID); err != nil {
		t.Fatal(err)
	}
	w, err := f.Create("/sdcard/a.bin", 0o600, 1000, ShellUID)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "hello")
	if _, err := f.StatInfo("/sdcard/a.bin"); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("file visible before Close: %v", err)
	}
	w.(interface{ SetMtime(int64) }).SetMtime(1234)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	i, err := f.StatInfo("/sdcard/a.bin")
	if err != nil || i.Size != 5 || i.Mtime != 1234 || i.Mode != ModeFile|0o600 || i.UID != ShellUID {
		t.Errorf("after Close: %+v %v", i, err)
	}
	if _, err := f.Create("/sdcard", 0o644, 0, ShellUID); !errors.Is(err, syscall.EISDIR) {
		t.Errorf("Create over a directory: %v", err)
	}
	if _, err := f.Create("/missing/x", 0o644, 0, ShellUID); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("Create in a missing directory: %v", err)
	}
}

func TestMountsStackAndRebootUndoesThem(t *testing.T) {
	f := New("/system", "/apex/conscrypt")
	for _, ro := range []string{"/system", "/apex/conscrypt"} {
		if err := f.Remount(ro, false); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"/system/certs", "/apex/conscrypt/certs"} {
		if err := f.MkdirAll(d, 0o755, RootUID); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.WriteFile("/system/certs/orig.0", []byte("o"), 0o644, RootUID, false); err != nil {
		t.Fatal(err)
	}
	if err := f.WriteFile("/apex/conscrypt/certs/orig.0", []byte("o"), 0o644, RootUID, false); err != nil {
		t.Fatal(err)
	}
	f.Reboot() // back to read-only
	if err := f.WriteFile("/system/certs/new.0", nil, 0o644, RootUID, false); !errors.Is(err, syscall.EROFS) {
		t.Fatalf("after reboot /system must be read-only: %v", err)
	}
	if err := f.MountTmpfs("/system/certs"); err != nil {
		t.Fatal(err)
	}
	if got := names(t, f, "/system/certs"); len(got) != 0 {
		t.Errorf("tmpfs not empty: %v", got)
	}
	if err := f.WriteFile("/system/certs/new.0", []byte("n"), 0o644, RootUID, false); err != nil {
		t.Fatalf("tmpfs must be writable: %v", err)
	}
	for range 2 { // recipes bind once per namespace; mounts stack
		if err := f.BindMount("/system/certs", "/apex/conscrypt/certs"); err != nil {
			t.Fatal(err)
		}
	}
	if got := names(t, f, "/apex/conscrypt/certs"); !reflect.DeepEqual(got, []string{"new.0"}) {
		t.Errorf("bind mount shows %v", got)
	}
	if err := f.WriteFile("/system/certs/more.0", nil, 0o644, RootUID, false); err != nil {
		t.Fatal(err)
	}
	if got := names(t, f, "/apex/conscrypt/certs"); len(got) != 2 {
		t.Errorf("a bind mount must share changes: %v", got)
	}
	f.Reboot()
	for _, d := range []string{"/system/certs", "/apex/conscrypt/certs"} {
		if got := names(t, f, d); !reflect.DeepEqual(got, []string{"orig.0"}) {
			t.Errorf("after reboot %s shows %v", d, got)
		}
	}
	if len(f.Mounts()) != 3 {
		t.Errorf("mounts after reboot: %+v", f.Mounts())
	}
}
