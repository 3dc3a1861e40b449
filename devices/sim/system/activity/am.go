package activity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/system"
	"telltale.dev/devices/sim/system/packages"
)

// am is the activity manager's shell command (AOSP ActivityManagerShellCommand,
// which the am script runs as `cmd activity` on Android 10 and later).
func (m *Manager) am(ctx context.Context, sio shell.IO, args []string) int {
	if len(args) < 2 {
		return errf(sio, "usage: am [start|force-stop|broadcast|kill] ...")
	}
	switch args[1] {
	case "start", "start-activity":
		return m.startActivity(ctx, sio, args[1], args[2:])
	case "force-stop", "kill":
		m.ForceStop(lastOperand(args[2:]))
		return 0
	case "broadcast":
		in, err := content.ParseAmArgs(args[2:])
		if err != nil {
			return m.badIntent(sio, args[1], err)
		}
		fmt.Fprintf(sio.Stdout, "Broadcasting: %s\nBroadcast completed: result=0\n", in)
		return 0
	}
	return system.UnknownCommand(sio, args[1])
}

// badIntent is Intent.parseCommandArgs throwing on an option it cannot
// read: an IllegalArgumentException through the shell command handler.
func (m *Manager) badIntent(sio shell.IO, verb string, err error) int {
	return system.Throw(sio, m.sdk, verb, system.Throwable{Class: "java.lang.IllegalArgumentException",
		Message: strings.TrimPrefix(err.Error(), "Error: "),
		Frames: []string{"android.content.Intent.parseCommandArgs(Intent.java)",
			"com.android.server.am.ActivityManagerShellCommand.makeIntent(ActivityManagerShellCommand.java)",
			"com.android.server.am.ActivityManagerShellCommand.runStartActivity(ActivityManagerShellCommand.java)",
			"com.android.server.am.ActivityManagerShellCommand.onCommand(ActivityManagerShellCommand.java)"}})
}

// Figures am start -W prints, in ms: the simulated phone starts activities
// at once, so these are modeled, a cold start slower than a warm one.
var launchTimes = map[outcome]int{cold: 412, warm: 186, toFront: 54, deliveredToTop: 0}

// startActivity is runStartActivity: "Starting: INTENT" on stdout, the
// start, then what became of it. Without -W the warnings and errors go to
// stderr; with -W everything goes to stdout, followed by the wait result
// (Status, LaunchState, Activity, TotalTime, WaitTime, Complete). It exits
// 0 whether the activity started or not: callers must read the output
// (appium-adb startApp does). Source: ActivityManagerShellCommand of
// Android 10 onwards (`PrintWriter out = mWaitOption ? pw :
// getErrPrintWriter()`; LaunchState as in its mTaskInterface-era form).
func (m *Manager) startActivity(ctx context.Context, sio shell.IO, verb string, args []string) int {
	wait := slices.Contains(args, "-W")
	in, err := content.ParseAmArgs(args)
	if err != nil {
		return m.badIntent(sio, verb, err)
	}
	fmt.Fprintf(sio.Stdout, "Starting: %s\n", in)
	out := sio.Stderr
	if wait {
		out = sio.Stdout
	}
	l, err := m.launch(in, shell.UID(ctx))
	var unresolved *packages.UnresolvedError
	var noClass *packages.NoActivityError
	switch {
	case errors.As(err, &noClass):
		// ComponentName.toShortString: "{pkg/full.Class}".
		fmt.Fprintf(out, "Error type 3\nError: Activity class {%s} does not exist.\n", noClass.Component)
		return 0
	case errors.As(err, &unresolved):
		fmt.Fprintf(out, "Error: Activity not started, unable to resolve Intent { %s }\n", newTask(unresolved.Intent))
		return 0
	case err != nil:
		fmt.Fprintf(out, "Error: Activity not started, unknown error code %v\n", err)
		return 0
	}
	switch l.outcome {
	case deliveredToTop:
		fmt.Fprintln(out, "Warning: Activity not started, intent has been delivered to currently running top-most instance.")
	case toFront:
		fmt.Fprintln(out, "Warning: Activity not started, its current task has been brought to the front")
	}
	if !wait {
		return 0
	}
	state := map[outcome]string{cold: "COLD", warm: "WARM", toFront: "HOT", deliveredToTop: "UNKNOWN (0)"}[l.outcome]
	total := launchTimes[l.outcome]
	fmt.Fprintf(sio.Stdout, "Status: ok\nLaunchState: %s\nActivity: %s\nTotalTime: %d\nWaitTime: %d\nComplete\n",
		state, l.component.ShortString(), total, total+3)
	return 0
}

// newTask is the intent's short form once runStartActivity has added
// FLAG_ACTIVITY_NEW_TASK, which Intent.toShortString prints after the data
// and type and before the package and component.
func newTask(in content.Intent) string {
	parts := strings.Split(in.Summary(), " ")
	i := slices.IndexFunc(parts, func(p string) bool {
		return strings.HasPrefix(p, "pkg=") || strings.HasPrefix(p, "cmp=") || p == "(has"
	})
	if i < 0 {
		i = len(parts)
	}
	parts = slices.Insert(parts, i, "flg=0x10000000")
	return strings.TrimSpace(strings.Join(parts, " "))
}

func lastOperand(args []string) string {
	for i := len(args) - 1; i >= 0; i-- {
		if !strings.HasPrefix(args[i], "-") && (i == 0 || args[i-1] != "--user") {
			return args[i]
		}
	}
	return ""
}

// monkey is /system/bin/monkey: its script echoes each argument, then
// Monkey (an app_process tool) starts the launcher activity of the first
// package given with -p that has one (Monkey.getMainApps); with none it
// prints "** No activities found to run, monkey aborted." on stdout and
// run() returns -4, exit 252 (AOSP Monkey.run). The random events that
// follow are not modeled.
func (m *Manager) monkey(ctx context.Context, sio shell.IO, args []string) int {
	var pkgs []string
	for i, a := range args[1:] {
		fmt.Fprintf(sio.Stdout, "  bash arg: %s\n", a)
		if a == "-p" && i+2 < len(args) {
			pkgs = append(pkgs, args[i+2])
		}
	}
	m.runtime.Start(sio, "com.android.commands.monkey.Monkey.main(Monkey.java)")
	for _, p := range pkgs {
		in := content.Intent{Action: content.ActionMain, Categories: []string{content.CategoryLauncher}, Package: p}
		if _, err := m.Start(in, shell.UID(ctx)); err == nil {
			fmt.Fprintln(sio.Stdout, "Events injected: 1\n## Network stats: elapsed time=12ms (0ms mobile, 0ms wifi, 12ms not connected)")
			return 0
		}
	}
	fmt.Fprintln(sio.Stdout, "** No activities found to run, monkey aborted.")
	return 252
}
