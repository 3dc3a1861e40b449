package proxy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// TestAppDirPrunesThoseOfDeadProcesses: a run killed with kill -9 leaves
// its per-app socket directory behind; the next proxy removes it, and
// keeps those of processes that still run.
func TestAppDirPrunesThoseOfDeadProcesses(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(os.TempDir(), appDirPrefix+strconv.Itoa(gone.Process.Pid)+"-1")
	live := filepath.Join(os.TempDir(), appDirPrefix+strconv.Itoa(os.Getppid())+"-2")
	for _, d := range []string{stale, live} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "10123.sock"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir, err := appDir()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the dead process's directory is still there (%v)", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("the live process's directory was removed: %v", err)
	}
	if filepath.Dir(dir) != os.TempDir() || filepath.Base(dir)[:len(appDirPrefix)] != appDirPrefix {
		t.Errorf("new directory %s", dir)
	}
}
