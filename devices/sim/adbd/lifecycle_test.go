package adbd_test

import (
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/sim/adbd"
)

func TestRootRestartsTheTransport(t *testing.T) {
	r := newRig(t)
	if got := r.adb(t, "shell", "id"); !strings.HasPrefix(got, "uid=2000") {
		t.Fatalf("id before root = %q", got)
	}
	start := time.Now()
	out := r.adb(t, "root")
	if !strings.Contains(out, "restarting adbd as root") {
		t.Errorf("adb root printed %q", out)
	}
	t.Logf("adb root took %v", time.Since(start))
	start = time.Now()
	r.adb(t, "wait-for-device")
	t.Logf("back after %v", time.Since(start))
	if got := r.adb(t, "shell", "id"); !strings.HasPrefix(got, "uid=0") {
		t.Errorf("id after root = %q", got)
	}
	if out := r.adb(t, "root"); !strings.Contains(out, "already running as root") {
		t.Errorf("second adb root printed %q", out)
	}
}

func TestRebootDropsAndComesBack(t *testing.T) {
	r := newRig(t, adbd.WithRebootDowntime(2*time.Second))
	start := time.Now()
	r.adb(t, "reboot")
	t.Logf("adb reboot took %v", time.Since(start))
	// While "booting" the phone accepts and drops connections at once.
	c := dialRaw(t, r.serial)
	c.Write(adbd.EncodePacket(adbd.CmdCNXN, 0x01000001, 1<<20, []byte("host::")))
	if !c.closedByPeer() {
		t.Errorf("the phone answered during its reboot downtime")
	}
	r.dev.mu.Lock()
	if len(r.dev.rebooted) != 1 || r.dev.rebooted[0] != "" {
		t.Errorf("Device.Reboot calls = %q, want one with target \"\"", r.dev.rebooted)
	}
	r.dev.mu.Unlock()
	start = time.Now()
	r.adb(t, "wait-for-device")
	t.Logf("back after %v", time.Since(start))
	r.stillUp(t)
}
