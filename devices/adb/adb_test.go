package adb_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/adb"
	"telltale.dev/devices/adb/adbtest"
)

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestServerLifecycle(t *testing.T) {
	c := adbtest.StartServer(t)
	ctx := ctxT(t, 20*time.Second)
	v, err := c.ServerVersion(ctx)
	if err != nil || v != 41 {
		t.Fatalf("ServerVersion = %d, %v; want 41 (Debian adb 1.0.41)", v, err)
	}
	if err := c.StartServer(ctx); err != nil {
		t.Fatalf("StartServer on a running server: %v", err)
	}
	if err := c.KillServer(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ServerVersion(ctx); !errors.Is(err, adb.ErrServerUnavailable) {
		t.Fatalf("after KillServer: err = %v, want ErrServerUnavailable", err)
	}
	if err := c.StartServer(ctx); err != nil {
		t.Fatalf("StartServer after KillServer: %v", err)
	}
	if _, err := c.ServerVersion(ctx); err != nil {
		t.Fatalf("restarted server: %v", err)
	}
}

func TestServerUnavailable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	c := adb.New(adb.Server{Port: port})
	if c.Addr() != l.Addr().String() {
		t.Fatalf("Addr = %q, want %q", c.Addr(), l.Addr())
	}
	_, err = c.ListDevices(ctxT(t, 5*time.Second))
	if !errors.Is(err, adb.ErrServerUnavailable) || !strings.Contains(err.Error(), "apt-get install adb") {
		t.Fatalf("err = %v, want ErrServerUnavailable with an install hint", err)
	}
	remote := adb.New(adb.Server{Host: "192.0.2.1", Port: port})
	ctx, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	if err := remote.StartServer(ctx); err == nil {
		t.Fatal("StartServer for a non-local host succeeded")
	}
}

func TestNewDefaults(t *testing.T) {
	t.Setenv("ANDROID_ADB_SERVER_PORT", "15999")
	if got := adb.New(adb.Server{}).Addr(); got != "127.0.0.1:15999" {
		t.Fatalf("Addr with ANDROID_ADB_SERVER_PORT = %q", got)
	}
	t.Setenv("ANDROID_ADB_SERVER_PORT", "")
	if got := adb.New(adb.Server{}).Addr(); got != "127.0.0.1:5037" {
		t.Fatalf("default Addr = %q", got)
	}
	if got := adb.New(adb.Server{Host: "::1", Port: 1}).Addr(); got != "[::1]:1" {
		t.Fatalf("IPv6 Addr = %q", got)
	}
}

func TestDevices(t *testing.T) {
	p := startPhone(t, newTestDevice(t))
	ctx := ctxT(t, 20*time.Second)
	list, err := p.client.ListDevices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(list, func(d adb.DeviceInfo) bool { return d.Serial == p.Serial() })
	if i < 0 {
		t.Fatalf("ListDevices = %+v, missing %s", list, p.Serial())
	}
	d := list[i]
	if d.State != "device" || d.Model != "Redmi_Note_8" || d.Product != "ginkgo" || d.DeviceName != "ginkgo" || d.TransportID <= 0 {
		t.Fatalf("device info = %+v", d)
	}
	if st, err := p.State(ctx); err != nil || st != "device" {
		t.Fatalf("State = %q, %v", st, err)
	}
	feats, err := p.Features(ctx)
	if err != nil || !slices.Contains(feats, "shell_v2") || !slices.Contains(feats, "stat_v2") {
		t.Fatalf("Features = %v, %v", feats, err)
	}

	_, err = p.client.Device("nosuch").State(ctx)
	var se *adb.ServerError
	if !errors.Is(err, adb.ErrDeviceNotFound) || !errors.As(err, &se) || se.Msg != "device 'nosuch' not found" {
		t.Fatalf("State of a missing device: %v", err)
	}
	if _, err := p.client.Device("nosuch").Shell(ctx, "true"); !errors.Is(err, adb.ErrDeviceNotFound) {
		t.Fatalf("Shell on a missing device: %v", err)
	}
	if err := p.client.Connect(ctx, "127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "failed to connect") {
		t.Fatalf("Connect to a closed port: %v", err)
	}
	if err := p.client.Disconnect(ctx, "127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "no such device") {
		t.Fatalf("Disconnect of an unknown device: %v", err)
	}
	if err := p.client.Disconnect(ctx, p.Serial()); err != nil {
		t.Fatal(err)
	}
	if _, err := p.State(ctx); !errors.Is(err, adb.ErrDeviceNotFound) {
		t.Fatalf("State after Disconnect: %v", err)
	}
}

func TestShell(t *testing.T) {
	p := startPhone(t, newTestDevice(t))
	ctx := ctxT(t, 30*time.Second)
	r, err := p.Shell(ctx, "echo out; echo err >&2; exit 3")
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Stdout) != "out\n" || string(r.Stderr) != "err\n" || r.ExitCode != 3 || !r.ExitKnown {
		t.Fatalf("result = %+v", r)
	}
	var ee *adb.ExitError
	if !errors.As(r.Err(), &ee) || ee.Code != 3 || !strings.Contains(ee.Error(), "err") {
		t.Fatalf("Err = %v", r.Err())
	}
	if _, err := p.RunCommand(ctx, "false"); !errors.As(err, &ee) || ee.Code != 1 {
		t.Fatalf("RunCommand(false) = %v", err)
	}
	// A command that reads stdin must see EOF, not wait for input.
	if out, err := p.RunCommand(ctx, "cat; echo done"); err != nil || out != "done\n" {
		t.Fatalf("cat = %q, %v", out, err)
	}

	args := []string{"two words", "it's", `"dq"`, "a;reboot", "$HOME", "`id`", "$(id)", "back\\slash", "new\nline", "", "*", "~", "-n", "ünï"}
	out, err := p.RunCommand(ctx, "printf '%s|'", args...)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Join(args, "|") + "|"; out != want {
		t.Fatalf("args came back as %q, want %q", out, want)
	}

	big, err := p.RunCommand(ctx, "head -c 300000 /dev/zero | tr '\\0' x")
	if err != nil || len(big) != 300000 || strings.Trim(big, "x") != "" {
		t.Fatalf("300 kB of output: len %d, %v", len(big), err)
	}

	if v, err := p.GetProp(ctx, "ro.product.device"); err != nil || v != "ginkgo" {
		t.Fatalf("GetProp = %q, %v", v, err)
	}
	props, err := p.Properties(ctx)
	if err != nil || props["ro.product.model"] != "Redmi Note 8" || props["ro.miui.ui.version.name"] != "V11" || len(props) != len(p.dev.props) {
		t.Fatalf("Properties = %v, %v", props, err)
	}
}

func TestLegacyShell(t *testing.T) {
	dev := newTestDevice(t)
	dev.features = "cmd"
	p := startPhone(t, dev)
	ctx := ctxT(t, 20*time.Second)
	r, err := p.Shell(ctx, "echo out; echo err >&2; exit 3")
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitKnown || r.Err() != nil || string(r.Stdout) != "out\nerr\n" {
		t.Fatalf("legacy shell result = %+v", r)
	}
	// Without stat_v2 Stat falls back to STAT v1.
	if err := os.WriteFile(filepath.Join(dev.root, "f"), []byte("12345"), 0o640); err != nil {
		t.Fatal(err)
	}
	st, err := p.Stat(ctx, "/f")
	if err != nil || st.Size != 5 || st.Mode != 0o640 {
		t.Fatalf("STAT v1 = %+v, %v", st, err)
	}
	if _, err := p.Stat(ctx, "/missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("STAT v1 of a missing file: %v", err)
	}
}

func TestSync(t *testing.T) {
	dev := newTestDevice(t)
	p := startPhone(t, dev)
	ctx := ctxT(t, 30*time.Second)
	if err := os.Mkdir(filepath.Join(dev.root, "sdcard"), 0o755); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 1<<20+12345)
	rand.Read(data)
	mtime := time.Date(2020, 4, 30, 12, 0, 0, 0, time.UTC)
	var calls int
	var last [2]int64
	err := p.Push(ctx, bytes.NewReader(data), "/sdcard/blob.bin", 0o600, mtime, adb.WithProgress(func(done, total int64) {
		if done <= last[0] {
			t.Errorf("progress went from %d to %d", last[0], done)
		}
		calls++
		last = [2]int64{done, total}
	}))
	if err != nil {
		t.Fatal(err)
	}
	if calls < 2 || last != [2]int64{int64(len(data)), int64(len(data))} {
		t.Fatalf("push progress: %d calls, last %v", calls, last)
	}
	onDevice, err := os.ReadFile(filepath.Join(dev.root, "sdcard/blob.bin"))
	if err != nil || !bytes.Equal(onDevice, data) {
		t.Fatalf("pushed file differs (%d bytes, %v)", len(onDevice), err)
	}

	st, err := p.Stat(ctx, "/sdcard/blob.bin")
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != "blob.bin" || st.Size != int64(len(data)) || st.Mode != 0o600 || !st.ModTime.Equal(mtime) {
		t.Fatalf("Stat = %+v", st)
	}
	dir, err := p.Stat(ctx, "/sdcard")
	if err != nil || !dir.Mode.IsDir() {
		t.Fatalf("Stat dir = %+v, %v", dir, err)
	}

	ents, err := p.List(ctx, "/sdcard")
	if err != nil || len(ents) != 1 || ents[0].Name != "blob.bin" || ents[0].Size != int64(len(data)) || !ents[0].Mode.IsRegular() {
		t.Fatalf("List = %+v, %v", ents, err)
	}

	var got bytes.Buffer
	calls = 0
	if err := p.Pull(ctx, "/sdcard/blob.bin", &got, adb.WithProgress(func(done, total int64) { calls++; last = [2]int64{done, total} })); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), data) || calls == 0 || last != [2]int64{int64(len(data)), int64(len(data))} {
		t.Fatalf("pulled %d bytes (want %d), progress %d calls, last %v", got.Len(), len(data), calls, last)
	}

	// Unknown sizes are reported as -1.
	if err := p.Push(ctx, io.LimitReader(bytes.NewReader(data), 10), "/sdcard/small", 0o644, time.Time{}, adb.WithProgress(func(done, total int64) { last = [2]int64{done, total} })); err != nil || last != [2]int64{10, -1} {
		t.Fatalf("push of unknown size: %v, progress %v", err, last)
	}

	if err := p.Push(ctx, strings.NewReader("x"), "/sdcard/nomode", 0, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if st, err := p.Stat(ctx, "/sdcard/nomode"); err != nil || st.Mode != 0o644 || time.Since(st.ModTime) > time.Minute {
		t.Fatalf("push with zero mode and mtime: %+v, %v", st, err)
	}
	if _, err := p.Stat(ctx, "/sdcard/none"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat missing: %v", err)
	}
	if err := p.Pull(ctx, "/sdcard/none", io.Discard); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Pull missing: %v", err)
	}
	if _, err := p.List(ctx, "/nodir"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("List missing: %v", err)
	}
	err = p.Push(ctx, bytes.NewReader(data), "/nodir/x", 0o644, time.Time{})
	var se *adb.ServerError
	if !errors.As(err, &se) || se.Msg == "" {
		t.Fatalf("Push into a missing directory: %v, want the device's FAIL text", err)
	}
}

func TestInstall(t *testing.T) {
	dev := newTestDevice(t)
	p := startPhone(t, dev)
	ctx := ctxT(t, 30*time.Second)
	if err := os.MkdirAll(filepath.Join(dev.root, "data/local/tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good app.apk")
	bad := filepath.Join(dir, "bad.apk")
	os.WriteFile(good, []byte("PK\x03\x04 pretend apk"), 0o644)
	os.WriteFile(bad, []byte("FAIL INSTALL_FAILED_VERSION_DOWNGRADE: Downgrade detected"), 0o644)
	if err := p.Install(ctx, good); err != nil {
		t.Fatal(err)
	}
	err := p.Install(ctx, bad)
	var ie *adb.InstallError
	if !errors.As(err, &ie) || ie.Code != "INSTALL_FAILED_VERSION_DOWNGRADE" || ie.Message != "Downgrade detected" {
		t.Fatalf("Install bad = %v", err)
	}
	left, _ := os.ReadDir(filepath.Join(dev.root, "data/local/tmp"))
	if len(left) != 0 {
		t.Fatalf("staged APKs left behind: %v", left)
	}
	if err := p.Install(ctx, filepath.Join(dir, "absent.apk")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Install of a missing file: %v", err)
	}
	if err := p.Uninstall(ctx, "com.example.present"); err != nil {
		t.Fatal(err)
	}
	if err := p.Uninstall(ctx, "com.example.absent"); !errors.As(err, &ie) || ie.Code != "DELETE_FAILED_INTERNAL_ERROR" {
		t.Fatalf("Uninstall of a missing package = %v", err)
	}
}

func TestRoot(t *testing.T) {
	p := startPhone(t, newTestDevice(t))
	if err := p.Root(ctxT(t, 10*time.Second)); !errors.Is(err, adb.ErrRootNotAllowed) || !strings.Contains(err.Error(), "production builds") {
		t.Fatalf("Root = %v", err)
	}
	dev := newTestDevice(t)
	dev.rootMsg = "adbd is already running as root\n"
	if err := startPhone(t, dev).Root(ctxT(t, 10*time.Second)); err != nil {
		t.Fatalf("Root on a rooted build = %v", err)
	}
}

func TestReverseAndForward(t *testing.T) {
	p := startPhone(t, newTestDevice(t))
	ctx := ctxT(t, 20*time.Second)

	// A host service the phone reaches through the reverse tunnel.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()
	hostPort := "tcp:" + strings.TrimPrefix(l.Addr().String(), "127.0.0.1:")
	if err := p.Reverse(ctx, "tcp:8080", hostPort); err != nil {
		t.Fatal(err)
	}
	if err := p.Reverse(ctx, "tcp:8081", hostPort); err != nil {
		t.Fatal(err)
	}
	rules, err := p.ReverseList(ctx)
	if err != nil || len(rules) != 2 || rules[0].Local != "tcp:8080" || rules[0].Remote != hostPort {
		t.Fatalf("ReverseList = %+v, %v", rules, err)
	}
	conn, err := p.srv.DialReverse(ctx, "tcp:8080")
	if err != nil {
		t.Fatal(err)
	}
	conn.Write([]byte("ping"))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo through reverse = %q, %v", buf, err)
	}
	conn.Close()
	if err := p.ReverseRemove(ctx, "tcp:8080"); err != nil {
		t.Fatal(err)
	}
	if err := p.ReverseRemove(ctx, "tcp:8080"); err == nil {
		t.Fatal("removing a removed reverse rule succeeded")
	}
	if err := p.ReverseRemoveAll(ctx); err != nil {
		t.Fatal(err)
	}
	if rules, err := p.ReverseList(ctx); err != nil || len(rules) != 0 {
		t.Fatalf("after ReverseRemoveAll: %+v, %v", rules, err)
	}

	fl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	local := "tcp:" + strings.TrimPrefix(fl.Addr().String(), "127.0.0.1:")
	fl.Close()
	if err := p.Forward(ctx, local, "tcp:9000"); err != nil {
		t.Fatal(err)
	}
	fwd, err := p.ForwardList(ctx)
	if err != nil || len(fwd) != 1 || fwd[0] != (adb.ForwardRule{Serial: p.Serial(), Local: local, Remote: "tcp:9000"}) {
		t.Fatalf("ForwardList = %+v, %v", fwd, err)
	}
	if err := p.ForwardRemove(ctx, "tcp:1"); err == nil {
		t.Fatal("removing an unknown forward succeeded")
	}
	if err := p.ForwardRemoveAll(ctx); err != nil {
		t.Fatal(err)
	}
	if fwd, err := p.ForwardList(ctx); err != nil || len(fwd) != 0 {
		t.Fatalf("after ForwardRemoveAll: %+v, %v", fwd, err)
	}
}

func TestWatchDevices(t *testing.T) {
	dev := newTestDevice(t)
	p := startPhone(t, dev)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ch, err := p.client.WatchDevices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, ch, 20*time.Second); ev.Serial != p.Serial() || ev.OldState != "" || ev.NewState != "device" || ev.Info.Model != "Redmi_Note_8" {
		t.Fatalf("first event = %+v", ev)
	}
	if err := p.client.Disconnect(ctx, p.Serial()); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, ch, 20*time.Second); ev.Serial != p.Serial() || ev.OldState != "device" || ev.NewState != "" {
		t.Fatalf("event after disconnect = %+v", ev)
	}
	cancel()
	for range ch {
	}
}

// A phone whose adbd goes away is reported, although adb 29 marks such a
// TCP device offline without a word to its trackers.
func TestWatchDevicesPhoneGone(t *testing.T) {
	p := startPhone(t, newTestDevice(t))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ch, err := p.client.WatchDevices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, ch, 5*time.Second); ev.Serial != p.Serial() || ev.NewState != "device" {
		t.Fatalf("first event = %+v", ev)
	}
	if err := p.srv.Close(); err != nil {
		t.Fatal(err)
	}
	ev := nextEvent(t, ch, 5*time.Second)
	if ev.Serial != p.Serial() || ev.OldState != "device" || (ev.NewState != "offline" && ev.NewState != "") {
		t.Fatalf("event after the phone closed = %+v, want device -> offline or gone", ev)
	}
	cancel()
	for range ch {
	}
}

// nextEvent waits up to within for the watch's next event.
func nextEvent(t *testing.T, ch <-chan adb.DeviceEvent, within time.Duration) adb.DeviceEvent {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed early")
		}
		return ev
	case <-time.After(within):
		t.Fatalf("no device event within %v", within)
	}
	return adb.DeviceEvent{}
}

// A device that never answers must not hold a call past its deadline.
func TestDeadlines(t *testing.T) {
	dev := newTestDevice(t)
	stall := make(chan struct{})
	defer close(stall)
	dev.exec = func(ctx context.Context, cmd string, _, _ io.Writer) (int, bool) {
		if cmd != "sleep forever" {
			return 0, false
		}
		select {
		case <-stall:
		case <-ctx.Done():
		}
		return 0, true
	}
	dev.create = func(path string, w io.WriteCloser) io.WriteCloser {
		if path == "/stall" {
			<-stall
		}
		return w
	}
	p := startPhone(t, dev)
	check := func(name string, call func(ctx context.Context) error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := call(ctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: err = %v, want context.DeadlineExceeded", name, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s returned %v after its 300ms deadline", name, d)
		}
	}
	check("Shell", func(ctx context.Context) error { _, err := p.Shell(ctx, "sleep forever"); return err })
	check("Push", func(ctx context.Context) error {
		return p.Push(ctx, bytes.NewReader(make([]byte, 8<<20)), "/stall", 0o644, time.Time{})
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	if _, err := p.Shell(ctx, "sleep forever"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Shell: %v", err)
	}
}

// A phone that drops off the bus mid-transfer ends the transfer with an
// error, without relying on a deadline.
func TestDeviceVanishes(t *testing.T) {
	dev := newTestDevice(t)
	var p *phone
	dev.create = func(path string, w io.WriteCloser) io.WriteCloser {
		return &vanishingWriter{WriteCloser: w, after: 1 << 20, vanish: func() { go p.srv.Close() }}
	}
	p = startPhone(t, dev)
	start := time.Now()
	err := p.Push(context.Background(), bytes.NewReader(make([]byte, 32<<20)), "/big", 0o644, time.Time{})
	if err == nil {
		t.Fatal("Push to a vanished device succeeded")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("Push took %v to notice the device was gone", d)
	}
	t.Logf("push error: %v", err)
}

type vanishingWriter struct {
	io.WriteCloser
	n, after int
	vanish   func()
}

func (v *vanishingWriter) Write(p []byte) (int, error) {
	v.n += len(p)
	if v.n > v.after && v.vanish != nil {
		v.vanish()
		v.vanish = nil
	}
	return v.WriteCloser.Write(p)
}
