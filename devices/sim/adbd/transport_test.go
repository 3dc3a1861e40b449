package adbd_test

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDevicesListShowsBanner(t *testing.T) {
	r := newRig(t)
	out := r.adb(t, "devices", "-l")
	want := r.serial + " "
	var line string
	for l := range strings.Lines(out) {
		if strings.HasPrefix(l, want) {
			line = l
		}
	}
	for _, field := range []string{" device ", "product:ginkgo", "model:Redmi_Note_8", "device:ginkgo"} {
		if !strings.Contains(line, field) {
			t.Errorf("adb devices -l line for %s = %q, missing %q (full output %q)", r.serial, line, field, out)
		}
	}
	if got := strings.TrimSpace(r.adb(t, "get-state")); got != "device" {
		t.Errorf("get-state = %q, want device", got)
	}
}

func TestShellV2ExitCodesAndStreams(t *testing.T) {
	r := newRig(t)
	cases := []struct {
		cmd            string
		stdout, stderr string
		code           int
	}{
		{"echo hello world", "hello world\n", "", 0},
		{"exit 7", "", "", 7},
		{"err boom", "", "boom\n", 3},
		{"frobnicate", "", "/system/bin/sh: frobnicate: not found\n", 127},
	}
	for _, c := range cases {
		stdout, stderr, code := r.split(t, "shell", c.cmd)
		if stdout != c.stdout || stderr != c.stderr || code != c.code {
			t.Errorf("adb shell %q = (%q, %q, %d), want (%q, %q, %d)", c.cmd, stdout, stderr, code, c.stdout, c.stderr, c.code)
		}
	}
}

func TestShellStdinAndBigOutput(t *testing.T) {
	r := newRig(t)
	in := make([]byte, 300_000)
	rand.Read(in)
	out, err := runADB(r.adbPort, 20*time.Second, in, "-s", r.serial, "shell", "cat")
	if err != nil {
		t.Fatalf("adb shell cat: %v\n%s", err, r.logs)
	}
	if !bytes.Equal([]byte(out), in) {
		t.Errorf("adb shell cat echoed %d bytes, want the %d sent back unchanged", len(out), len(in))
	}
	stdout, _, code := r.split(t, "shell", "big 3000000")
	if len(stdout) != 3_000_000 || code != 0 {
		t.Errorf("adb shell big 3000000 gave %d bytes, exit %d", len(stdout), code)
	}
}

func TestLegacyShellAndExec(t *testing.T) {
	r := newRig(t)
	// -x makes adb 29 use the legacy shell: service: one output channel,
	// no exit code.
	stdout, _, code := r.split(t, "shell", "-x", "err legacy")
	if stdout != "legacy\n" || code != 0 {
		t.Errorf("adb shell -x 'err legacy' = (%q, %d), want stderr merged into stdout and exit 0", stdout, code)
	}
	if got := r.adb(t, "exec-out", "echo via exec"); got != "via exec\n" {
		t.Errorf("adb exec-out echo = %q", got)
	}
	// -t asks for a pty: output gets the terminal's \r\n.
	if got, _, _ := r.split(t, "shell", "-t", "-t", "echo tty"); got != "tty\r\n" {
		t.Errorf("adb shell -t echo = %q, want %q", got, "tty\r\n")
	}
}

func TestPushPull16MiB(t *testing.T) {
	r := newRig(t)
	dir := t.TempDir()
	data := make([]byte, 16<<20)
	rand.Read(data)
	src := filepath.Join(dir, "blob")
	if err := os.WriteFile(src, data, 0o640); err != nil {
		t.Fatal(err)
	}
	r.adb(t, "push", src, "/sdcard/")
	f := r.dev.fs.get("/sdcard/blob")
	if f == nil || !bytes.Equal(f.data, data) {
		t.Fatalf("push did not store /sdcard/blob byte-identical (got %v)", f != nil)
	}
	st, _ := os.Stat(src)
	if f.mode&0o777 != 0o640 || f.mtime != st.ModTime().Unix() {
		t.Errorf("pushed file mode %o mtime %d, want 0640 and %d", f.mode, f.mtime, st.ModTime().Unix())
	}
	dst := filepath.Join(dir, "back")
	r.adb(t, "pull", "/sdcard/blob", dst)
	got, err := os.ReadFile(dst)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("pulled file differs from pushed one (%d bytes, err %v)", len(got), err)
	}
}

func TestSyncErrorsAndListing(t *testing.T) {
	r := newRig(t)
	src := filepath.Join(t.TempDir(), "x")
	os.WriteFile(src, []byte("hi"), 0o644)
	if out, err := runADB(r.adbPort, 20*time.Second, nil, "-s", r.serial, "push", src, "/system/etc/x"); err == nil ||
		!strings.Contains(out, "Read-only file system") {
		t.Errorf("push to /system: err %v, output %q; want a Read-only file system failure", err, out)
	}
	if out, err := runADB(r.adbPort, 20*time.Second, nil, "-s", r.serial, "pull", "/sdcard/nope", t.TempDir()); err == nil ||
		!strings.Contains(out, "No such file or directory") && !strings.Contains(out, "does not exist") {
		t.Errorf("pull of a missing file: err %v, output %q", err, out)
	}
	r.adb(t, "push", src, "/sdcard/one")
	r.adb(t, "push", src, "/data/local/tmp/")
	if r.dev.fs.get("/data/local/tmp/x") == nil {
		t.Errorf("push to a directory with a trailing / did not land in it")
	}
	out := r.adb(t, "ls", "/sdcard")
	if !strings.Contains(out, " one\n") {
		t.Errorf("adb ls /sdcard = %q, want an entry for one", out)
	}
	// Pull of a directory walks LIST recursively.
	dst := t.TempDir()
	r.adb(t, "pull", "/data/local", dst)
	if b, err := os.ReadFile(filepath.Join(dst, "local", "tmp", "x")); err != nil || string(b) != "hi" {
		t.Errorf("recursive pull: %q, %v", b, err)
	}
}
