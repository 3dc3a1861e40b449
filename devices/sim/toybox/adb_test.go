package toybox_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"telltale.dev/devices/adb"
	"telltale.dev/devices/adb/adbtest"
	"telltale.dev/devices/adb/wire"
	"telltale.dev/devices/sim/adbd"
	"telltale.dev/devices/sim/shell"
)

// shellPhone is the shell and toybox behind the simulated phone's real adb
// transport (adbd), so the real adb server and client drive them as they
// drive a phone. Only the shell is under test: sync is refused.
type shellPhone struct{ sh *shell.Shell }

func (shellPhone) Banner() string {
	return "device::ro.product.name=shell;ro.product.model=shell;ro.product.device=shell;features=shell_v2,cmd,stat_v2"
}

func (p shellPhone) Exec(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) int {
	sio := shell.IO{Stdin: stdin, Stdout: stdout, Stderr: stderr}
	if strings.TrimSpace(cmd) == "" {
		return p.sh.Exec(ctx, sio, []string{"sh"}) // interactive: a script on stdin
	}
	return p.sh.Run(ctx, cmd, sio)
}

func (shellPhone) FS() adbd.FS { return noSync{} }
func (shellPhone) Root() (msg string, restart bool) {
	return "adbd cannot run as root in production builds\n", false
}

type noSync struct{}

func (noSync) Stat(string) (wire.Stat, error)                       { return wire.Stat{}, syscall.EACCES }
func (noSync) List(string) ([]adbd.DirEntry, error)                 { return nil, syscall.EACCES }
func (noSync) Open(string) (io.ReadCloser, error)                   { return nil, syscall.EACCES }
func (noSync) Create(string, uint32, int64) (io.WriteCloser, error) { return nil, syscall.EACCES }

type adbRig struct {
	t      testing.TB
	serial string
	server *adb.Client
}

func startAdb(t testing.TB) *adbRig {
	t.Helper()
	sh, _ := newShell(t)
	sh.Commands["logcat"] = func(ctx context.Context, sio shell.IO, args []string) int {
		// adb logcat -d runs `export ANDROID_LOG_TAGS="''" ; exec logcat -d`;
		// this logcat shows what reached it.
		fmt.Fprintf(sio.Stdout, "--------- beginning of main\nI/test: tags=%s args=%s\n", shell.Getenv(ctx, "ANDROID_LOG_TAGS"), strings.Join(args[1:], " "))
		return 0
	}
	srv, err := adbd.Listen("127.0.0.1:0", shellPhone{sh})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	c := adbtest.StartServer(t)
	adbtest.Connect(t, c, srv.Addr())
	return &adbRig{t: t, serial: srv.Addr(), server: c}
}

// adb runs Debian's adb client against the rig and returns its combined
// output and exit status.
func (r *adbRig) adb(stdin string, args ...string) (string, int) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, port, _ := strings.Cut(r.server.Addr(), ":")
	cmd := exec.CommandContext(ctx, "adb", append([]string{"-P", port, "-s", r.serial}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		r.t.Fatalf("adb %v timed out: %s", args, out)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		r.t.Fatalf("adb %v: %v", args, err)
	}
	return string(out), 0
}

// TestThroughRealAdb drives the shell with the adb command-line client
// through the real adb server, as a user would.
func TestThroughRealAdb(t *testing.T) {
	r := startAdb(t)
	cases := []struct {
		stdin string
		args  []string
		out   string
		code  int
	}{
		{"", []string{"shell", "for i in 1 2 3; do echo $((i*2)); done | tail -n 1"}, "6\n", 0},
		{"", []string{"logcat", "-d"}, "--------- beginning of main\nI/test: tags='' args=-d\n", 0},
		{"", []string{"shell", "echo a > /sdcard/x; cat /sdcard/x"}, "a\n", 0},
		{"", []string{"shell", "nosuch"}, "/system/bin/sh: nosuch: inaccessible or not found\n", 127},
		{"", []string{"shell", "echo", "'a  b'", "|", "wc", "-c"}, "5\n", 0},
		{"echo from-stdin\nexit 3\n", []string{"shell"}, "from-stdin\n", 3},
		{"", []string{"shell", "echo 'x"}, "/system/bin/sh: no closing quote\n", 1},
	}
	for _, c := range cases {
		out, code := r.adb(c.stdin, c.args...)
		if out != c.out || code != c.code {
			t.Errorf("adb %q: got %q status %d, want %q status %d", c.args, out, code, c.out, c.code)
		}
	}
}

// BenchmarkShell8Streams runs `echo ok` from 8 concurrent streams through
// the real adb server; roundtrips/s counts completed commands across all
// streams (the same measure as devices/sim's benchmark of the phone).
func BenchmarkShell8Streams(b *testing.B) {
	const streams = 8
	r := startAdb(b)
	dev := r.server.Device(r.serial)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range streams {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				res, err := dev.Shell(ctx, "echo ok")
				cancel()
				if err == nil {
					err = res.Err()
				}
				if err != nil {
					b.Error(err)
					return
				}
				if !bytes.Equal(res.Stdout, []byte("ok\n")) {
					b.Errorf("echo ok printed %q", res.Stdout)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "roundtrips/s")
}
