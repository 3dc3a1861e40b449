package shell_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	simclock "telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/toybox"
	"telltale.dev/devices/sim/vfs"
)

// phone is a shell wired as the simulated phone wires it: toybox applets
// over an in-memory file system with Android's layout, plus a few
// commands standing in for the phone's own tools.
type phone struct {
	fs *vfs.FS
	sh *shell.Shell
}

func newPhone(t testing.TB) *phone {
	t.Helper()
	fs := vfs.New("/system")
	for _, d := range []struct {
		path string
		perm uint32
	}{{"/sdcard", 0o777}, {"/data/local/tmp", 0o771}, {"/proc", 0o555}} {
		if err := fs.MkdirAll(d.path, d.perm, vfs.RootUID); err != nil {
			t.Fatal(err)
		}
		if d.path != "/proc" {
			if err := fs.Chown(d.path, vfs.ShellUID, vfs.ShellUID, vfs.RootUID); err != nil {
				t.Fatal(err)
			}
		}
	}
	sh := &shell.Shell{FS: toybox.Files(fs)}
	clock := func() time.Time { return time.Date(2024, 3, 5, 14, 7, 9, 0, time.UTC) }
	sh.Commands = toybox.Commands(fs, sh, toybox.System{Clock: stoppedClock{simclock.Real(), clock()}})
	maps.Copy(sh.Commands, map[string]shell.Func{
		// logcat stands in for the phone's: it shows the tag filter adb's
		// wrapper exported, as a real logcat honours it.
		"logcat": func(ctx context.Context, sio shell.IO, args []string) int {
			fmt.Fprintf(sio.Stdout, "--------- beginning of main\nI/test: tags=%s args=%s\n", shell.Getenv(ctx, "ANDROID_LOG_TAGS"), strings.Join(args[1:], " "))
			return 0
		},
		// su runs its -c script as root, as Magisk's does.
		"su": func(ctx context.Context, sio shell.IO, args []string) int {
			return sh.Run(shell.WithUID(ctx, vfs.RootUID), strings.Join(args[2:], " "), sio)
		},
	})
	return &phone{fs: fs, sh: sh}
}

// run runs a script as `adb shell SCRIPT` does and returns what it printed.
func (p *phone) run(ctx context.Context, script, stdin string) (stdout, stderr string, code int) {
	var o, e strings.Builder
	code = p.sh.Run(ctx, script, shell.IO{Stdin: strings.NewReader(stdin), Stdout: &o, Stderr: &e})
	return o.String(), e.String(), code
}

func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// stoppedClock shows one fixed time (date, stat) and waits in real time
// (sleep), so outputs are stable and nothing hangs.
type stoppedClock struct {
	simclock.Clock
	at time.Time
}

func (c stoppedClock) Now() time.Time { return c.at }
