package adbd_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/draw"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/sim/adbd"
)

// openService opens a device service through the adb server's host
// protocol, the way ddmlib and our client do: host:transport:SERIAL, then
// the service, each answered OKAY or FAIL with a message.
func (r *rig) openService(t *testing.T, service string) (net.Conn, error) {
	t.Helper()
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+r.adbPort, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	for _, req := range []string{"host:transport:" + r.serial, service} {
		if _, err := fmt.Fprintf(c, "%04x%s", len(req), req); err != nil {
			t.Fatal(err)
		}
		status := make([]byte, 4)
		if _, err := io.ReadFull(c, status); err != nil {
			t.Fatalf("%s: reading the status: %v", req, err)
		}
		if string(status) == "OKAY" {
			continue
		}
		msg, _ := readLengthPrefixed(c)
		return nil, fmt.Errorf("%s: %s %s", req, status, msg)
	}
	return c, nil
}

func readLengthPrefixed(r io.Reader) (string, error) {
	n := make([]byte, 4)
	if _, err := io.ReadFull(r, n); err != nil {
		return "", err
	}
	size, err := strconv.ParseUint(string(n), 16, 16)
	if err != nil {
		return "", err
	}
	b := make([]byte, size)
	_, err = io.ReadFull(r, b)
	return string(b), err
}

// fbHeader is AOSP's struct fbinfo, version 2.
type fbHeader struct {
	Version, BPP, ColorSpace, Size, Width, Height        uint32
	RedOff, RedLen, BlueOff, BlueLen, GreenOff, GreenLen uint32
	AlphaOff, AlphaLen                                   uint32
}

func TestFramebufferSendsTheScreen(t *testing.T) {
	r := newRig(t)
	c, err := r.openService(t, "framebuffer:")
	if err != nil {
		t.Fatal(err)
	}
	var h fbHeader
	if err := binary.Read(c, binary.LittleEndian, &h); err != nil {
		t.Fatalf("reading the header: %v\n%s", err, r.logs)
	}
	want := fbHeader{Version: 2, BPP: 32, ColorSpace: 1, Size: 37 * 23 * 4, Width: 37, Height: 23,
		RedOff: 0, RedLen: 8, BlueOff: 16, BlueLen: 8, GreenOff: 8, GreenLen: 8, AlphaOff: 24, AlphaLen: 8}
	if h != want {
		t.Fatalf("header %+v\nwant   %+v", h, want)
	}
	// ddmlib writes one byte after the header, a nudge old adbd waited for.
	c.Write([]byte{0})
	pix, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	screen := image.NewNRGBA(r.dev.screen.Bounds())
	draw.Draw(screen, screen.Rect, r.dev.screen, image.Point{}, draw.Src)
	if !bytes.Equal(pix, screen.Pix) {
		t.Errorf("pixels differ from the screen (%d bytes, want %d)", len(pix), len(screen.Pix))
	}
}

// noDisplay is the test phone without a screen to capture.
type noDisplay struct{ *testDevice }

func (noDisplay) Screenshot() {} // hides testDevice's, so noDisplay is no adbd.Display

func TestFramebufferWithoutADisplayEndsAtOnce(t *testing.T) {
	dev := newTestDevice()
	var served adbd.Device = noDisplay{dev}
	if _, ok := served.(adbd.Display); ok {
		t.Fatal("noDisplay still implements Display")
	}
	r := newRigServing(t, dev, served)
	c, err := r.openService(t, "framebuffer:")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(c); err != nil || len(b) != 0 {
		t.Errorf("framebuffer: without a display sent %d bytes, %v; want an empty stream, as adbd when screencap fails", len(b), err)
	}
}

// echo serves a phone socket: a greeting, then everything back.
func echo(greeting string) func(net.Conn) {
	return func(c net.Conn) {
		defer c.Close()
		io.WriteString(c, greeting)
		io.Copy(c, c)
	}
}

func TestForwardReachesAPhoneSocket(t *testing.T) {
	r := newRig(t)
	greetings := map[string]string{"tcp:8080": "tcp\n", "localabstract:chrome_devtools_remote": "abstract\n"}
	for spec, greeting := range greetings {
		r.dev.listen(spec, echo(greeting))
	}
	for remote, want := range greetings {
		local := "tcp:" + freePort(t)
		r.adb(t, "forward", local, remote)
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strings.TrimPrefix(local, "tcp:"), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		br := bufio.NewReader(c)
		if greeting, err := br.ReadString('\n'); err != nil || greeting != want {
			t.Errorf("%s: greeting %q, %v; want %q", remote, greeting, err, want)
		}
		msg := bytes.Repeat([]byte("through adb forward "), 10000) // larger than one adb payload
		go c.Write(msg)
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(br, got); err != nil || !bytes.Equal(got, msg) {
			t.Errorf("%s: echo of %d bytes: %v", remote, len(msg), err)
		}
		c.Close()
	}
	if out := r.adb(t, "forward", "--list"); !strings.Contains(out, "tcp:8080") {
		t.Errorf("adb forward --list = %q", out)
	}
}

func TestForwardToAPortNothingListensOnIsRefused(t *testing.T) {
	r := newRig(t)
	// Through the host protocol the refusal is the server's FAIL.
	if c, err := r.openService(t, "tcp:9"); err == nil {
		c.Close()
		t.Fatal("opening tcp:9, where nothing listens, succeeded")
	} else if !strings.Contains(err.Error(), "FAIL") {
		t.Errorf("refusal: %v", err)
	}
	// Through adb forward, the host's connection is closed without data.
	port := freePort(t)
	r.adb(t, "forward", "tcp:"+port, "tcp:9")
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if b, err := io.ReadAll(c); len(b) != 0 || err != nil {
		t.Errorf("forward to a closed port gave %q, %v; want the connection closed", b, err)
	}
}

func TestJDWP(t *testing.T) {
	r := newRig(t)
	// `adb jdwp` lists debuggable processes and ends: none on this phone.
	if out := r.adb(t, "jdwp"); out != "" {
		t.Errorf("adb jdwp printed %q, want nothing", out)
	}
	c, err := r.openService(t, "track-jdwp")
	if err != nil {
		t.Fatal(err)
	}
	if list, err := readLengthPrefixed(c); err != nil || list != "" {
		t.Fatalf("track-jdwp first update %q, %v; want the empty list", list, err)
	}
	// The tracker stays open for later updates: a shell round trip on the
	// same transport later, it has neither sent more nor closed. (A read
	// past a deadline in the past never looks at the socket, so give it a
	// moment: an end already delivered is returned at once.)
	r.adb(t, "shell", "echo", "later")
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, err := c.Read(make([]byte, 1)); n != 0 || !os.IsTimeout(err) {
		t.Errorf("track-jdwp after the first update: %d bytes, %v; want it open and quiet", n, err)
	}
	if _, err := r.openService(t, "jdwp:1234"); err == nil {
		t.Error("jdwp:1234 opened; there is no such debuggable process")
	}
}

// With abb_exec in the banner, as Android 10's adbd advertises, adb 29
// installs through it; without, through exec:cmd. Both reach the phone's
// `cmd package install -S SIZE` with the APK on stdin.
func TestInstallStreamsThroughCmdOrAbbExec(t *testing.T) {
	apkPath := filepath.Join(t.TempDir(), "app.apk")
	data := bytes.Repeat([]byte("apk"), 100000)
	if err := os.WriteFile(apkPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	size := strconv.Itoa(len(data))
	for _, tc := range []struct {
		features, want string
	}{
		{"shell_v2,cmd,stat_v2", "cmd package 'install' -S " + size + " <" + size + " bytes>"},
		{"shell_v2,cmd,stat_v2,abb_exec", "cmd 'package' 'install' '-S' '" + size + "' <" + size + " bytes>"},
	} {
		dev := newTestDevice()
		dev.banner = strings.Replace(testBanner, "features=shell_v2,cmd,stat_v2", "features="+tc.features, 1)
		r := newRigServing(t, dev, dev)
		if out := r.adb(t, "install", apkPath); !strings.Contains(out, "Success") {
			t.Errorf("%s: adb install printed %q", tc.features, out)
		}
		if got := dev.commands(); len(got) != 1 || got[0] != tc.want {
			t.Errorf("%s: the phone ran %q, want %q", tc.features, got, tc.want)
		}
	}
}

func BenchmarkFramebuffer1080x2340(b *testing.B) {
	r := newRig(b)
	img := image.NewNRGBA(image.Rect(0, 0, 1080, 2340))
	r.dev.screen = img
	b.SetBytes(int64(len(img.Pix)))
	for b.Loop() {
		c, err := net.Dial("tcp", "127.0.0.1:"+r.adbPort)
		if err != nil {
			b.Fatal(err)
		}
		for _, req := range []string{"host:transport:" + r.serial, "framebuffer:"} {
			fmt.Fprintf(c, "%04x%s", len(req), req)
			status := make([]byte, 4)
			if _, err := io.ReadFull(c, status); err != nil || string(status) != "OKAY" {
				b.Fatalf("%s: %s %v", req, status, err)
			}
		}
		n, err := io.Copy(io.Discard, c)
		c.Close()
		if err != nil || n != int64(fbHeaderBytes+len(img.Pix)) {
			b.Fatalf("read %d bytes, %v", n, err)
		}
	}
}

const fbHeaderBytes = 14 * 4
