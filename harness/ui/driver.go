// Package ui drives a phone's screen the way a person does, over adb and
// with nothing installed on the phone: it reads the view hierarchy with
// `uiautomator dump`, picks nodes with selectors, and taps, types, presses
// keys and swipes with `input`. It also reads the screen's power and lock
// state (`dumpsys power`, `dumpsys window`) and takes screenshots
// (`screencap -p`).
//
// Its ways follow the tools that already drive real phones: AndroidViewClient
// and uiautomator2 (dump, retry, tap the centre of the bounds), Maestro
// (selectors, wait until visible, scroll until visible) and appium-adb (lock
// state, checking every command's output).
package ui

import (
	"context"
	"fmt"
	"sync"
	"time"

	"telltale.dev/devices/adb"
)

// Options tune a Driver; the zero value is what real phones need.
type Options struct {
	// DumpPath is where `uiautomator dump` writes the hierarchy before the
	// driver reads it back: "" is the tool's own default,
	// /sdcard/window_dump.xml. "/dev/tty" has it printed on stdout instead
	// (`adb exec-out uiautomator dump /dev/tty`), one file operation less.
	DumpPath string
	// CallTimeout bounds each device call; 0 is 20 s, since a dump of a
	// busy screen takes seconds on a real phone.
	CallTimeout time.Duration
	// Wait is how long Tap waits for its node to show; 0 is 10 s.
	Wait time.Duration
	// Poll is the pause between dumps while waiting; 0 is 250 ms.
	Poll time.Duration
}

// Driver drives one phone. It is safe for concurrent use, though a phone
// has one screen: concurrent callers see each other's taps.
type Driver struct {
	dev  *adb.Device
	opts Options

	mu       sync.Mutex
	dumpPath string // falls back to /data/local/tmp when the first is not writable
}

// New returns a driver for dev.
func New(dev *adb.Device, opts Options) *Driver {
	if opts.DumpPath == "" {
		opts.DumpPath = defaultDumpPath
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 20 * time.Second
	}
	if opts.Wait <= 0 {
		opts.Wait = 10 * time.Second
	}
	if opts.Poll <= 0 {
		opts.Poll = 250 * time.Millisecond
	}
	return &Driver{dev: dev, opts: opts, dumpPath: opts.DumpPath}
}

// shell runs one device command under the call deadline.
func (d *Driver) shell(ctx context.Context, cmd string) (*adb.ShellResult, error) {
	ctx, cancel := context.WithTimeout(ctx, d.opts.CallTimeout)
	defer cancel()
	r, err := d.dev.Shell(ctx, cmd)
	if err != nil {
		return nil, fmt.Errorf("%s on %s: %w", cmd, d.dev.Serial(), err)
	}
	return r, nil
}

// pause waits for d or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}
