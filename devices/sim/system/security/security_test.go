package security_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/internal/cmdtest"
	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/system/security"
)

// whoShell reports the uid each command would run as.
type whoShell struct{}

func (whoShell) Run(ctx context.Context, line string, sio shell.IO) int {
	fmt.Fprintf(sio.Stdout, "run %q as %d\n", line, shell.UID(ctx))
	return 0
}

func (whoShell) Exec(ctx context.Context, sio shell.IO, args []string) int {
	fmt.Fprintf(sio.Stdout, "exec %q as %d\n", args, shell.UID(ctx))
	return 0
}

func TestAdbRoot(t *testing.T) {
	var bus event.Bus
	s := security.New(security.Config{Bus: &bus, Debuggable: true, Shell: whoShell{}})
	if msg, restart := s.Root(); msg != "restarting adbd as root\n" || !restart || s.AdbdUID() != 0 {
		t.Fatalf("first adb root: %q %v uid %d", msg, restart, s.AdbdUID())
	}
	if msg, restart := s.Root(); msg != "adbd is already running as root\n" || restart {
		t.Errorf("second adb root: %q %v", msg, restart)
	}
	bus.Publish(event.Rebooted{})
	if s.AdbdUID() != 2000 {
		t.Error("adb root survived a reboot")
	}
	user := security.New(security.Config{Bus: &bus, Shell: whoShell{}})
	if msg, restart := user.Root(); msg != "adbd cannot run as root in production builds\n" || restart || user.AdbdUID() != 2000 {
		t.Errorf("adb root on a user build: %q %v", msg, restart)
	}
}

func TestSu(t *testing.T) {
	var bus event.Bus
	s := security.New(security.Config{Bus: &bus, Shell: whoShell{}})
	su := s.Commands()["su"]
	if out := cmdtest.Must(t, su, "su", "-c", "id", "-u"); out != "run \"id -u\" as 0\n" {
		t.Errorf("su -c: %q", out)
	}
	if out := cmdtest.Must(t, su, "su", "0", "id"); out != "exec [\"id\"] as 0\n" {
		t.Errorf("su 0: %q", out)
	}
	s.SetUnrooted(true)
	r := cmdtest.Run(context.Background(), su, "su", "-c", "id")
	if r.Code != shell.ExitNotFound || !strings.HasSuffix(r.Err, "su: inaccessible or not found\n") || r.Out != "" {
		t.Errorf("su on an unrooted phone: %+v", r)
	}
}
