package sim

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim/shell"
)

// commands is the phone's command table; each command lives next to the
// state it changes.
func (p *Phone) commands() map[string]shell.Func {
	c := map[string]shell.Func{
		"ls": p.cmdLs, "mkdir": p.cmdMkdir, "rm": p.cmdRm, "rmdir": p.cmdRm, "cat": p.cmdCat,
		"echo": p.cmdEcho, "touch": p.cmdTouch, "cp": p.cmdCp, "mv": p.cmdCp, "chmod": p.cmdChmod,
		"chown": p.cmdChown, "chcon": p.cmdChown, "id": p.cmdID, "whoami": p.cmdWhoami,
		"mount": p.cmdMount, "umount": p.cmdUmount, "nsenter": p.cmdNsenter, "pidof": p.cmdPidof,
		"grep": p.cmdGrep, "sleep": p.cmdSleep,
		"getprop": p.cmdGetprop, "setprop": p.cmdSetprop, "settings": p.cmdSettings,
		"pm": p.cmdPm, "am": p.cmdAm, "monkey": p.cmdMonkey, "input": p.cmdInput,
		"dumpsys": p.cmdDumpsys, "svc": p.cmdSvc, "cmd": p.cmdCmd,
		"screencap": p.cmdScreencap, "logcat": p.cmdLogcat, "reboot": p.cmdReboot, "su": p.cmdSu,
		"toybox": p.cmdToybox, "printf": p.cmdPrintf, "nc": p.cmdNc,
	}
	return c
}

func (p *Phone) cmdGetprop(_ context.Context, sio shell.IO, args []string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(args) > 1 {
		v, ok := p.props[args[1]]
		if !ok && len(args) > 2 {
			v = args[2]
		}
		fmt.Fprintln(sio.Stdout, v)
		return 0
	}
	for _, k := range slices.Sorted(maps.Keys(p.props)) {
		fmt.Fprintf(sio.Stdout, "[%s]: [%s]\n", k, p.props[k])
	}
	return 0
}

func (p *Phone) cmdSetprop(_ context.Context, sio shell.IO, args []string) int {
	if len(args) != 3 {
		return errf(sio, "setprop: need NAME VALUE")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if strings.HasPrefix(args[1], "ro.") {
		if _, ok := p.props[args[1]]; ok {
			return errf(sio, "Failed to set property '%s' to '%s'.\nSee dmesg for error reason.", args[1], args[2])
		}
	}
	p.props[args[1]] = args[2]
	return 0
}

func (p *Phone) cmdSettings(_ context.Context, sio shell.IO, args []string) int {
	args = args[1:]
	// `--user N` may come before the verb (adb does this for secure).
	for len(args) >= 2 && args[0] == "--user" {
		args = args[2:]
	}
	usage := "usage:  settings [--user <USER_ID> | current] get namespace key\n        settings [--user <USER_ID> | current] put namespace key value\n        settings [--user <USER_ID> | current] delete namespace key\n        settings [--user <USER_ID> | current] list namespace"
	if len(args) < 2 {
		return errf(sio, "%s", usage)
	}
	verb, ns := args[0], args[1]
	rest := args[2:]
	for len(rest) >= 2 && rest[0] == "--user" {
		rest = rest[2:]
	}
	p.mu.Lock()
	table, ok := p.settings[ns]
	if !ok {
		p.mu.Unlock()
		return errf(sio, "Invalid namespace '%s'\n%s", ns, usage)
	}
	switch {
	case verb == "get" && len(rest) >= 1:
		v, ok := table[rest[0]]
		p.mu.Unlock()
		if !ok {
			v = "null"
		}
		fmt.Fprintln(sio.Stdout, v)
	case verb == "put" && len(rest) >= 2:
		key, val := rest[0], rest[1]
		old, had := table[key]
		table[key] = val
		if ns == "global" && key == "wifi_on" {
			p.wifiOn = val != "0"
		}
		p.mu.Unlock()
		if !had {
			old = "null"
		}
		p.observe(profiles.ActionChangeSetting, "com.android.settings",
			map[string]string{"namespace": ns, "key": key, "old": old, "new": val})
	case verb == "delete" && len(rest) >= 1:
		_, had := table[rest[0]]
		delete(table, rest[0])
		p.mu.Unlock()
		if had {
			fmt.Fprintln(sio.Stdout, "Deleted 1 rows")
		} else {
			fmt.Fprintln(sio.Stdout, "Deleted 0 rows")
		}
	case verb == "list":
		lines := make([]string, 0, len(table))
		for _, k := range slices.Sorted(maps.Keys(table)) {
			lines = append(lines, k+"="+table[k])
		}
		p.mu.Unlock()
		for _, l := range lines {
			fmt.Fprintln(sio.Stdout, l)
		}
	default:
		p.mu.Unlock()
		return errf(sio, "%s", usage)
	}
	return 0
}
