//go:build soak

package adbd_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"telltale.dev/devices/sim/adbd"
)

// TestSoak mixes pushes, pulls, shells, reverse connections and malformed
// raw clients against one phone behind the real adb server for
// SOAK_DURATION (default 60s), then checks every goroutine of the phone is
// gone after Close. Run: go test -tags soak -run Soak ./devices/sim/adbd/
func TestSoak(t *testing.T) {
	duration := time.Minute
	if d, err := time.ParseDuration(os.Getenv("SOAK_DURATION")); err == nil {
		duration = d
	}
	before := runtime.NumGoroutine()
	r := newRig(t)
	hostPort := echoListener(t)
	r.adb(t, "reverse", "tcp:8080", "tcp:"+hostPort)
	src := filepath.Join(t.TempDir(), "blob")
	blob := make([]byte, 1<<20)
	rand.Read(blob)
	os.WriteFile(src, blob, 0o644)

	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[string]int{}
	worker := func(name string, step func(i int) error) {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				if err := step(i); err != nil {
					t.Errorf("%s #%d: %v", name, i, err)
					return
				}
				mu.Lock()
				counts[name]++
				mu.Unlock()
			}
		})
	}
	for w := range 2 {
		worker(fmt.Sprint("push-pull-", w), func(i int) error {
			dst := fmt.Sprintf("/sdcard/soak-%d", w)
			if out, err := runADB(r.adbPort, 30*time.Second, nil, "-s", r.serial, "push", src, dst); err != nil {
				return fmt.Errorf("push: %v: %s", err, out)
			}
			back := filepath.Join(t.TempDir(), "back")
			if out, err := runADB(r.adbPort, 30*time.Second, nil, "-s", r.serial, "pull", dst, back); err != nil {
				return fmt.Errorf("pull: %v: %s", err, out)
			}
			return nil
		})
	}
	for w := range 4 {
		worker(fmt.Sprint("shell-", w), func(i int) error {
			return hostShell("127.0.0.1:"+r.adbPort, r.serial, "echo ping")
		})
	}
	for w := range 2 {
		worker(fmt.Sprint("reverse-", w), func(i int) error {
			return echoThrough(r.srv, "tcp:8080", []byte(fmt.Sprint("soak ", w, " ", i)))
		})
	}
	worker("malformed", func(i int) error {
		nc, err := net.DialTimeout("tcp", r.serial, 5*time.Second)
		if err != nil {
			return err
		}
		c := &rawConn{Conn: nc} // no *testing.T: this runs off the test goroutine
		defer c.Close()
		c.Write(adbd.EncodePacket(adbd.CmdCNXN, 0x01000001, 1<<20, []byte("host::")))
		c.Write(header(adbd.CmdOPEN, 1, 0, 0, 0, uint32(i)))
		if !c.closedByPeer() {
			return fmt.Errorf("bad magic did not close the connection")
		}
		time.Sleep(50 * time.Millisecond)
		return nil
	})
	wg.Wait()
	t.Logf("completed: %v", counts)

	r.srv.Close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+5 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+5 {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}
