package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/adb/adbtest"
	"telltale.dev/devices/profiles"
)

func TestSimLists(t *testing.T) {
	t.Setenv(profiles.EnvDir, "")
	var out, errb bytes.Buffer
	if code := runSim(context.Background(), []string{"--list-models"}, &out, &errb); code != 0 {
		t.Fatalf("--list-models: exit %d: %s", code, errb.String())
	}
	for _, m := range []string{"redmi-note-8", "mi-9t", "mi-10", "mi-mix-3", "aosp-emulator"} {
		if !strings.Contains(out.String(), m+" ") {
			t.Errorf("--list-models lacks %s:\n%s", m, out.String())
		}
	}
	out.Reset()
	if code := runSim(context.Background(), []string{"--list-firmware", "--model", "mi-10"}, &out, &errb); code != 0 {
		t.Fatalf("--list-firmware: exit %d", code)
	}
	if got := strings.Count(out.String(), "mi-10 "); got != 3 || !strings.Contains(out.String(), "V12.5.1.0 ") {
		t.Errorf("--list-firmware:\n%s", out.String())
	}
}

func TestSimRefusesBadInput(t *testing.T) {
	t.Setenv(profiles.EnvDir, "")
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--listen", "127.0.0.1:5555"}, 2, "--allow-emulator-ports"},
		{[]string{"--listen", "127.0.0.1:5550", "--count", "8"}, 2, "5550-5557"},
		{[]string{"--count", "0"}, 2, "want 1-64"},
		{[]string{"--listen", "nohost"}, 2, "want HOST:PORT"},
		{[]string{"--model", "nokia-3310"}, 1, "no model \"nokia-3310\""},
		{[]string{"--firmware", "V99"}, 1, "no firmware \"V99\""},
		{[]string{"stray"}, 2, "unexpected argument"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		code := runSim(ctx, c.args, &out, &errb)
		cancel()
		if code != c.code || !strings.Contains(errb.String(), c.msg) || out.Len() != 0 {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit %d mentioning %q", c.args, code, errb.String(), out.String(), c.code, c.msg)
		}
	}
}

// freePortPair finds a port P with P and P+1 free.
func freePortPair(t *testing.T) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l2, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+1))
		l.Close()
		if err == nil {
			l2.Close()
			return p
		}
	}
	t.Fatal("no two consecutive free ports")
	return 0
}

// TestSimRunsPhonesOnAnAdbServer runs `telltale sim --count 2 --adb` and
// checks the real adb server sees both phones until the command is stopped.
func TestSimRunsPhonesOnAnAdbServer(t *testing.T) {
	t.Setenv(profiles.EnvDir, "")
	c := adbtest.StartServer(t)
	port := freePortPair(t)
	truth := filepath.Join(t.TempDir(), "truth.jsonl")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	var errb bytes.Buffer
	go func() {
		code := runSim(ctx, []string{"--model", "mi-mix-3", "--firmware", "V12.5.1.0", "--count", "2",
			"--listen", "127.0.0.1:" + strconv.Itoa(port), "--adb", c.Addr(), "--truth", truth}, pw, &errb)
		pw.Close()
		done <- code
	}()
	sc := bufio.NewScanner(pr)
	var serials []string
	for len(serials) < 2 && sc.Scan() {
		serials = append(serials, sc.Text())
	}
	go io.Copy(io.Discard, pr)
	want := []string{"127.0.0.1:" + strconv.Itoa(port), "127.0.0.1:" + strconv.Itoa(port+1)}
	if strings.Join(serials, ",") != strings.Join(want, ",") {
		t.Fatalf("serials %v, want %v (stderr %s)", serials, want, errb.String())
	}
	_, adbPort, _ := strings.Cut(c.Addr(), ":")
	for _, s := range serials {
		wctx, wcancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := c.Device(s).WaitForDevice(wctx)
		wcancel()
		if err != nil {
			t.Fatalf("%s never came online: %v", s, err)
		}
		out, err := exec.Command("adb", "-P", adbPort, "-s", s, "shell", "getprop ro.product.device; getprop ro.build.version.incremental; settings put global http_proxy :0").CombinedOutput()
		if err != nil || string(out) != "perseus\nV12.5.1.0.REEMIXM\n" {
			t.Errorf("%s: %v %q", s, err, out)
		}
	}
	// The phones have no proxy, so each event is logged as undelivered. A
	// screen lock reports (SystemUI's mistat); a shell's mkdir would not.
	out, err := exec.Command("adb", "-P", adbPort, "-s", serials[1], "shell", "input keyevent 26").CombinedOutput()
	if err != nil {
		t.Fatalf("lock: %v %s", err, out)
	}
	var rec struct {
		Serial, Event string
		Delivered     bool
		Values        map[string]string
	}
	deadline := time.Now().Add(10 * time.Second)
	for rec.Event != "screen_lock" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		b, _ := os.ReadFile(truth)
		for line := range strings.Lines(string(b)) {
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Event == "screen_lock" {
				break
			}
		}
	}
	if rec.Event != "screen_lock" || rec.Serial != serials[1] || rec.Delivered {
		t.Errorf("ground truth: %+v", rec)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("telltale sim exited %d after interrupt: %s", code, errb.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("telltale sim did not stop after interrupt")
	}
	if l, err := net.Listen("tcp", want[0]); err != nil {
		t.Errorf("port still held after exit: %v", err)
	} else {
		l.Close()
	}
}
