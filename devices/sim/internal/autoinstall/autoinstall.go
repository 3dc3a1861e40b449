// Package autoinstall is, for tests, the person by the phone who says yes
// to MIUI's "Install via USB" dialog: while a test runs it reads the screen
// through adb and taps "Install" (android:id/button2) whenever the dialog
// shows, as the accessibility auto-clickers cited in reference/miui-ui.md
// section 5 do. Tests about installing, not about the dialog, use it on a
// research phone; the dialog itself is tested where it is built.
package autoinstall

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"telltale.dev/devices/adb"
)

// installButton finds the dialog's Install button and its bounds in a
// uiautomator dump (attributes in the dumper's order).
var installButton = regexp.MustCompile(`resource-id="android:id/button2" class="[^"]*" package="com\.miui\.securitycenter"[^>]*? bounds="\[(\d+),(\d+)\]\[(\d+),(\d+)\]"`)

// poll is how often the screen is read.
const poll = 100 * time.Millisecond

// Approve taps Install on every install dialog dev shows until the test
// ends.
func Approve(t testing.TB, dev *adb.Device) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(poll)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if err := tapInstall(ctx, dev); err != nil && ctx.Err() == nil {
				t.Logf("autoinstall: %v", err)
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// tapInstall reads the screen once and taps Install if the dialog shows.
func tapInstall(ctx context.Context, dev *adb.Device) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := dev.Shell(ctx, "uiautomator dump /dev/tty 2>/dev/null")
	if err != nil {
		return fmt.Errorf("read the screen: %w", err)
	}
	m := installButton.FindSubmatch(res.Stdout)
	if m == nil {
		return nil
	}
	var c [4]int
	for i := range c {
		c[i], _ = strconv.Atoi(string(m[i+1]))
	}
	if _, err := dev.Shell(ctx, fmt.Sprintf("input tap %d %d", (c[0]+c[2])/2, (c[1]+c[3])/2)); err != nil {
		return fmt.Errorf("tap Install: %w", err)
	}
	return nil
}
