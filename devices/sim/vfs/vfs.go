// Package vfs is the simulated phone's in-memory file system: a tree of
// directories and files with Android's mount layout, where /system and the
// APEX trees are read-only until remounted or covered by a tmpfs, as the
// CA-install recipes expect. Errors are syscall.Errno values so the adb sync
// service and the shell can print them the way a phone does. It knows
// nothing of adb or of the shell: both convert Info to their own forms.
package vfs

import (
	"bytes"
	"io"
	"path"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// File type bits of a mode, as stat(2) reports them.
const (
	ModeDir     uint32 = 0o040000
	ModeFile    uint32 = 0o100000
	ModeSymlink uint32 = 0o120000
	ModeCharDev uint32 = 0o020000
	modeType    uint32 = 0o170000
)

// maxSymlinks is how many links one lookup follows before ELOOP, as Linux's
// MAXSYMLINKS (40).
const maxSymlinks = 40

// Identities that own files; only RootUID may write outside the shell's own trees.
const (
	RootUID  uint32 = 0
	ShellUID uint32 = 2000
)

type node struct {
	mode     uint32
	uid, gid uint32
	ino      uint64
	mtime    int64
	data     []byte
	children map[string]*node // nil for files
	target   string           // a symlink's target
	// gen makes a kernel file's contents at each read (procfs): such a
	// file cannot be written, removed or changed.
	gen func() []byte
}

func (n *node) isDir() bool     { return n.mode&modeType == ModeDir }
func (n *node) isLink() bool    { return n.mode&modeType == ModeSymlink }
func (n *node) isCharDev() bool { return n.mode&modeType == ModeCharDev }

// mount is a file system mounted over a directory.
type mount struct {
	fstype   string
	readOnly bool
	// bootRO is readOnly as the phone boots.
	bootRO bool
	// covered is the directory the mount hides, restored on umount.
	covered *node
	// below is the mount this one was stacked on at the same path.
	below *mount
}

// FS is a file system shared by the shell and the sync service.
type FS struct {
	mu     sync.Mutex
	root   *node
	mounts map[string]*mount
	ino    uint64
	now    func() time.Time
}

// New returns a file system with what every Android phone has: the root,
// /dev/null, and roMounts as read-only mount points (e.g. "/system").
func New(roMounts ...string) *FS {
	f := &FS{mounts: map[string]*mount{}, now: time.Now}
	f.root = f.newNode(ModeDir|0o755, RootUID)
	f.mounts["/"] = &mount{fstype: "rootfs"}
	dev := f.newNode(ModeDir|0o755, RootUID)
	f.root.children["dev"] = dev
	// /dev/null reads empty and swallows writes, as the kernel's does.
	dev.children["null"] = f.newNode(ModeCharDev|0o666, RootUID)
	for _, m := range roMounts {
		if err := f.MkdirAll(m, 0o755, RootUID); err != nil {
			panic("vfs: bad mount point " + m) // static layout, a programming error
		}
		f.mounts[path.Clean(m)] = &mount{fstype: "ext4", readOnly: true, bootRO: true}
	}
	return f
}

// SetClock makes the file system stamp times from now (the phone's
// clock) instead of the host's.
func (f *FS) SetClock(now func() time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = now
}

func (f *FS) newNode(mode, uid uint32) *node {
	f.ino++
	n := &node{mode: mode, uid: uid, gid: uid, ino: f.ino, mtime: f.now().Unix()}
	if mode&modeType == ModeDir {
		n.children = map[string]*node{}
	}
	return n
}

// Clean makes p absolute and canonical; relative paths are taken from /.
func Clean(p string) string {
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return path.Clean(p)
}

func split(p string) []string {
	p = Clean(p)
	if p == "/" {
		return nil
	}
	return strings.Split(p[1:], "/")
}

// lookup finds p, following symlinks all the way (stat).
func (f *FS) lookup(p string) (*node, error) {
	_, n, err := f.resolve(p, true)
	return n, err
}

// resolve walks p from the root and returns the node and its path with every
// symlink on the way replaced by its target; the last element is followed
// only when followLast is set (stat, not lstat). Relative targets are taken
// from the link's directory, as the kernel does.
func (f *FS) resolve(p string, followLast bool) (string, *node, error) {
	parts := split(p)
	cur, n, links := "/", f.root, 0
	for i := 0; i < len(parts); i++ {
		if !n.isDir() {
			return "", nil, syscall.ENOTDIR
		}
		c, ok := n.children[parts[i]]
		if !ok {
			return "", nil, syscall.ENOENT
		}
		if c.isLink() && (i < len(parts)-1 || followLast) {
			if links++; links > maxSymlinks {
				return "", nil, syscall.ELOOP
			}
			target := c.target
			if !strings.HasPrefix(target, "/") {
				target = path.Join(cur, target)
			}
			parts = append(split(target), parts[i+1:]...)
			cur, n, i = "/", f.root, -1
			continue
		}
		cur, n = path.Join(cur, parts[i]), c
	}
	return cur, n, nil
}

// mountOf returns the mount holding p: the longest mount point prefix.
func (f *FS) mountOf(p string) (string, *mount) {
	p = Clean(p)
	for {
		if m, ok := f.mounts[p]; ok {
			return p, m
		}
		if p == "/" {
			return "/", f.mounts["/"]
		}
		p = path.Dir(p)
	}
}

// writable says whether uid may change entries inside directory dir.
func (f *FS) writable(dir string, uid uint32) error {
	if _, m := f.mountOf(dir); m.readOnly {
		return syscall.EROFS
	}
	if uid == RootUID {
		return nil
	}
	n, err := f.lookup(dir)
	if err != nil {
		return err
	}
	if n.uid != uid && n.mode&0o002 == 0 {
		return syscall.EACCES
	}
	return nil
}

// parent returns the directory that holds p's last element (symlinks on
// the way followed) once uid may change entries in it.
func (f *FS) parent(p string, uid uint32) (*node, string, error) {
	p = Clean(p)
	if p == "/" {
		return nil, "", syscall.EEXIST
	}
	dir, d, err := f.resolve(path.Dir(p), true)
	if err != nil {
		return nil, "", err
	}
	if !d.isDir() {
		return nil, "", syscall.ENOTDIR
	}
	if err := f.writable(dir, uid); err != nil {
		return nil, "", err
	}
	return d, path.Base(p), nil
}

// Mkdir makes one directory.
func (f *FS) Mkdir(p string, perm, uid uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mkdir(p, perm, uid)
}

func (f *FS) mkdir(p string, perm, uid uint32) error {
	d, name, err := f.parent(p, uid)
	if err != nil {
		return err
	}
	if _, ok := d.children[name]; ok {
		return syscall.EEXIST
	}
	d.children[name] = f.newNode(ModeDir|perm&0o7777, uid)
	d.mtime = f.now().Unix()
	return nil
}

// MkdirAll makes p and its missing parents.
func (f *FS) MkdirAll(p string, perm, uid uint32) error {
	_, err := f.MkdirAllNew(p, perm, uid)
	return err
}

// MkdirAllNew is MkdirAll that also returns the directories it made,
// outermost first, so callers can tell what is new.
func (f *FS) MkdirAllNew(p string, perm, uid uint32) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var made []string
	cur := ""
	for _, part := range split(p) {
		cur += "/" + part
		n, err := f.lookup(cur)
		if err == nil {
			if !n.isDir() {
				return made, syscall.ENOTDIR
			}
			continue
		}
		if err := f.mkdir(cur, perm, uid); err != nil {
			return made, err
		}
		made = append(made, cur)
	}
	return made, nil
}

// WriteFile creates or replaces p's contents; appendTo adds to the end instead.
func (f *FS) WriteFile(p string, data []byte, perm, uid uint32, appendTo bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writeFile(p, data, perm, uid, appendTo, 0)
}

func (f *FS) writeFile(p string, data []byte, perm, uid uint32, appendTo bool, mtime int64) error {
	if mtime == 0 {
		mtime = f.now().Unix()
	}
	if real, n, err := f.resolve(p, true); err == nil {
		// An existing file: its own mode decides, not its directory's.
		_, m := f.mountOf(real)
		switch {
		case n.isDir():
			return syscall.EISDIR
		case n.gen != nil:
			return syscall.EACCES
		case n.isCharDev() && mayWrite(n, uid):
			return nil // /dev/null swallows what it is given
		case m.readOnly:
			return syscall.EROFS
		case !mayWrite(n, uid):
			return syscall.EACCES
		}
		if appendTo {
			n.data = append(n.data, data...)
		} else {
			n.data = bytes.Clone(data)
		}
		n.mtime = mtime
		return nil
	}
	d, name, err := f.parent(p, uid)
	if err != nil {
		return err
	}
	if _, ok := d.children[name]; ok {
		return syscall.ENOENT // creating through a dangling symlink is not modeled
	}
	n := f.newNode(ModeFile|perm&0o7777, uid)
	n.data = bytes.Clone(data)
	n.mtime = mtime
	d.children[name] = n
	d.mtime = f.now().Unix()
	return nil
}

// mayWrite applies a file's write bits to uid: root always, the owner by
// the owner's bit, everyone else by the others' (groups are the owner's
// own in the simulated phone).
func mayWrite(n *node, uid uint32) bool {
	switch {
	case uid == RootUID:
		return true
	case n.uid == uid:
		return n.mode&0o200 != 0
	case n.gid == uid:
		return n.mode&0o020 != 0
	}
	return n.mode&0o002 != 0
}

// ReadFile returns a copy of p's contents.
func (f *FS) ReadFile(p string) ([]byte, error) {
	f.mu.Lock()
	n, err := f.lookup(p)
	if err != nil {
		f.mu.Unlock()
		return nil, err
	}
	if n.isDir() {
		f.mu.Unlock()
		return nil, syscall.EISDIR
	}
	gen, data := n.gen, bytes.Clone(n.data) // a device's data stays empty: /dev/null reads nothing
	f.mu.Unlock()
	if gen != nil {
		return gen(), nil // outside the lock: the generator may be slow or read the file system
	}
	return data, nil
}

// Generated makes p a file whose contents gen makes at each read, as the
// kernel's /proc files are: stat shows size 0, and nobody, root included,
// may write, remove or change it. p's directory must exist.
func (f *FS) Generated(p string, perm, uid uint32, gen func() []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, name, err := f.parent(p, RootUID)
	if err != nil {
		return err
	}
	if _, ok := d.children[name]; ok {
		return syscall.EEXIST
	}
	n := f.newNode(ModeFile|perm&0o7777, uid)
	n.gen = gen
	n.mtime = f.now().Unix()
	d.children[name] = n
	return nil
}

// Remove deletes p; a non-empty directory needs recursive.
func (f *FS) Remove(p string, recursive bool, uid uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	p = Clean(p)
	if _, ok := f.mounts[p]; ok {
		return syscall.EBUSY
	}
	_, n, err := f.resolve(p, false) // removing a symlink removes the link
	if err != nil {
		return err
	}
	if n.gen != nil {
		return syscall.EPERM
	}
	if n.isDir() && len(n.children) > 0 && !recursive {
		return syscall.ENOTEMPTY
	}
	if n.isDir() && recursive && f.hasMountBelow(p) {
		return syscall.EBUSY
	}
	d, name, err := f.parent(p, uid)
	if err != nil {
		return err
	}
	delete(d.children, name)
	d.mtime = f.now().Unix()
	return nil
}

func (f *FS) hasMountBelow(p string) bool {
	for m := range f.mounts {
		if strings.HasPrefix(m, p+"/") {
			return true
		}
	}
	return false
}

// Rename moves oldp to newp, replacing a file there.
func (f *FS) Rename(oldp, newp string, uid uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, n, err := f.resolve(oldp, false)
	if err != nil {
		return err
	}
	if n.gen != nil {
		return syscall.EPERM
	}
	od, oname, err := f.parent(oldp, uid)
	if err != nil {
		return err
	}
	nd, nname, err := f.parent(newp, uid)
	if err != nil {
		return err
	}
	if old, ok := nd.children[nname]; ok && old.isDir() {
		return syscall.EISDIR
	} else if ok && old.gen != nil {
		return syscall.EPERM
	}
	delete(od.children, oname)
	nd.children[nname] = n
	return nil
}

// Chmod sets permission bits; Chown sets the owner. Only root or the owner may.
func (f *FS) Chmod(p string, perm, uid uint32) error {
	return f.change(p, uid, func(n *node) { n.mode = n.mode&modeType | perm&0o7777 })
}

// Chown sets p's owner and group.
func (f *FS) Chown(p string, owner, group, uid uint32) error {
	if uid != RootUID {
		return syscall.EPERM
	}
	return f.change(p, uid, func(n *node) { n.uid, n.gid = owner, group })
}

// Touch sets p's mtime to now, creating an empty file if needed.
func (f *FS) Touch(p string, uid uint32) error {
	f.mu.Lock()
	_, err := f.lookup(p)
	f.mu.Unlock()
	if err == syscall.ENOENT {
		return f.WriteFile(p, nil, 0o644, uid, true)
	}
	if err != nil {
		return err
	}
	return f.change(p, uid, func(n *node) { n.mtime = f.now().Unix() })
}

func (f *FS) change(p string, uid uint32, fn func(*node)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	real, n, err := f.resolve(p, true)
	if err != nil {
		return err
	}
	if _, m := f.mountOf(real); m.readOnly {
		return syscall.EROFS
	}
	if n.gen != nil || (uid != RootUID && n.uid != uid) {
		return syscall.EPERM
	}
	fn(n)
	return nil
}

// Info is what stat and ls need about one entry.
type Info struct {
	Name  string
	Mode  uint32
	UID   uint32
	GID   uint32
	Size  int64
	Mtime int64
	Ino   uint64
	// Nlink is 2 for a directory and 1 otherwise: the simulated file
	// system has no hard links and does not count subdirectories (modeled).
	Nlink  uint32
	IsDir  bool
	IsLink bool
	// Target is a symlink's target as written.
	Target string
}

func (n *node) info(name string) Info {
	size, nlink := int64(len(n.data)), uint32(1)
	switch {
	case n.isDir():
		size, nlink = 4096, 2
	case n.isLink():
		size = int64(len(n.target)) // lstat(2) gives a link the length of its target
	}
	return Info{Name: name, Mode: n.mode, UID: n.uid, GID: n.gid, Size: size, Mtime: n.mtime, Ino: n.ino,
		Nlink: nlink, IsDir: n.isDir(), IsLink: n.isLink(), Target: n.target}
}

// StatInfo returns p's metadata, following symlinks (stat).
func (f *FS) StatInfo(p string) (Info, error) {
	return f.stat(p, true)
}

// LstatInfo returns p's metadata; a symlink is described itself (lstat).
func (f *FS) LstatInfo(p string) (Info, error) {
	return f.stat(p, false)
}

func (f *FS) stat(p string, follow bool) (Info, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, n, err := f.resolve(p, follow)
	if err != nil {
		return Info{}, err
	}
	return n.info(path.Base(Clean(p))), nil
}

// Symlink makes link a symbolic link holding target; target need not exist.
func (f *FS) Symlink(target, link string, uid uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, name, err := f.parent(link, uid)
	if err != nil {
		return err
	}
	if _, ok := d.children[name]; ok {
		return syscall.EEXIST
	}
	n := f.newNode(ModeSymlink|0o777, uid)
	n.target = target
	d.children[name] = n
	d.mtime = f.now().Unix()
	return nil
}

// Readlink returns the target a symlink holds; EINVAL if p is not one.
func (f *FS) Readlink(p string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, n, err := f.resolve(p, false)
	if err != nil {
		return "", err
	}
	if !n.isLink() {
		return "", syscall.EINVAL
	}
	return n.target, nil
}

// Realpath returns p with every symlink resolved, as realpath(3).
func (f *FS) Realpath(p string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	real, _, err := f.resolve(p, true)
	return real, err
}

// ReadDir lists a directory sorted by name.
func (f *FS) ReadDir(p string) ([]Info, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.lookup(p)
	if err != nil {
		return nil, err
	}
	if !n.isDir() {
		return nil, syscall.ENOTDIR
	}
	out := make([]Info, 0, len(n.children))
	for name, c := range n.children {
		out = append(out, c.info(name))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// MountTmpfs covers directory p with an empty writable tmpfs.
func (f *FS) MountTmpfs(p string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cover(p, "tmpfs", func() *node { return f.newNode(ModeDir|0o755, RootUID) })
}

// BindMount makes dst show the same directory as src; changes through one
// are seen through the other.
func (f *FS) BindMount(src, dst string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.lookup(src)
	if err != nil {
		return err
	}
	if !s.isDir() {
		return syscall.ENOTDIR
	}
	_, sm := f.mountOf(src)
	err = f.cover(dst, "bind", func() *node { return s })
	if err == nil {
		f.mounts[Clean(dst)].readOnly = sm.readOnly
	}
	return err
}

func (f *FS) cover(p, fstype string, fresh func() *node) error {
	p = Clean(p)
	if p == "/" {
		return syscall.EBUSY
	}
	old, err := f.lookup(p)
	if err != nil {
		return err
	}
	if !old.isDir() {
		return syscall.ENOTDIR
	}
	d, err := f.lookup(path.Dir(p))
	if err != nil {
		return err
	}
	d.children[path.Base(p)] = fresh()
	f.mounts[p] = &mount{fstype: fstype, covered: old, below: f.mounts[p]}
	return nil
}

// Unmount removes the mount at p, showing what it covered again.
func (f *FS) Unmount(p string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.unmount(Clean(p))
}

func (f *FS) unmount(p string) error {
	m, ok := f.mounts[p]
	if !ok || m.covered == nil {
		return syscall.EINVAL
	}
	d, err := f.lookup(path.Dir(p))
	if err != nil {
		return err
	}
	d.children[path.Base(p)] = m.covered
	if m.below != nil {
		f.mounts[p] = m.below
	} else {
		delete(f.mounts, p)
	}
	return nil
}

// Reboot undoes every mount made since boot, innermost first, and makes
// the boot mounts read-only again, as a restart does.
func (f *FS) Reboot() {
	f.mu.Lock()
	defer f.mu.Unlock()
	paths := make([]string, 0, len(f.mounts))
	for p := range f.mounts {
		paths = append(paths, p)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(paths)))
	for _, p := range paths {
		for f.mounts[p] != nil && f.mounts[p].covered != nil {
			_ = f.unmount(p)
		}
		if m := f.mounts[p]; m != nil {
			m.readOnly = m.bootRO
		}
	}
}

// Remount changes whether the mount at p is read-only.
func (f *FS) Remount(p string, readOnly bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.mounts[Clean(p)]
	if !ok {
		return syscall.EINVAL
	}
	m.readOnly = readOnly
	return nil
}

// Mount is one line of /proc/mounts.
type Mount struct {
	Path     string
	Type     string
	ReadOnly bool
}

// Mounts lists the mounts, sorted by path.
func (f *FS) Mounts() []Mount {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Mount, 0, len(f.mounts))
	for p, m := range f.mounts {
		out = append(out, Mount{Path: p, Type: m.fstype, ReadOnly: m.readOnly})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Create opens p for writing as uid; the file appears with mode and mtime
// when the writer is closed, as a sync SEND does.
func (f *FS) Create(p string, mode uint32, mtime int64, uid uint32) (io.WriteCloser, error) {
	f.mu.Lock()
	var err error
	if n, lerr := f.lookup(p); lerr == nil && n.isDir() {
		err = syscall.EISDIR
	} else {
		_, _, err = f.parent(p, uid)
	}
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return &pending{fs: f, path: p, mode: mode, mtime: mtime, uid: uid}, nil
}

// Open returns a reader over a snapshot of p's contents.
func (f *FS) Open(p string) (io.ReadCloser, error) {
	b, err := f.ReadFile(p)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

type pending struct {
	fs    *FS
	path  string
	mode  uint32
	mtime int64
	uid   uint32
	buf   bytes.Buffer
}

func (w *pending) Write(b []byte) (int, error) { return w.buf.Write(b) }

// SetMtime sets the mtime the file gets on Close (adb push sends it last).
func (w *pending) SetMtime(mtime int64) { w.mtime = mtime }

func (w *pending) Close() error {
	w.fs.mu.Lock()
	defer w.fs.mu.Unlock()
	perm := w.mode & 0o7777
	if perm == 0 {
		perm = 0o644
	}
	return w.fs.writeFile(w.path, w.buf.Bytes(), perm, w.uid, false, w.mtime)
}
