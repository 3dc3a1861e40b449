package adbd_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"telltale.dev/devices/adb/wire"
	"telltale.dev/devices/sim/adbd"
)

const testBanner = "device::ro.product.name=ginkgo;ro.product.model=Redmi Note 8;" +
	"ro.product.device=ginkgo;features=shell_v2,cmd,stat_v2"

// testDevice is the smallest phone the transport can be tested with: a
// handful of commands and an in-memory file system. The peer in these tests
// is the real adb server, so nothing about adb is faked here.
type testDevice struct {
	mu       sync.Mutex
	root     bool
	rebooted []string
	fs       *memFS
}

func newTestDevice() *testDevice {
	return &testDevice{fs: &memFS{
		files: map[string]*memFile{},
		dirs:  map[string]bool{"/": true, "/sdcard": true, "/data": true, "/data/local": true, "/data/local/tmp": true, "/system": true},
	}}
}

func (d *testDevice) Banner() string { return testBanner }
func (d *testDevice) FS() adbd.FS    { return d.fs }

func (d *testDevice) Root() (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.root {
		return "adbd is already running as root\n", false
	}
	d.root = true
	return "restarting adbd as root\n", true
}

func (d *testDevice) Reboot(target string) {
	d.mu.Lock()
	d.rebooted = append(d.rebooted, target)
	d.root = false
	d.mu.Unlock()
}

// Exec knows: echo ARGS, exit N, err MSG (stderr, exit 3), cat (stdin to
// stdout), id, sleep (until cancelled), big N (N bytes of output).
func (d *testDevice) Exec(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) int {
	name, args, _ := strings.Cut(cmd, " ")
	switch name {
	case "echo":
		fmt.Fprintln(stdout, args)
	case "exit":
		n, _ := strconv.Atoi(args)
		return n
	case "err":
		fmt.Fprintln(stderr, args)
		return 3
	case "cat":
		io.Copy(stdout, stdin)
	case "id":
		d.mu.Lock()
		root := d.root
		d.mu.Unlock()
		if root {
			fmt.Fprintln(stdout, "uid=0(root) gid=0(root)")
		} else {
			fmt.Fprintln(stdout, "uid=2000(shell) gid=2000(shell)")
		}
	case "sleep":
		<-ctx.Done()
		return 130
	case "big":
		n, _ := strconv.Atoi(args)
		stdout.Write(bytes.Repeat([]byte("x"), n))
	default:
		fmt.Fprintf(stderr, "/system/bin/sh: %s: not found\n", name)
		return 127
	}
	return 0
}

type memFile struct {
	data  []byte
	mode  uint32
	mtime int64
}

// memFS keeps files in a map. With discard set, written data is counted
// but not kept, for push benchmarks.
type memFS struct {
	mu      sync.Mutex
	files   map[string]*memFile
	dirs    map[string]bool
	discard bool
}

func (f *memFS) Stat(p string) (wire.Stat, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dirs[p] {
		return wire.Stat{Mode: syscall.S_IFDIR | 0o755, Nlink: 2}, nil
	}
	if file, ok := f.files[p]; ok {
		return wire.Stat{Mode: file.mode, Size: uint64(len(file.data)), Mtime: file.mtime, Nlink: 1}, nil
	}
	return wire.Stat{}, syscall.ENOENT
}

func (f *memFS) List(p string) ([]adbd.DirEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.dirs[p] {
		return nil, syscall.ENOENT
	}
	var out []adbd.DirEntry
	for name, file := range f.files {
		if path.Dir(name) == p {
			out = append(out, adbd.DirEntry{Name: path.Base(name), Stat: wire.Stat{Mode: file.mode, Size: uint64(len(file.data)), Mtime: file.mtime}})
		}
	}
	for dir := range f.dirs {
		if dir != "/" && path.Dir(dir) == p {
			out = append(out, adbd.DirEntry{Name: path.Base(dir), Stat: wire.Stat{Mode: syscall.S_IFDIR | 0o755}})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (f *memFS) Open(p string) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dirs[p] {
		return nil, syscall.EISDIR
	}
	file, ok := f.files[p]
	if !ok {
		return nil, syscall.ENOENT
	}
	return io.NopCloser(bytes.NewReader(file.data)), nil
}

func (f *memFS) Create(p string, mode uint32, mtime int64) (io.WriteCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if strings.HasPrefix(p, "/system/") {
		return nil, syscall.EROFS
	}
	if !f.dirs[path.Dir(p)] {
		return nil, syscall.ENOENT
	}
	if f.dirs[p] {
		return nil, syscall.EISDIR
	}
	return &memWriter{fs: f, path: p, file: &memFile{mode: mode, mtime: mtime}}, nil
}

func (f *memFS) get(p string) *memFile {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.files[p]
}

type memWriter struct {
	fs   *memFS
	path string
	file *memFile
	n    int64
}

func (w *memWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	if !w.fs.discard {
		w.file.data = append(w.file.data, p...)
	}
	return len(p), nil
}

func (w *memWriter) SetMtime(mtime int64) { w.file.mtime = mtime }

func (w *memWriter) Close() error {
	w.fs.mu.Lock()
	defer w.fs.mu.Unlock()
	w.fs.files[w.path] = w.file
	return nil
}
