package activity

import (
	"context"
	"fmt"
	"strings"

	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/shell"
)

// am is the activity manager's shell command (AOSP ActivityManagerShellCommand).
func (m *Manager) am(ctx context.Context, sio shell.IO, args []string) int {
	if len(args) < 2 {
		return errf(sio, "usage: am [start|force-stop|broadcast|kill] ...")
	}
	switch args[1] {
	case "start", "start-activity":
		in, err := content.ParseAmArgs(args[2:])
		if err != nil {
			return errf(sio, "%v", err)
		}
		fmt.Fprintf(sio.Stdout, "Starting: %s\n", in)
		if _, err := m.Start(in, shell.UID(ctx)); err != nil {
			// A real phone prints these on stdout and exits 0; the harness
			// still reads the exit status, so that change waits for the
			// harness (issue 10).
			return errf(sio, "%v", err)
		}
		return 0
	case "force-stop", "kill":
		m.ForceStop(lastOperand(args[2:]))
		return 0
	case "broadcast":
		in, err := content.ParseAmArgs(args[2:])
		if err != nil {
			return errf(sio, "%v", err)
		}
		fmt.Fprintf(sio.Stdout, "Broadcasting: %s\nBroadcast completed: result=0\n", in)
		return 0
	}
	return errf(sio, "Error: Unknown command: %s", args[1])
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
// Monkey starts the launcher activity of the first package given with -p
// that has one (Monkey.getMainApps); with none it aborts with exit 252
// (Monkey.run). The random events that follow are not modeled.
func (m *Manager) monkey(ctx context.Context, sio shell.IO, args []string) int {
	var pkgs []string
	for i, a := range args[1:] {
		fmt.Fprintf(sio.Stdout, "  bash arg: %s\n", a)
		if a == "-p" && i+2 < len(args) {
			pkgs = append(pkgs, args[i+2])
		}
	}
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
