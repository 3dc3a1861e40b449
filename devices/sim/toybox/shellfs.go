package toybox

import (
	"context"
	"io"
	"io/fs"
	"os"
	"syscall"
	"time"

	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/vfs"
)

// Files is the phone's file system as the shell sees it: redirects, `.`,
// globbing, cd and test go through it, with the caller's identity from
// shell.UID. Wire it as shell.Shell.FS.
func Files(fsys *vfs.FS) shell.FS { return shellFS{fsys} }

type shellFS struct{ fs *vfs.FS }

func (s shellFS) Stat(_ context.Context, name string, follow bool) (fs.FileInfo, error) {
	stat := s.fs.LstatInfo
	if follow {
		stat = s.fs.StatInfo
	}
	i, err := stat(name)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	return fileInfo{i}, nil
}

func (s shellFS) ReadDir(_ context.Context, name string) ([]fs.DirEntry, error) {
	infos, err := s.fs.ReadDir(name)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	out := make([]fs.DirEntry, len(infos))
	for i, in := range infos {
		out[i] = fs.FileInfoToDirEntry(fileInfo{in})
	}
	return out, nil
}

// Open reads a snapshot of the file, or writes as a redirect does: the
// file is created (or emptied) at once and each write lands immediately,
// so a later command in the same script sees it.
func (s shellFS) Open(ctx context.Context, name string, flag int, perm fs.FileMode) (io.ReadWriteCloser, error) {
	if flag&(os.O_WRONLY|os.O_RDWR) == 0 {
		data, err := s.fs.ReadFile(name)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return &reader{data: data}, nil
	}
	uid := shell.UID(ctx)
	if err := s.fs.WriteFile(name, nil, uint32(perm.Perm()), uid, flag&os.O_TRUNC == 0); err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return &writer{fs: s.fs, path: name, perm: uint32(perm.Perm()), uid: uid}, nil
}

type reader struct {
	data []byte
	off  int
}

func (r *reader) Read(p []byte) (int, error) {
	if r.off >= len(r.data) {
		return 0, io.EOF
	}
	n := copy(p, r.data[r.off:])
	r.off += n
	return n, nil
}

func (r *reader) Write([]byte) (int, error) { return 0, syscall.EBADF }
func (r *reader) Close() error              { return nil }

// writer appends each write to the file (see Open).
type writer struct {
	fs   *vfs.FS
	path string
	perm uint32
	uid  uint32
}

func (w *writer) Read([]byte) (int, error) { return 0, syscall.EBADF }
func (w *writer) Close() error             { return nil }

func (w *writer) Write(p []byte) (int, error) {
	if err := w.fs.WriteFile(w.path, p, w.perm, w.uid, true); err != nil {
		return 0, err
	}
	return len(p), nil
}

// fileInfo is a vfs entry as io/fs describes one. Sys is a *syscall.Stat_t
// carrying the owner, which the shell's access checks read.
type fileInfo struct{ i vfs.Info }

func (f fileInfo) Name() string       { return f.i.Name }
func (f fileInfo) Size() int64        { return f.i.Size }
func (f fileInfo) ModTime() time.Time { return time.Unix(f.i.Mtime, 0) }
func (f fileInfo) IsDir() bool        { return f.i.IsDir }

func (f fileInfo) Mode() fs.FileMode {
	m := fs.FileMode(f.i.Mode & 0o777)
	switch {
	case f.i.IsDir:
		m |= fs.ModeDir
	case f.i.IsLink:
		m |= fs.ModeSymlink
	case f.i.Mode&0o170000 == vfs.ModeCharDev:
		m |= fs.ModeDevice | fs.ModeCharDevice
	}
	if f.i.Mode&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if f.i.Mode&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if f.i.Mode&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}

func (f fileInfo) Sys() any {
	return &syscall.Stat_t{Ino: f.i.Ino, Mode: f.i.Mode, Nlink: uint64(f.i.Nlink), Uid: f.i.UID, Gid: f.i.GID, Size: f.i.Size}
}
