package sim

import (
	"bytes"
	"context"
	"crypto/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"telltale.dev/devices/adb"
)

// BenchmarkPush64MiB pushes 64 MiB with telltale's adb client through the
// real adb server into the simulated phone's in-memory file system; the
// MB/s column is the push rate.
func BenchmarkPush64MiB(b *testing.B) {
	r := startConnected(b, Config{NoNoise: true})
	dev := r.server.Device(r.phone.Serial())
	data := make([]byte, 64<<20)
	rand.Read(data)
	const path = "/data/local/tmp/bench.bin"
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		err := dev.Push(ctx, bytes.NewReader(data), path, 0o644, time.Time{})
		cancel()
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := dev.Stat(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	if st.Size != int64(len(data)) {
		b.Fatalf("%s holds %d bytes after the push, want %d", path, st.Size, len(data))
	}
}

// BenchmarkShell8Streams runs `echo ok` on the simulated phone from 8
// concurrent streams through the real adb server; roundtrips/s counts
// completed commands across all streams.
func BenchmarkShell8Streams(b *testing.B) {
	const streams = 8
	r := startConnected(b, Config{NoNoise: true})
	dev := r.server.Device(r.phone.Serial())
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range streams {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				out, err := shellOnce(dev, "echo ok")
				if err != nil {
					b.Error(err)
					return
				}
				if string(out) != "ok\n" {
					b.Errorf("echo ok printed %q", out)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "roundtrips/s")
}

// BenchmarkUIAutomatorDump dumps the home screen to /dev/tty through the
// real adb server, as a UI driver does before every step; ns/op is the
// latency of one dump.
func BenchmarkUIAutomatorDump(b *testing.B) {
	r := startConnected(b, Config{NoNoise: true})
	dev := r.server.Device(r.phone.Serial())
	for b.Loop() {
		out, err := shellOnce(dev, "uiautomator dump /dev/tty")
		if err != nil {
			b.Fatal(err)
		}
		if !bytes.HasSuffix(out, []byte("</hierarchy>UI hierchary dumped to: /dev/tty\n")) {
			b.Fatalf("dump ends %q", out[max(0, len(out)-60):])
		}
	}
}

// shellOnce runs cmd through the adb server and returns its stdout, or an
// error for a failed stream or a non-zero exit.
func shellOnce(dev *adb.Device, cmd string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := dev.Shell(ctx, cmd)
	if err != nil {
		return nil, err
	}
	return res.Stdout, res.Err()
}
