package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"telltale.dev/devices/adb"
)

const (
	defaultDumpPath = "/sdcard/window_dump.xml"
	// /data/local/tmp belongs to the shell user on every build, whatever
	// the state of shared storage (some vivo and work-profile builds refuse
	// writes to /sdcard from the shell).
	fallbackDumpPath = "/data/local/tmp/window_dump.xml"
	ttyPath          = "/dev/tty"
	dumpAttempts     = 4
)

// Dump reads the screen's view hierarchy. It deletes the previous dump file
// first, since uiautomator leaves a stale one in place when it fails
// (AndroidViewClient#257), and retries what real phones print on a changing
// screen: "null root node returned by UiTestAutomationBridge" (during app
// switches), "could not get idle state" (animations; the last attempts use
// --compressed, reported to succeed where the full dump does not) and the
// NullPointerException in childNafCheck.
func (d *Driver) Dump(ctx context.Context) (*Screen, error) {
	compressed := false
	var last *DumpError
	for attempt := 1; attempt <= dumpAttempts; attempt++ {
		path := d.currentDumpPath()
		out, err := d.dumpOnce(ctx, path, compressed)
		if err != nil {
			return nil, err
		}
		sc, perr := Parse(out.Stdout)
		if perr == nil {
			sc.Compressed = compressed
			return sc, nil
		}
		text := string(out.Stdout) + string(out.Stderr)
		f := classifyDump(text, out.ExitKnown, out.ExitCode)
		switch {
		case f.fatal != nil:
			return nil, fmt.Errorf("%s: %w", d.dev.Serial(), f.fatal)
		case f.unwritable && path != fallbackDumpPath && path != ttyPath:
			d.mu.Lock()
			d.dumpPath = fallbackDumpPath
			d.mu.Unlock()
		case f.idle && attempt >= 2:
			compressed = true
		}
		if f.reason == "" {
			f.reason = "no view hierarchy in uiautomator's output: " + perr.Error()
		}
		last = &DumpError{Attempts: attempt, Reason: f.reason, Output: text}
		if attempt < dumpAttempts {
			if err := pause(ctx, time.Duration(attempt)*200*time.Millisecond); err != nil {
				return nil, fmt.Errorf("%w (while retrying: %v)", err, last)
			}
		}
	}
	return nil, fmt.Errorf("%s: %w", d.dev.Serial(), last)
}

func (d *Driver) currentDumpPath() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dumpPath
}

func (d *Driver) dumpOnce(ctx context.Context, path string, compressed bool) (*adb.ShellResult, error) {
	dump := "uiautomator dump "
	if compressed {
		dump += "--compressed "
	}
	if path == ttyPath {
		return d.shell(ctx, dump+ttyPath)
	}
	p := adb.Quote(path)
	// One round trip: the file is read back and removed at once, so no
	// stale or private copy of the screen stays on the phone.
	return d.shell(ctx, "rm -f "+p+"; "+dump+p+"; cat "+p+"; rm -f "+p)
}

// dumpFailure is what a failed dump's output means.
type dumpFailure struct {
	reason     string
	idle       bool
	unwritable bool
	fatal      error // not worth retrying
}

func classifyDump(out string, exitKnown bool, code int) dumpFailure {
	switch {
	case exitKnown && code == 127, strings.Contains(out, "uiautomator: not found"), strings.Contains(out, "uiautomator: inaccessible or not found"):
		return dumpFailure{fatal: ErrNoUIAutomator}
	case strings.Contains(out, "null root node returned by UiTestAutomationBridge"):
		return dumpFailure{reason: "uiautomator found no active window (Android 9+ does this during app switches; a screen that is off has none either)"}
	case strings.Contains(out, "could not get idle state"):
		return dumpFailure{idle: true, reason: "the screen never settled (an animation, video or spinner is running): set Developer options > Window/Transition/Animator animation scale to off, or wait for the app to finish loading"}
	case strings.Contains(out, "NullPointerException") && strings.Contains(out, "NafCheck"):
		return dumpFailure{reason: "uiautomator crashed reading a screen that changed under it (NullPointerException in childNafCheck)"}
	case strings.Contains(out, "Permission denied"), strings.Contains(out, "EACCES"), strings.Contains(out, "Read-only file system"):
		return dumpFailure{unwritable: true, reason: "uiautomator could not write its dump file; switching to " + fallbackDumpPath}
	case strings.Contains(out, "Killed"):
		return dumpFailure{reason: "uiautomator was killed before it finished (low memory?)"}
	}
	return dumpFailure{}
}
