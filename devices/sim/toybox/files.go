package toybox

import (
	"context"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"syscall"
	"time"

	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/vfs"
)

// run parses args[1:] against spec, printing toybox's complaint on a bad
// flag; ok is false then.
func run(sio shell.IO, args []string, spec string) (opts, bool) {
	o, err := parse(args[0], args[1:], spec)
	if err != nil {
		fmt.Fprintln(sio.Stderr, err)
		return o, false
	}
	return o, true
}

func (b *box) ls(ctx context.Context, sio shell.IO, args []string) int {
	o, ok := run(sio, args, "lad1R")
	if !ok {
		return 1
	}
	ops := o.args
	if len(ops) == 0 {
		ops = []string{"."}
	}
	status, shown := 0, 0
	for _, op := range ops {
		p := shell.Abs(ctx, op)
		info, err := b.fs.StatInfo(p)
		if err != nil {
			if info, err = b.fs.LstatInfo(p); err != nil { // a dangling link still lists
				status = failErr(sio, "ls", op, err)
				continue
			}
		}
		if !info.IsDir || o.has('d') {
			b.lsLine(sio.Stdout, o.has('l'), p, info, op)
			continue
		}
		if len(ops) > 1 {
			if shown > 0 {
				fmt.Fprintln(sio.Stdout)
			}
			fmt.Fprintf(sio.Stdout, "%s:\n", op)
		}
		shown++
		entries, err := b.fs.ReadDir(p)
		if err != nil {
			status = failErr(sio, "ls", op, err)
			continue
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name, ".") && !o.has('a') {
				continue
			}
			b.lsLine(sio.Stdout, o.has('l'), path.Join(p, e.Name), e, e.Name)
		}
	}
	return status
}

// lsLine prints one entry; -l as toybox ls does on Android: mode, links,
// owner, group, size, "YYYY-MM-DD HH:MM", name, and "-> target" for links.
func (b *box) lsLine(w io.Writer, long bool, p string, i vfs.Info, name string) {
	if !long {
		fmt.Fprintln(w, name)
		return
	}
	if li, err := b.fs.LstatInfo(p); err == nil && li.IsLink {
		i, name = li, name+" -> "+li.Target
	}
	fmt.Fprintf(w, "%s %d %-6s %-6s %8d %s %s\n", modeString(i.Mode), i.Nlink, userName(i.UID), userName(i.GID),
		i.Size, time.Unix(i.Mtime, 0).UTC().Format("2006-01-02 15:04"), name)
}

func modeString(m uint32) string {
	b := []byte("-rwxrwxrwx")
	switch m & 0o170000 {
	case vfs.ModeDir:
		b[0] = 'd'
	case vfs.ModeSymlink:
		b[0] = 'l'
	case vfs.ModeCharDev:
		b[0] = 'c'
	}
	for i := 0; i < 9; i++ {
		if m&(1<<(8-i)) == 0 {
			b[i+1] = '-'
		}
	}
	return string(b)
}

func (b *box) mkdir(ctx context.Context, sio shell.IO, args []string) int {
	o, ok := run(sio, args, "pm:v")
	if !ok {
		return 1
	}
	perm := uint32(0o777) // less the umask (0) as mkdir(2) applies it
	if m, set := o.val['m']; set {
		n, err := strconv.ParseUint(m, 8, 32)
		if err != nil {
			return fail(sio, "mkdir", "bad mode '%s'", m)
		}
		perm = uint32(n)
	}
	if len(o.args) == 0 {
		return fail(sio, "mkdir", "Needs 1 argument")
	}
	status := 0
	for _, op := range o.args {
		var err error
		if o.has('p') {
			err = b.fs.MkdirAll(shell.Abs(ctx, op), perm, shell.UID(ctx))
		} else {
			err = b.fs.Mkdir(shell.Abs(ctx, op), perm, shell.UID(ctx))
		}
		if err != nil {
			status = failErr(sio, "mkdir", "'"+op+"'", err)
		}
	}
	return status
}

func (b *box) rm(ctx context.Context, sio shell.IO, args []string) int {
	o, ok := run(sio, args, "fiRrv")
	if !ok {
		return 1
	}
	recursive := o.has('r') || o.has('R')
	if len(o.args) == 0 && !o.has('f') {
		return fail(sio, "rm", "Needs 1 argument")
	}
	status := 0
	for _, op := range o.args {
		p := shell.Abs(ctx, op)
		info, err := b.fs.LstatInfo(p)
		if err == nil && info.IsDir && !recursive {
			status = fail(sio, "rm", "%s: Is a directory", op)
			continue
		}
		if err == nil {
			err = b.fs.Remove(p, recursive, shell.UID(ctx))
		}
		if err != nil && !(o.has('f') && err == syscall.ENOENT) {
			status = failErr(sio, "rm", op, err)
		}
	}
	return status
}

func (b *box) rmdir(ctx context.Context, sio shell.IO, args []string) int {
	o, ok := run(sio, args, "p")
	if !ok {
		return 1
	}
	if len(o.args) == 0 {
		return fail(sio, "rmdir", "Needs 1 argument")
	}
	status := 0
	for _, op := range o.args {
		p := shell.Abs(ctx, op)
		info, err := b.fs.LstatInfo(p)
		if err == nil && !info.IsDir {
			err = syscall.ENOTDIR
		}
		if err == nil {
			err = b.fs.Remove(p, false, shell.UID(ctx))
		}
		if err != nil {
			status = failErr(sio, "rmdir", "'"+op+"'", err)
		}
	}
	return status
}

func (b *box) touch(ctx context.Context, sio shell.IO, args []string) int {
	o, ok := run(sio, args, "acmhd:t:r:")
	if !ok {
		return 1
	}
	status := 0
	for _, op := range o.args {
		if err := b.fs.Touch(shell.Abs(ctx, op), shell.UID(ctx)); err != nil {
			status = failErr(sio, "touch", "'"+op+"'", err)
		}
	}
	return status
}

func (b *box) cp(ctx context.Context, sio shell.IO, args []string) int {
	return b.copyOrMove(ctx, sio, args, "RrafpdLPnvi")
}

func (b *box) mv(ctx context.Context, sio shell.IO, args []string) int {
	return b.copyOrMove(ctx, sio, args, "fnvi")
}

// copyOrMove is cp and mv: into a directory when the last operand is one.
func (b *box) copyOrMove(ctx context.Context, sio shell.IO, args []string, spec string) int {
	o, ok := run(sio, args, spec)
	if !ok {
		return 1
	}
	name := args[0]
	if len(o.args) < 2 {
		return fail(sio, name, "Needs 2 arguments")
	}
	dst := shell.Abs(ctx, o.args[len(o.args)-1])
	dstInfo, dstErr := b.fs.StatInfo(dst)
	intoDir := dstErr == nil && dstInfo.IsDir
	if len(o.args) > 2 && !intoDir {
		return fail(sio, name, "'%s' not directory", o.args[len(o.args)-1])
	}
	status := 0
	for _, op := range o.args[:len(o.args)-1] {
		src := shell.Abs(ctx, op)
		target := dst
		if intoDir {
			target = path.Join(dst, path.Base(src))
		}
		var err error
		if name == "mv" {
			err = b.fs.Rename(src, target, shell.UID(ctx))
		} else {
			err = b.copyTree(src, target, o.has('r') || o.has('R') || o.has('a'), shell.UID(ctx))
		}
		if err == syscall.EISDIR && name == "cp" {
			status = fail(sio, name, "%s: Is a directory (use -r)", op) // modeled on toybox cp's "-r" hint
		} else if err != nil {
			status = failErr(sio, name, op, err)
		}
	}
	return status
}

func (b *box) copyTree(src, dst string, recursive bool, uid uint32) error {
	info, err := b.fs.StatInfo(src)
	if err != nil {
		return err
	}
	if !info.IsDir {
		data, err := b.fs.ReadFile(src)
		if err != nil {
			return err
		}
		return b.fs.WriteFile(dst, data, info.Mode&0o777, uid, false)
	}
	if !recursive {
		return syscall.EISDIR
	}
	if err := b.fs.MkdirAll(dst, info.Mode&0o777, uid); err != nil {
		return err
	}
	entries, err := b.fs.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := b.copyTree(path.Join(src, e.Name), path.Join(dst, e.Name), true, uid); err != nil {
			return err
		}
	}
	return nil
}

func (b *box) chmod(ctx context.Context, sio shell.IO, args []string) int {
	o, ok := run(sio, args, "Rvf")
	if !ok {
		return 1
	}
	if len(o.args) < 2 {
		return fail(sio, "chmod", "Needs 2 arguments")
	}
	status := 0
	for _, op := range o.args[1:] {
		p := shell.Abs(ctx, op)
		info, err := b.fs.StatInfo(p)
		if err == nil {
			mode, merr := applyMode(o.args[0], info.Mode&0o7777, info.IsDir)
			if merr != nil {
				return fail(sio, "chmod", "%s", merr)
			}
			err = b.fs.Chmod(p, mode, shell.UID(ctx))
		}
		if err != nil {
			status = failErr(sio, "chmod", op, err)
		}
	}
	return status
}

// applyMode computes a new mode from an octal mode or chmod's symbolic
// clauses ("u+x,go-w", "a=r", "+X").
func applyMode(spec string, mode uint32, dir bool) (uint32, error) {
	if n, err := strconv.ParseUint(spec, 8, 32); err == nil {
		return uint32(n), nil
	}
	for _, clause := range strings.Split(spec, ",") {
		who := uint32(0)
		i := 0
		for ; i < len(clause) && strings.IndexByte("ugoa", clause[i]) >= 0; i++ {
			who |= map[byte]uint32{'u': 0o4700, 'g': 0o2070, 'o': 0o1007, 'a': 0o7777}[clause[i]]
		}
		if who == 0 {
			who = 0o7777
		}
		if i >= len(clause) || strings.IndexByte("+-=", clause[i]) < 0 {
			return 0, fmt.Errorf("bad mode '%s'", spec)
		}
		op := clause[i]
		bits := uint32(0)
		for _, c := range clause[i+1:] {
			switch c {
			case 'r':
				bits |= 0o444
			case 'w':
				bits |= 0o222
			case 'x':
				bits |= 0o111
			case 'X':
				if dir || mode&0o111 != 0 {
					bits |= 0o111
				}
			case 's':
				bits |= 0o6000
			case 't':
				bits |= 0o1000
			default:
				return 0, fmt.Errorf("bad mode '%s'", spec)
			}
		}
		bits &= who
		switch op {
		case '+':
			mode |= bits
		case '-':
			mode &^= bits
		case '=':
			mode = mode&^(who&0o777) | bits
		}
	}
	return mode, nil
}

// chown is chown and chgrp: "USER[:GROUP]" or "GROUP".
func (b *box) chown(ctx context.Context, sio shell.IO, args []string) int {
	o, ok := run(sio, args, "RhHLPfv")
	if !ok {
		return 1
	}
	name := args[0]
	if len(o.args) < 2 {
		return fail(sio, name, "Needs 2 arguments")
	}
	owner, group, hasGroup := strings.Cut(o.args[0], ":")
	if name == "chgrp" {
		owner, group, hasGroup = "", o.args[0], true
	}
	status := 0
	for _, op := range o.args[1:] {
		p := shell.Abs(ctx, op)
		info, err := b.fs.StatInfo(p)
		if err != nil {
			status = failErr(sio, name, op, err)
			continue
		}
		uid, gid := info.UID, info.GID
		if owner != "" {
			if uid, ok = userID(owner); !ok {
				return fail(sio, name, "bad user '%s'", owner)
			}
		}
		if hasGroup && group != "" {
			if gid, ok = userID(group); !ok {
				return fail(sio, name, "bad group '%s'", group)
			}
		}
		if err := b.fs.Chown(p, uid, gid, shell.UID(ctx)); err != nil {
			status = failErr(sio, name, op, err)
		}
	}
	return status
}

// chcon: SELinux labels are not modelled; the files must exist and the
// caller must be root (modeled: the shell domain may not relabel).
func (b *box) chcon(ctx context.Context, sio shell.IO, args []string) int {
	o, ok := run(sio, args, "hRv")
	if !ok {
		return 1
	}
	if len(o.args) < 2 {
		return fail(sio, "chcon", "Needs 2 arguments")
	}
	status := 0
	for _, op := range o.args[1:] {
		_, err := b.fs.StatInfo(shell.Abs(ctx, op))
		if err == nil && shell.UID(ctx) != vfs.RootUID {
			err = syscall.EACCES
		}
		if err != nil {
			status = fail(sio, "chcon", "'%s' to %s: %s", op, o.args[0], shell.ErrText(err))
		}
	}
	return status
}

// ln makes symbolic links; the file system has no hard links, so plain ln
// fails as it does across file systems on a phone (modeled).
func (b *box) ln(ctx context.Context, sio shell.IO, args []string) int {
	o, ok := run(sio, args, "sfnvT")
	if !ok {
		return 1
	}
	if len(o.args) < 1 || len(o.args) > 2 {
		return fail(sio, "ln", "Needs 1-2 arguments")
	}
	target := o.args[0]
	link := path.Base(target)
	if len(o.args) == 2 {
		link = o.args[1]
	}
	lp := shell.Abs(ctx, link)
	if info, err := b.fs.StatInfo(lp); err == nil && info.IsDir && !o.has('n') {
		lp = path.Join(lp, path.Base(target))
	}
	if !o.has('s') {
		return fail(sio, "ln", "cannot link '%s' to '%s': %s", link, target, shell.ErrText(syscall.EXDEV))
	}
	if o.has('f') {
		if _, err := b.fs.LstatInfo(lp); err == nil {
			_ = b.fs.Remove(lp, false, shell.UID(ctx))
		}
	}
	if err := b.fs.Symlink(target, lp, shell.UID(ctx)); err != nil {
		return fail(sio, "ln", "cannot create symbolic link from '%s' to '%s': %s", target, link, shell.ErrText(err))
	}
	return 0
}

func (b *box) readlink(ctx context.Context, sio shell.IO, args []string) int {
	o, ok := run(sio, args, "fenqmv")
	if !ok {
		return 1
	}
	if len(o.args) != 1 {
		return fail(sio, "readlink", "Needs 1 argument")
	}
	p := shell.Abs(ctx, o.args[0])
	var out string
	var err error
	if o.has('f') || o.has('e') || o.has('m') {
		out, err = b.fs.Realpath(p)
	} else {
		out, err = b.fs.Readlink(p)
	}
	if err != nil {
		return 1 // readlink fails silently, as toybox does without -v
	}
	if o.has('n') {
		fmt.Fprint(sio.Stdout, out)
	} else {
		fmt.Fprintln(sio.Stdout, out)
	}
	return 0
}

func (b *box) realpath(ctx context.Context, sio shell.IO, args []string) int {
	status := 0
	for _, op := range args[1:] {
		real, err := b.fs.Realpath(shell.Abs(ctx, op))
		if err != nil {
			status = failErr(sio, "realpath", op, err)
			continue
		}
		fmt.Fprintln(sio.Stdout, real)
	}
	return status
}

// stat prints toybox stat's default block or a -c FORMAT
// (external/toybox toys/other/stat.c).
func (b *box) stat(ctx context.Context, sio shell.IO, args []string) int {
	o, ok := run(sio, args, "c:fLt")
	if !ok {
		return 1
	}
	if len(o.args) == 0 {
		return fail(sio, "stat", "Needs 1 argument")
	}
	format := "  File: %N\n  Size: %s\t Blocks: %b\t IO Blocks: %B\t%F\n" +
		"Device: %Dh/%dd\t Inode: %i\t Links: %h\n" +
		"Access: (%a/%A)\tUid: (%5u/%8U)\tGid: (%5g/%8G)\n" +
		"Access: %x\nModify: %y\nChange: %z"
	if o.has('t') {
		format = "%n %s %b %f %u %g %D %i %h %t %T %X %Y %Z %o"
	}
	if f, set := o.val['c']; set {
		format = f
	}
	status := 0
	for _, op := range o.args {
		p := shell.Abs(ctx, op)
		stat := b.fs.LstatInfo
		if o.has('L') {
			stat = b.fs.StatInfo
		}
		info, err := stat(p)
		if err != nil {
			status = failErr(sio, "stat", "'"+op+"'", err)
			continue
		}
		fmt.Fprintln(sio.Stdout, statFormat(format, op, info))
	}
	return status
}

func statFormat(format, name string, i vfs.Info) string {
	var out strings.Builder
	when := time.Unix(i.Mtime, 0).UTC().Format("2006-01-02 15:04:05.000000000 -0700")
	for k := 0; k < len(format); k++ {
		if format[k] != '%' || k+1 == len(format) {
			out.WriteByte(format[k])
			continue
		}
		k++
		switch c := format[k]; c {
		case 'n':
			out.WriteString(name)
		case 'N':
			fmt.Fprintf(&out, "`%s'", name)
			if i.IsLink {
				fmt.Fprintf(&out, " -> `%s'", i.Target)
			}
		case 's':
			fmt.Fprint(&out, i.Size)
		case 'b':
			fmt.Fprint(&out, (i.Size+511)/512)
		case 'B', 'o':
			out.WriteString("4096")
		case 'F':
			out.WriteString(fileType(i))
		case 'D':
			out.WriteString("fd05") // modeled: dm-5, /data's device on Android 10
		case 'd':
			out.WriteString("64773")
		case 'i':
			fmt.Fprint(&out, i.Ino)
		case 'h':
			fmt.Fprint(&out, i.Nlink)
		case 'a':
			fmt.Fprintf(&out, "%o", i.Mode&0o7777)
		case 'A':
			out.WriteString(modeString(i.Mode))
		case 'f':
			fmt.Fprintf(&out, "%x", i.Mode)
		case 'u':
			fmt.Fprint(&out, i.UID)
		case 'U':
			fmt.Fprintf(&out, "%8s", userName(i.UID))
		case 'g':
			fmt.Fprint(&out, i.GID)
		case 'G':
			fmt.Fprintf(&out, "%8s", userName(i.GID))
		case 'x', 'y', 'z':
			out.WriteString(when)
		case 'X', 'Y', 'Z':
			fmt.Fprint(&out, i.Mtime)
		case 't', 'T':
			out.WriteString("0")
		case '%':
			out.WriteByte('%')
		default:
			out.WriteByte('?')
		}
	}
	return out.String()
}

func fileType(i vfs.Info) string {
	switch {
	case i.IsDir:
		return "directory"
	case i.IsLink:
		return "symbolic link"
	case i.Mode&0o170000 == vfs.ModeCharDev:
		return "character device"
	case i.Size == 0:
		return "regular empty file"
	}
	return "regular file"
}

// find walks from each start, printing what passes -name, -type and
// -maxdepth/-mindepth (the tests scripts commonly use); its output order is
// the directory's, which the file system keeps sorted.
func (b *box) find(ctx context.Context, sio shell.IO, args []string) int {
	var starts []string
	i := 1
	for ; i < len(args) && !strings.HasPrefix(args[i], "-") && args[i] != "!" && args[i] != "("; i++ {
		starts = append(starts, args[i])
	}
	if len(starts) == 0 {
		starts = []string{"."}
	}
	var tests []func(p string, info vfs.Info, depth int) bool
	maxDepth, minDepth := -1, 0
	for ; i < len(args); i++ {
		flag := args[i]
		if flag == "-print" {
			continue
		}
		if i+1 >= len(args) {
			return fail(sio, "find", "'%s' needs 1 arg", flag)
		}
		i++
		v := args[i]
		switch flag {
		case "-name", "-iname":
			pat := v
			fold := flag == "-iname"
			tests = append(tests, func(p string, _ vfs.Info, _ int) bool {
				name := path.Base(p)
				if fold {
					name, pat = strings.ToLower(name), strings.ToLower(pat)
				}
				ok, _ := path.Match(pat, name)
				return ok
			})
		case "-type":
			tests = append(tests, func(_ string, info vfs.Info, _ int) bool {
				return (v == "d" && info.IsDir) || (v == "l" && info.IsLink) || (v == "f" && !info.IsDir && !info.IsLink)
			})
		case "-maxdepth", "-mindepth":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return fail(sio, "find", "bad %s '%s'", flag, v)
			}
			if flag == "-maxdepth" {
				maxDepth = n
			} else {
				minDepth = n
			}
		default:
			return fail(sio, "find", "bad arg '%s'", flag)
		}
	}
	status := 0
	var walk func(shown, p string, depth int)
	walk = func(shown, p string, depth int) {
		info, err := b.fs.LstatInfo(p)
		if err != nil {
			status = failErr(sio, "find", shown, err)
			return
		}
		match := depth >= minDepth
		for _, t := range tests {
			match = match && t(p, info, depth)
		}
		if match {
			fmt.Fprintln(sio.Stdout, shown)
		}
		if !info.IsDir || (maxDepth >= 0 && depth >= maxDepth) || ctx.Err() != nil {
			return
		}
		entries, err := b.fs.ReadDir(p)
		if err != nil {
			status = failErr(sio, "find", shown, err)
			return
		}
		for _, e := range entries {
			walk(path.Join(shown, e.Name), path.Join(p, e.Name), depth+1)
		}
	}
	for _, s := range starts {
		walk(s, shell.Abs(ctx, s), 0)
	}
	return status
}

// dfRow is one file system as df shows it; sizes are 1K blocks.
type dfRow struct {
	dev, dir          string
	size, used, avail int64
}

// df shows the phone's main file systems with plausible sizes of a 64 GB
// phone (modeled), in toybox df's table layout (toys/posix/df.c); with
// operands, the file system each one is on.
func (b *box) df(ctx context.Context, sio shell.IO, args []string) int {
	o, ok := run(sio, args, "HPkht:a")
	if !ok {
		return 1
	}
	rows := []dfRow{
		{"/dev/root", "/", 2999516, 2956112, 27020},
		{"tmpfs", "/dev", 1869240, 1064, 1868176},
		{"/dev/block/dm-5", "/data", 52656780, 9854320, 42671004},
		{"/data/media", "/storage/emulated", 52656780, 9854320, 42671004},
	}
	for _, m := range b.fs.Mounts() {
		if m.Type == "tmpfs" {
			rows = append(rows, dfRow{"tmpfs", m.Path, 1869240, 0, 1869240})
		}
	}
	show := rows
	if len(o.args) > 0 {
		show = nil
		for _, a := range o.args {
			p := shell.Abs(ctx, a)
			if _, err := b.fs.StatInfo(p); err != nil {
				fail(sio, "df", "'%s': %s", a, shell.ErrText(err))
				continue
			}
			best := rows[0]
			for _, r := range rows {
				if (p == r.dir || strings.HasPrefix(p, r.dir+"/")) && len(r.dir) > len(best.dir) {
					best = r
				}
			}
			show = append(show, best)
		}
	}
	fmt.Fprintf(sio.Stdout, "%-15s %9s %8s %9s %4s Mounted on\n", "Filesystem", "1K-blocks", "Used", "Available", "Use%")
	for _, r := range show {
		// Use% rounds up, as df.c computes it.
		pct := (r.used*100 + r.used + r.avail - 1) / max(r.used+r.avail, 1)
		fmt.Fprintf(sio.Stdout, "%-15s %9d %8d %9d %3d%% %s\n", r.dev, r.size, r.used, r.avail, pct, r.dir)
	}
	return 0
}

func (b *box) basename(_ context.Context, sio shell.IO, args []string) int {
	if len(args) < 2 {
		return fail(sio, "basename", "Needs 1 argument")
	}
	base := path.Base(args[1])
	if len(args) > 2 && base != args[2] {
		base = strings.TrimSuffix(base, args[2])
	}
	fmt.Fprintln(sio.Stdout, base)
	return 0
}

func (b *box) dirname(_ context.Context, sio shell.IO, args []string) int {
	if len(args) < 2 {
		return fail(sio, "dirname", "Needs 1 argument")
	}
	for _, a := range args[1:] {
		fmt.Fprintln(sio.Stdout, path.Dir(a))
	}
	return 0
}

func (b *box) pwd(ctx context.Context, sio shell.IO, _ []string) int {
	fmt.Fprintln(sio.Stdout, shell.Dir(ctx))
	return 0
}
