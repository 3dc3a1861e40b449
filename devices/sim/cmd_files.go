package sim

import (
	"context"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"syscall"
	"time"

	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/vfs"
)

// splitFlags separates leading single-dash flag letters ("-rf" -> r, f) from
// operands; "--" ends flags. Toybox accepts flags after operands too, and so
// do we.
func splitFlags(args []string) (flags map[rune]bool, operands []string) {
	flags = map[rune]bool{}
	done := false
	for _, a := range args {
		if !done && a == "--" {
			done = true
			continue
		}
		if !done && len(a) > 1 && a[0] == '-' {
			for _, c := range a[1:] {
				flags[c] = true
			}
			continue
		}
		operands = append(operands, a)
	}
	return flags, operands
}

func errf(sio shell.IO, format string, args ...any) int {
	fmt.Fprintf(sio.Stderr, format+"\n", args...)
	return 1
}

func (p *Phone) cmdLs(_ context.Context, sio shell.IO, args []string) int {
	flags, ops := splitFlags(args[1:])
	if len(ops) == 0 {
		ops = []string{"/"}
	}
	status := 0
	for _, op := range ops {
		info, err := p.fs.StatInfo(op)
		if err != nil {
			status = errf(sio, "ls: %s: %s", op, shell.ErrText(err))
			continue
		}
		if !info.IsDir || flags['d'] {
			p.lsLine(sio.Stdout, flags['l'], info, op)
			continue
		}
		if len(ops) > 1 {
			fmt.Fprintf(sio.Stdout, "%s:\n", op)
		}
		entries, err := p.fs.ReadDir(op)
		if err != nil {
			status = errf(sio, "ls: %s: %s", op, shell.ErrText(err))
			continue
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name, ".") && !flags['a'] {
				continue
			}
			p.lsLine(sio.Stdout, flags['l'], e, e.Name)
		}
	}
	return status
}

func (p *Phone) lsLine(w io.Writer, long bool, i vfs.Info, name string) {
	if !long {
		fmt.Fprintln(w, name)
		return
	}
	fmt.Fprintf(w, "%s %d %-6s %-6s %8d %s %s\n", modeString(i.Mode), 1, owner(i.UID), owner(i.GID), i.Size,
		time.Unix(i.Mtime, 0).UTC().Format("2006-01-02 15:04"), name)
}

func owner(uid uint32) string {
	switch uid {
	case vfs.RootUID:
		return "root"
	case vfs.ShellUID:
		return "shell"
	}
	return strconv.Itoa(int(uid))
}

func modeString(m uint32) string {
	b := []byte("-rwxrwxrwx")
	if m&0o170000 == vfs.ModeDir {
		b[0] = 'd'
	}
	for i := 0; i < 9; i++ {
		if m&(1<<(8-i)) == 0 {
			b[i+1] = '-'
		}
	}
	return string(b)
}

func (p *Phone) cmdMkdir(ctx context.Context, sio shell.IO, args []string) int {
	var parents bool
	perm := uint32(0o775)
	var ops []string
	for i := 1; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-p":
			parents = true
		case a == "-m" && i+1 < len(args):
			i++
			m, err := strconv.ParseUint(args[i], 8, 32)
			if err != nil {
				return errf(sio, "mkdir: bad mode '%s'", args[i])
			}
			perm = uint32(m)
		case strings.HasPrefix(a, "-") && len(a) > 1:
			parents = parents || strings.Contains(a, "p")
		default:
			ops = append(ops, a)
		}
	}
	if len(ops) == 0 {
		return errf(sio, "mkdir: Needs 1 argument")
	}
	status := 0
	for _, op := range ops {
		var made []string
		var err error
		if parents {
			made, err = p.fs.MkdirAllNew(op, perm, p.uid(ctx))
		} else if err = p.fs.Mkdir(op, perm, p.uid(ctx)); err == nil {
			made = []string{vfs.Clean(op)}
		}
		if err != nil {
			status = errf(sio, "mkdir: '%s': %s", op, shell.ErrText(err))
		}
		p.foldersMade(made)
	}
	return status
}

// foldersMade tells the file manager about new folders in the user's storage.
func (p *Phone) foldersMade(made []string) {
	root := vfs.Clean(p.prof.Actions.FolderRoot)
	if p.prof.Actions.FolderRoot == "" {
		root = "/sdcard"
	}
	for _, d := range made {
		if strings.HasPrefix(d, root+"/") {
			p.observe(profiles.ActionCreateFolder, "com.mi.android.globalFileexplorer",
				map[string]string{"folder": path.Base(d), "path": d})
		}
	}
}

func (p *Phone) cmdRm(ctx context.Context, sio shell.IO, args []string) int {
	flags, ops := splitFlags(args[1:])
	recursive := flags['r'] || flags['R']
	if len(ops) == 0 && !flags['f'] {
		return errf(sio, "rm: Needs 1 argument")
	}
	status := 0
	for _, op := range ops {
		info, err := p.fs.StatInfo(op)
		if err == nil && info.IsDir && !recursive && args[0] != "rmdir" {
			status = errf(sio, "rm: %s: Is a directory", op)
			continue
		}
		if err == nil {
			err = p.fs.Remove(op, recursive, p.uid(ctx))
		}
		if err != nil && !(flags['f'] && err == syscall.ENOENT) {
			status = errf(sio, "rm: %s: %s", op, shell.ErrText(err))
		}
	}
	return status
}

func (p *Phone) cmdCat(_ context.Context, sio shell.IO, args []string) int {
	if len(args) == 1 {
		_, _ = io.Copy(sio.Stdout, sio.Stdin)
		return 0
	}
	status := 0
	for _, op := range args[1:] {
		b, err := p.fs.ReadFile(op)
		if err != nil {
			status = errf(sio, "cat: %s: %s", op, shell.ErrText(err))
			continue
		}
		_, _ = sio.Stdout.Write(b)
	}
	return status
}

func (p *Phone) cmdEcho(_ context.Context, sio shell.IO, args []string) int {
	args = args[1:]
	nl := "\n"
	if len(args) > 0 && args[0] == "-n" {
		nl, args = "", args[1:]
	}
	fmt.Fprint(sio.Stdout, strings.Join(args, " ")+nl)
	return 0
}

func (p *Phone) cmdTouch(ctx context.Context, sio shell.IO, args []string) int {
	_, ops := splitFlags(args[1:])
	status := 0
	for _, op := range ops {
		if err := p.fs.Touch(op, p.uid(ctx)); err != nil {
			status = errf(sio, "touch: '%s': %s", op, shell.ErrText(err))
		}
	}
	return status
}

// cmdCp copies files (and with -r directories) the way the CA recipes use it.
func (p *Phone) cmdCp(ctx context.Context, sio shell.IO, args []string) int {
	flags, ops := splitFlags(args[1:])
	if len(ops) < 2 {
		return errf(sio, "%s: Needs 2 arguments", args[0])
	}
	dst := ops[len(ops)-1]
	dstInfo, dstErr := p.fs.StatInfo(dst)
	intoDir := dstErr == nil && dstInfo.IsDir
	if len(ops) > 2 && !intoDir {
		return errf(sio, "%s: '%s' not directory", args[0], dst)
	}
	status := 0
	for _, src := range ops[:len(ops)-1] {
		target := dst
		if intoDir {
			target = path.Join(dst, path.Base(src))
		}
		var err error
		if args[0] == "mv" {
			err = p.fs.Rename(src, target, p.uid(ctx))
		} else {
			err = p.copyTree(ctx, src, target, flags['r'] || flags['R'] || flags['a'])
		}
		if err != nil {
			status = errf(sio, "%s: %s: %s", args[0], src, shell.ErrText(err))
		}
	}
	return status
}

func (p *Phone) copyTree(ctx context.Context, src, dst string, recursive bool) error {
	info, err := p.fs.StatInfo(src)
	if err != nil {
		return err
	}
	if !info.IsDir {
		b, err := p.fs.ReadFile(src)
		if err != nil {
			return err
		}
		return p.fs.WriteFile(dst, b, info.Mode&0o777, p.uid(ctx), false)
	}
	if !recursive {
		return syscall.EISDIR
	}
	if err := p.fs.MkdirAll(dst, info.Mode&0o777, p.uid(ctx)); err != nil {
		return err
	}
	entries, err := p.fs.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := p.copyTree(ctx, path.Join(src, e.Name), path.Join(dst, e.Name), true); err != nil {
			return err
		}
	}
	return nil
}

func (p *Phone) cmdChmod(ctx context.Context, sio shell.IO, args []string) int {
	_, ops := splitFlags(args[1:])
	if len(ops) < 2 {
		return errf(sio, "chmod: Needs 2 arguments")
	}
	m, err := strconv.ParseUint(ops[0], 8, 32)
	status := 0
	for _, op := range ops[1:] {
		if err != nil {
			// Symbolic modes (u+x) only matter to real programs: accept them.
			if _, serr := p.fs.StatInfo(op); serr != nil {
				status = errf(sio, "chmod: %s: %s", op, shell.ErrText(serr))
			}
			continue
		}
		if cerr := p.fs.Chmod(op, uint32(m), p.uid(ctx)); cerr != nil {
			status = errf(sio, "chmod: %s: %s", op, shell.ErrText(cerr))
		}
	}
	return status
}

func (p *Phone) cmdChown(ctx context.Context, sio shell.IO, args []string) int {
	_, ops := splitFlags(args[1:])
	if len(ops) < 2 {
		return errf(sio, "%s: Needs 2 arguments", args[0])
	}
	status := 0
	for _, op := range ops[1:] {
		var err error
		if args[0] == "chcon" {
			// SELinux labels are not modelled; the file must exist.
			_, err = p.fs.StatInfo(op)
		} else {
			u, g, _ := strings.Cut(ops[0], ":")
			err = p.fs.Chown(op, userID(u), userID(g), p.uid(ctx))
		}
		if err != nil {
			status = errf(sio, "%s: %s: %s", args[0], op, shell.ErrText(err))
		}
	}
	return status
}

func userID(name string) uint32 {
	switch name {
	case "root", "":
		return vfs.RootUID
	case "shell":
		return vfs.ShellUID
	case "system":
		return 1000
	}
	n, _ := strconv.Atoi(name)
	return uint32(n)
}

func (p *Phone) cmdID(ctx context.Context, sio shell.IO, args []string) int {
	flags, _ := splitFlags(args[1:])
	uid := p.uid(ctx)
	switch {
	case (flags['u'] || flags['g']) && flags['n']:
		fmt.Fprintln(sio.Stdout, owner(uid))
	case flags['u'] || flags['g']:
		fmt.Fprintln(sio.Stdout, uid)
	case uid == vfs.RootUID:
		fmt.Fprintln(sio.Stdout, "uid=0(root) gid=0(root) groups=0(root) context=u:r:su:s0")
	default:
		fmt.Fprintln(sio.Stdout, "uid=2000(shell) gid=2000(shell) groups=2000(shell),1004(input),1007(log),1011(adb),1015(sdcard_rw),1028(sdcard_r),3001(net_bt_admin),3002(net_bt),3003(inet),3006(net_bw_stats) context=u:r:shell:s0")
	}
	return 0
}

func (p *Phone) cmdWhoami(ctx context.Context, sio shell.IO, _ []string) int {
	fmt.Fprintln(sio.Stdout, owner(p.uid(ctx)))
	return 0
}

// cmdMount handles the mounts the CA-install recipes make: a tmpfs over the
// store, a bind mount onto the APEX path, and remounting /system writable.
func (p *Phone) cmdMount(ctx context.Context, sio shell.IO, args []string) int {
	if len(args) == 1 {
		for _, m := range p.fs.Mounts() {
			mode := "rw"
			if m.ReadOnly {
				mode = "ro"
			}
			fmt.Fprintf(sio.Stdout, "%s %s %s %s 0 0\n", m.Type, m.Path, m.Type, mode)
		}
		return 0
	}
	var fstype, opts string
	var bind bool
	var ops []string
	for i := 1; i < len(args); i++ {
		switch a := args[i]; a {
		case "-t":
			if i+1 < len(args) {
				i++
				fstype = args[i]
			}
		case "-o":
			if i+1 < len(args) {
				i++
				opts = args[i]
			}
		case "--bind", "-B":
			bind = true
		case "-r":
			opts = "ro"
		case "-w":
			opts = "rw"
		default:
			ops = append(ops, a)
		}
	}
	if strings.Contains(","+opts+",", ",bind,") {
		bind = true
	}
	if p.uid(ctx) != vfs.RootUID {
		return errf(sio, "mount: permission denied (are you root?)")
	}
	var err error
	switch {
	case strings.Contains(opts, "remount"):
		if len(ops) == 0 {
			return errf(sio, "mount: need mount point")
		}
		target := ops[len(ops)-1]
		if target == "/" {
			target = "/system" // system-as-root: / and /system are one partition
		}
		err = p.fs.Remount(target, !strings.Contains(opts, "rw"))
	case bind && len(ops) == 2:
		err = p.fs.BindMount(ops[0], ops[1])
	case fstype == "tmpfs" && len(ops) >= 1:
		err = p.fs.MountTmpfs(ops[len(ops)-1])
	default:
		return errf(sio, "mount: unsupported mount on the simulated phone: %s", strings.Join(args[1:], " "))
	}
	if err != nil {
		return errf(sio, "mount: '%s': %s", ops[len(ops)-1], shell.ErrText(err))
	}
	return 0
}

func (p *Phone) cmdUmount(ctx context.Context, sio shell.IO, args []string) int {
	_, ops := splitFlags(args[1:])
	if p.uid(ctx) != vfs.RootUID {
		return errf(sio, "umount: permission denied")
	}
	status := 0
	for _, op := range ops {
		if err := p.fs.Unmount(op); err != nil {
			status = errf(sio, "umount: %s: %s", op, shell.ErrText(err))
		}
	}
	return status
}

// cmdNsenter runs its command in "another mount namespace"; the simulated
// phone has one, so a recipe's per-process bind mounts land in it.
func (p *Phone) cmdNsenter(ctx context.Context, sio shell.IO, args []string) int {
	for i := 1; i < len(args); i++ {
		if args[i] == "--" {
			args = args[i+1:]
			break
		}
		if !strings.HasPrefix(args[i], "-") {
			args = args[i:]
			break
		}
		if i == len(args)-1 {
			return errf(sio, "nsenter: no command")
		}
	}
	if len(args) == 0 {
		return errf(sio, "nsenter: no command")
	}
	if p.uid(ctx) != vfs.RootUID {
		return errf(sio, "nsenter: reassociate to namespace 'ns/mnt' failed: Operation not permitted")
	}
	return p.sh.Exec(ctx, sio, args)
}

func (p *Phone) cmdPidof(_ context.Context, sio shell.IO, args []string) int {
	pids := map[string]string{"zygote": "612", "zygote64": "611", "system_server": "1021", "adbd": "540"}
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

// cmdGrep is fixed-string grep with -e, -i, -v, -q and -c: enough for the
// pipelines harnesses write (`pm list packages | grep -q NAME`).
func (p *Phone) cmdGrep(ctx context.Context, sio shell.IO, args []string) int {
	var pats, ops []string
	flags := map[rune]bool{}
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-e" && i+1 < len(args):
			i++
			pats = append(pats, args[i])
		case len(a) > 1 && a[0] == '-':
			for _, c := range a[1:] {
				flags[c] = true
			}
		default:
			ops = append(ops, a)
		}
	}
	if len(pats) == 0 {
		if len(ops) == 0 {
			fmt.Fprintln(sio.Stderr, "grep: no pattern")
			return 2
		}
		pats, ops = ops[:1], ops[1:]
	}
	in := sio.Stdin
	if len(ops) > 0 {
		b, err := p.fs.ReadFile(ops[0])
		if err != nil {
			fmt.Fprintf(sio.Stderr, "grep: %s: %s\n", ops[0], shell.ErrText(err))
			return 2
		}
		in = strings.NewReader(string(b))
	}
	b, err := io.ReadAll(io.LimitReader(in, 16<<20))
	if err != nil {
		return 2
	}
	n := 0
	for line := range strings.Lines(string(b)) {
		hay := line
		if flags['i'] {
			hay = strings.ToLower(hay)
		}
		match := false
		for _, pat := range pats {
			if flags['i'] {
				pat = strings.ToLower(pat)
			}
			match = match || strings.Contains(hay, pat)
		}
		if match == flags['v'] {
			continue
		}
		n++
		if !flags['q'] && !flags['c'] {
			fmt.Fprint(sio.Stdout, line)
		}
	}
	if flags['c'] {
		fmt.Fprintln(sio.Stdout, n)
	}
	if n == 0 {
		return 1
	}
	return 0
}

func (p *Phone) cmdSleep(ctx context.Context, sio shell.IO, args []string) int {
	if len(args) < 2 {
		return errf(sio, "sleep: Needs 1 argument")
	}
	f, err := strconv.ParseFloat(args[1], 64)
	if err != nil || f < 0 {
		return errf(sio, "sleep: invalid number '%s'", args[1])
	}
	t := time.NewTimer(time.Duration(f * float64(time.Second)))
	defer t.Stop()
	select {
	case <-t.C:
		return 0
	case <-ctx.Done():
		return 130
	}
}
