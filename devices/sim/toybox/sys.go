package toybox

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/vfs"
)

// id prints who runs it, as toybox id on Android does for adbd's shell
// and for root (groups and SELinux context as a user build shows them).
func (b *box) id(ctx context.Context, sio shell.IO, args []string) int {
	o, ok := run(sio, args, "ugGnrZ")
	if !ok {
		return 1
	}
	uid := shell.UID(ctx)
	switch {
	case o.has('Z'):
		fmt.Fprintln(sio.Stdout, seContext(uid))
	case (o.has('u') || o.has('g')) && o.has('n'):
		fmt.Fprintln(sio.Stdout, userName(uid))
	case o.has('u') || o.has('g'):
		fmt.Fprintln(sio.Stdout, uid)
	case uid == vfs.RootUID:
		fmt.Fprintln(sio.Stdout, "uid=0(root) gid=0(root) groups=0(root) context="+seContext(uid))
	default:
		fmt.Fprintln(sio.Stdout, "uid=2000(shell) gid=2000(shell) groups=2000(shell),1004(input),1007(log),1011(adb),1015(sdcard_rw),1028(sdcard_r),3001(net_bt_admin),3002(net_bt),3003(inet),3006(net_bw_stats) context="+seContext(uid))
	}
	return 0
}

func seContext(uid uint32) string {
	if uid == vfs.RootUID {
		return "u:r:su:s0"
	}
	return "u:r:shell:s0"
}

func (b *box) whoami(ctx context.Context, sio shell.IO, _ []string) int {
	fmt.Fprintln(sio.Stdout, userName(shell.UID(ctx)))
	return 0
}

// uname prints the fields toybox's uname.c prints, in its order; -o is
// "Toybox" on Android (modeled).
func (b *box) uname(_ context.Context, sio shell.IO, args []string) int {
	o, ok := run(sio, args, "oamvrnsp")
	if !ok {
		return 1
	}
	fields := []struct {
		flag byte
		text string
	}{
		{'s', "Linux"}, {'n', "localhost"}, {'r', b.sys.Release}, {'v', b.sys.Version},
		{'m', b.sys.Machine}, {'o', "Toybox"},
	}
	var out []string
	for _, f := range fields {
		if o.has(f.flag) || o.has('a') || (len(o.set) == 0 && f.flag == 's') {
			out = append(out, f.text)
		}
	}
	fmt.Fprintln(sio.Stdout, strings.Join(out, " "))
	return 0
}

// date prints the phone's clock in toybox date's default format
// ("%a %b %e %H:%M:%S %Z %Y", toys/posix/date.c) or +FORMAT; the phone's
// zone is UTC (persist.sys.timezone). Setting the clock is refused.
func (b *box) date(_ context.Context, sio shell.IO, args []string) int {
	o, ok := run(sio, args, "d:D:r:s:uI")
	if !ok {
		return 1
	}
	now := b.sys.Clock.Now().UTC()
	if d, set := o.val['d']; set {
		t, err := parseDate(d)
		if err != nil {
			return fail(sio, "date", "bad date '%s'", d)
		}
		now = t
	}
	if _, set := o.val['s']; set {
		return fail(sio, "date", "cannot set date: Operation not permitted")
	}
	format := "%a %b %e %H:%M:%S %Z %Y"
	for _, a := range o.args {
		if strings.HasPrefix(a, "+") {
			format = a[1:]
		} else {
			return fail(sio, "date", "cannot set date: Operation not permitted")
		}
	}
	fmt.Fprintln(sio.Stdout, strftime(format, now))
	return 0
}

// parseDate reads -d: "@SECONDS" or "YYYY-MM-DD[ HH:MM[:SS]]".
func parseDate(s string) (time.Time, error) {
	if rest, ok := strings.CutPrefix(s, "@"); ok {
		n, err := strconv.ParseInt(rest, 10, 64)
		return time.Unix(n, 0).UTC(), err
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad date %q", s)
}

// strftimeLayouts are the conversions a Go layout spells directly.
var strftimeLayouts = map[byte]string{
	'a': "Mon", 'A': "Monday", 'b': "Jan", 'h': "Jan", 'B': "January", 'd': "02", 'e': "_2",
	'H': "15", 'I': "03", 'm': "01", 'M': "04", 'p': "PM", 'S': "05", 'T': "15:04:05",
	'D': "01/02/06", 'F': "2006-01-02", 'y': "06", 'z': "-0700", 'Z': "MST",
	'n': "\n", 't': "\t", '%': "%",
}

// strftime formats t with the conversions scripts use.
func strftime(format string, t time.Time) string {
	var out strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] != '%' || i+1 == len(format) {
			out.WriteByte(format[i])
			continue
		}
		i++
		if layout, ok := strftimeLayouts[format[i]]; ok {
			out.WriteString(t.Format(layout))
			continue
		}
		switch format[i] {
		case 'j':
			fmt.Fprintf(&out, "%03d", t.YearDay())
		case 'N':
			fmt.Fprintf(&out, "%09d", t.Nanosecond())
		case 's':
			fmt.Fprint(&out, t.Unix())
		case 'u':
			fmt.Fprint(&out, (int(t.Weekday())+6)%7+1)
		case 'w':
			fmt.Fprint(&out, int(t.Weekday()))
		case 'Y':
			fmt.Fprint(&out, t.Year())
		default:
			out.WriteByte('%')
			out.WriteByte(format[i])
		}
	}
	return out.String()
}

// env prints the environment, or runs a command with a changed one
// (`env -i`, `env -u NAME`, `env NAME=value... CMD`).
func (b *box) env(ctx context.Context, sio shell.IO, args []string) int {
	env := slices.Clone(shell.Environ(ctx))
	i := 1
	for ; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-i" || a == "-":
			env = nil
		case a == "-u" && i+1 < len(args):
			i++
			env = slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, args[i]+"=") })
		case strings.Contains(a, "=") && !strings.HasPrefix(a, "="):
			name, _, _ := strings.Cut(a, "=")
			env = append(slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, name+"=") }), a)
		default:
			return b.sh.Exec(shell.WithEnviron(ctx, env), sio, args[i:])
		}
	}
	for _, kv := range env {
		fmt.Fprintln(sio.Stdout, kv)
	}
	return 0
}

func (b *box) sleep(ctx context.Context, sio shell.IO, args []string) int {
	if len(args) < 2 {
		return fail(sio, "sleep", "Needs 1 argument")
	}
	var total time.Duration
	for _, a := range args[1:] {
		d, err := sleepArg(a)
		if err != nil {
			return fail(sio, "sleep", "bad time '%s'", a)
		}
		total += d
	}
	t := b.sys.Clock.NewTimer(total)
	defer t.Stop()
	select {
	case <-t.C():
		return 0
	case <-ctx.Done():
		return 130
	}
}

// sleepArg reads toybox sleep's "1.5", "2s", "3m", "1h", "1d".
func sleepArg(a string) (time.Duration, error) {
	unit := time.Second
	if n := len(a); n > 0 {
		if u, ok := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}[a[n-1]]; ok {
			unit, a = u, a[:n-1]
		}
	}
	f, err := strconv.ParseFloat(a, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("bad time %q", a)
	}
	return time.Duration(f * float64(unit)), nil
}

// which prints where each command is: every command the phone's shell
// knows lives in /system/bin; a name with a slash is checked as a file.
func (b *box) which(ctx context.Context, sio shell.IO, args []string) int {
	o, ok := run(sio, args, "a")
	if !ok {
		return 1
	}
	status := 0
	for _, name := range o.args {
		switch {
		case strings.Contains(name, "/"):
			if info, err := b.fs.StatInfo(shell.Abs(ctx, name)); err == nil && !info.IsDir && info.Mode&0o111 != 0 {
				fmt.Fprintln(sio.Stdout, name)
				continue
			}
		case b.sh.Commands[name] != nil || name == "sh":
			fmt.Fprintln(sio.Stdout, "/system/bin/"+name)
			continue
		}
		status = 1
	}
	return status
}

// test and [ evaluate in the shell's own test, which sees the phone's
// file system, so `toybox test` and `/system/bin/[` agree with mksh's.
func (b *box) test(ctx context.Context, sio shell.IO, args []string) int {
	script := `test "$@"`
	if path.Base(args[0]) == "[" {
		script = `[ "$@"`
	}
	return b.sh.Exec(ctx, sio, append([]string{"sh", "-c", script, args[0]}, args[1:]...))
}

// mount handles the mounts the CA-install recipes make: a tmpfs over the
// store, a bind mount onto the APEX path, and remounting /system writable.
func (b *box) mount(ctx context.Context, sio shell.IO, args []string) int {
	if len(args) == 1 {
		for _, m := range b.fs.Mounts() {
			mode := "rw"
			if m.ReadOnly {
				mode = "ro"
			}
			fmt.Fprintf(sio.Stdout, "%s %s %s %s 0 0\n", m.Type, m.Path, m.Type, mode)
		}
		return 0
	}
	long := func(a string) bool { return a == "--bind" || a == "--rbind" }
	o, ok := run(sio, slices.DeleteFunc(slices.Clone(args), long), "t:o:BrwfnRv")
	if !ok {
		return 1
	}
	opts := strings.Join(o.vals['o'], ",")
	switch {
	case o.has('r'):
		opts += ",ro"
	case o.has('w'):
		opts += ",rw"
	}
	bind := o.has('B') || slices.ContainsFunc(args, long) || slices.Contains(strings.Split(opts, ","), "bind")
	if shell.UID(ctx) != vfs.RootUID {
		return fail(sio, "mount", "permission denied (are you root?)")
	}
	ops := o.args
	if len(ops) == 0 {
		return fail(sio, "mount", "need mount point")
	}
	target := shell.Abs(ctx, ops[len(ops)-1])
	var err error
	switch {
	case strings.Contains(opts, "remount"):
		if target == "/" {
			target = "/system" // system-as-root: / and /system are one partition
		}
		err = b.fs.Remount(target, !strings.Contains(opts, "rw"))
	case bind && len(ops) == 2:
		err = b.fs.BindMount(shell.Abs(ctx, ops[0]), target)
	case o.val['t'] == "tmpfs":
		err = b.fs.MountTmpfs(target)
	default:
		return fail(sio, "mount", "unsupported mount on the simulated phone: %s", strings.Join(args[1:], " "))
	}
	if err != nil {
		return failErr(sio, "mount", "'"+ops[len(ops)-1]+"'", err)
	}
	return 0
}

func (b *box) umount(ctx context.Context, sio shell.IO, args []string) int {
	o, ok := run(sio, args, "aflrnvt:")
	if !ok {
		return 1
	}
	if shell.UID(ctx) != vfs.RootUID {
		return fail(sio, "umount", "permission denied")
	}
	status := 0
	for _, op := range o.args {
		if err := b.fs.Unmount(shell.Abs(ctx, op)); err != nil {
			status = failErr(sio, "umount", op, err)
		}
	}
	return status
}

// nsenter runs its command "in another mount namespace"; the simulated
// phone has one, so a recipe's per-process bind mounts land in it.
func (b *box) nsenter(ctx context.Context, sio shell.IO, args []string) int {
	i := 1
	for ; i < len(args) && strings.HasPrefix(args[i], "-"); i++ {
		if args[i] == "--" {
			i++
			break
		}
		if (args[i] == "-t" || args[i] == "--target") && i+1 < len(args) {
			i++
		}
	}
	if i >= len(args) {
		return fail(sio, "nsenter", "no command")
	}
	if shell.UID(ctx) != vfs.RootUID {
		return fail(sio, "nsenter", "reassociate to namespace 'ns/mnt' failed: Operation not permitted")
	}
	return b.sh.Exec(ctx, sio, args[i:])
}

// pidof knows the system processes CA-install recipes look for, with the
// pids of a freshly booted phone (modeled).
func (b *box) pidof(_ context.Context, sio shell.IO, args []string) int {
	pids := map[string]string{"init": "1", "zygote": "612", "zygote64": "611", "system_server": "1021", "adbd": "540"}
	var out []string
	for _, a := range args[1:] {
		if pid, ok := pids[a]; ok {
			out = append(out, pid)
		}
	}
	if len(out) == 0 {
		return 1
	}
	fmt.Fprintln(sio.Stdout, strings.Join(out, " "))
	return 0
}
