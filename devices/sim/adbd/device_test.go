package adbd_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"io"
	"net"
	"path"
	"slices"
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
	banner   string
	screen   image.Image
	// sockets are what listens on the phone, by socket spec: each dial
	// hands the handler the phone's end of a new connection.
	sockets map[string]func(net.Conn)
	// cmds logs the cmd invocations Exec ran, with the stdin bytes read.
	cmds []string
}

func newTestDevice() *testDevice {
	return &testDevice{
		fs: &memFS{
			files: map[string]*memFile{},
			dirs:  map[string]bool{"/": true, "/sdcard": true, "/data": true, "/data/local": true, "/data/local/tmp": true, "/system": true},
		},
		banner:  testBanner,
		screen:  testScreen(),
		sockets: map[string]func(net.Conn){},
	}
}

// testScreen is an odd-sized picture with every channel varying, so a
// swapped channel or a wrong stride shows.
func testScreen() image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, 37, 23))
	for y := range 23 {
		for x := range 37 {
			img.SetNRGBA(x, y, color.NRGBA{R: uint8(7 * x), G: uint8(11 * y), B: uint8(x * y), A: 255})
		}
	}
	return img
}

func (d *testDevice) Banner() string { return d.banner }

func (d *testDevice) Screenshot(ctx context.Context) (image.Image, error) { return d.screen, nil }

// listen makes spec a socket on the phone served by handler.
func (d *testDevice) listen(spec string, handler func(net.Conn)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sockets[spec] = handler
}

func (d *testDevice) DialSocket(ctx context.Context, spec string) (net.Conn, error) {
	d.mu.Lock()
	handler, ok := d.sockets[spec]
	d.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("connect %s: %w", spec, syscall.ECONNREFUSED)
	}
	phone, host := net.Pipe()
	go handler(phone)
	return host, nil
}

func (d *testDevice) commands() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.cmds)
}
func (d *testDevice) FS() adbd.FS { return d.fs }

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
// stdout), id, sleep (until cancelled), big N (N bytes of output), and cmd
// (logged; with -S N it reads N bytes of stdin and prints Success, the
// way `cmd package install -S N` ends).
func (d *testDevice) Exec(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) int {
	name, args, _ := strings.Cut(cmd, " ")
	switch name {
	case "cmd":
		fields := strings.Fields(strings.ReplaceAll(args, "'", ""))
		var n int64
		if i := slices.Index(fields, "-S"); i >= 0 && i+1 < len(fields) {
			n, _ = strconv.ParseInt(fields[i+1], 10, 64)
		}
		got, _ := io.Copy(io.Discard, io.LimitReader(stdin, n))
		d.mu.Lock()
		d.cmds = append(d.cmds, fmt.Sprintf("%s <%d bytes>", cmd, got))
		d.mu.Unlock()
		fmt.Fprintln(stdout, "Success")
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
