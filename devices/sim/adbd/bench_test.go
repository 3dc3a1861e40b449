package adbd_test

import (
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"telltale.dev/devices/adb/wire"
)

// BenchmarkPush pushes a 64 MiB file with the real adb client through the
// real adb server into the phone, whose file system discards the data.
func BenchmarkPush(b *testing.B) {
	r := newRig(b)
	r.dev.fs.discard = true
	src := filepath.Join(b.TempDir(), "blob")
	data := make([]byte, 64<<20)
	rand.Read(data)
	if err := os.WriteFile(src, data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r.adb(b, "push", src, "/sdcard/blob")
	}
}

// BenchmarkShellRoundTrips runs `echo` over shell v2 from 8 concurrent
// host-protocol clients of the real adb server, one stream per command.
func BenchmarkShellRoundTrips(b *testing.B) {
	r := newRig(b)
	addr := "127.0.0.1:" + r.adbPort
	const workers = 8
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	b.ResetTimer()
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if err := hostShell(addr, r.serial, "echo ping"); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "shells/s")
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// hostShell runs one shell v2 command through the adb server's host
// protocol and checks its output, without spawning an adb process.
func hostShell(addr, serial, cmd string) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	for _, req := range []string{"host:transport:" + serial, "shell,v2,raw:" + cmd} {
		if _, err := fmt.Fprintf(c, "%04x%s", len(req), req); err != nil {
			return err
		}
		var status [4]byte
		if _, err := io.ReadFull(c, status[:]); err != nil || string(status[:]) != "OKAY" {
			return fmt.Errorf("%s: status %q, %v", req, status, err)
		}
	}
	var out []byte
	for {
		id, data, err := wire.ReadShellPacket(c)
		if err != nil {
			return fmt.Errorf("shell %q: %w", cmd, err)
		}
		switch id {
		case wire.ShellStdout:
			out = append(out, data...)
		case wire.ShellExit:
			if string(out) != "ping\n" || len(data) != 1 || data[0] != 0 {
				return fmt.Errorf("shell %q gave %q, exit %v", cmd, out, data)
			}
			return nil
		}
	}
}
