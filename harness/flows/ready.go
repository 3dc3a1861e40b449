package flows

import (
	"context"
	"errors"
	"fmt"
	"time"

	"telltale.dev/harness/ui"
)

// ErrLocked is a screen that stays locked after the keyguard was dismissed:
// a PIN, pattern or password lock, which needs a person.
var ErrLocked = errors.New("the screen stays locked: a PIN, pattern or password lock needs a person; set Settings > Lock screen > Screen lock to None or Swipe")

// Ready makes the screen usable, as a flow needs it: woken if it is off
// (KEYCODE_WAKEUP, which leaves the keyguard up) and its keyguard
// dismissed (`wm dismiss-keyguard`), the way appium-adb's lockmgmt
// unlocks a phone without a secure lock. It waits up to 10 s for the
// phone to say it is on and unlocked.
func Ready(ctx context.Context, p Phone) error {
	st, err := p.UI.State(ctx)
	if err != nil {
		return fmt.Errorf("read the screen state: %w", err)
	}
	if st.Ready() {
		return nil
	}
	if !st.ScreenOn {
		if err := p.UI.Key(ctx, ui.KeyWakeup); err != nil {
			return err
		}
	}
	if _, err := p.Shell(ctx, "wm dismiss-keyguard"); err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := p.UI.State(ctx)
		switch {
		case err != nil:
			return fmt.Errorf("read the screen state: %w", err)
		case st.Ready():
			return nil
		case time.Now().After(deadline):
			return fmt.Errorf("%w (%s)", ErrLocked, st)
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-tick.C:
		}
	}
}
