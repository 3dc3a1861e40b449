package adb_test

import (
	"context"
	"crypto/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

const benchSize = 64 << 20

// cli runs the adb command line against the phone's test server.
func (p *phone) cli(b *testing.B, args ...string) {
	b.Helper()
	_, port, err := net.SplitHostPort(p.client.Addr())
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command("adb", append([]string{"-P", port, "-s", p.Serial()}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("adb %v: %v: %s", args, err, out)
	}
}

func benchFile(b *testing.B) string {
	name := filepath.Join(b.TempDir(), "blob.bin")
	data := make([]byte, benchSize)
	rand.Read(data)
	if err := os.WriteFile(name, data, 0o644); err != nil {
		b.Fatal(err)
	}
	return name
}

// timed runs f and returns how long it took.
func timed(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}

// both runs ours and theirs once each, swapping the order every iteration
// so neither always runs on a warmer cache, and adds up their times.
func both(i int, ours, theirs *time.Duration, o, t func()) {
	if i%2 == 0 {
		*ours += timed(o)
		*theirs += timed(t)
		return
	}
	*theirs += timed(t)
	*ours += timed(o)
}

// reportRates reports both tools' throughput over the same run and our
// speed relative to the adb command line (>1 means we are faster).
func reportRates(b *testing.B, bytesPer int64, ours, theirs time.Duration) {
	mb := float64(bytesPer) * float64(b.N) / 1e6
	b.ReportMetric(mb/ours.Seconds(), "ours-MB/s")
	b.ReportMetric(mb/theirs.Seconds(), "adb-MB/s")
	b.ReportMetric(theirs.Seconds()/ours.Seconds(), "ratio")
}

// BenchmarkPush64MiB pushes the same 64 MiB file with our client and with
// `adb push`, alternately, to the same simulated phone through the same server.
func BenchmarkPush64MiB(b *testing.B) {
	p := startPhone(b, newTestDevice(b))
	local := benchFile(b)
	ctx := context.Background()
	var ours, theirs time.Duration
	for i := 0; b.Loop(); i++ {
		both(i, &ours, &theirs, func() {
			f, err := os.Open(local)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			if err := p.Push(ctx, f, "/ours.bin", 0o644, time.Time{}); err != nil {
				b.Fatal(err)
			}
		}, func() { p.cli(b, "push", local, "/cli.bin") })
	}
	reportRates(b, benchSize, ours, theirs)
}

// BenchmarkPull64MiB pulls a 64 MiB file into a host file with our client
// and with `adb pull`.
func BenchmarkPull64MiB(b *testing.B) {
	dev := newTestDevice(b)
	p := startPhone(b, dev)
	local := benchFile(b)
	if err := os.Rename(local, filepath.Join(dev.root, "blob.bin")); err != nil {
		b.Fatal(err)
	}
	dst := filepath.Join(b.TempDir(), "copy.bin")
	ctx := context.Background()
	var ours, theirs time.Duration
	for i := 0; b.Loop(); i++ {
		both(i, &ours, &theirs, func() {
			f, err := os.Create(dst)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			if err := p.Pull(ctx, "/blob.bin", f); err != nil {
				b.Fatal(err)
			}
		}, func() { p.cli(b, "pull", "/blob.bin", dst) })
	}
	reportRates(b, benchSize, ours, theirs)
}

// BenchmarkShell100 runs 100 sequential `true` commands in-process, then as
// 100 `adb shell true` processes.
func BenchmarkShell100(b *testing.B) {
	p := startPhone(b, newTestDevice(b))
	ctx := context.Background()
	var ours, theirs time.Duration
	for i := 0; b.Loop(); i++ {
		both(i, &ours, &theirs, func() {
			for range 100 {
				if _, err := p.RunCommand(ctx, "true"); err != nil {
					b.Fatal(err)
				}
			}
		}, func() {
			for range 100 {
				p.cli(b, "shell", "true")
			}
		})
	}
	n := float64(b.N)
	b.ReportMetric(ours.Seconds()*1e3/n, "ours-ms/100")
	b.ReportMetric(theirs.Seconds()*1e3/n, "adb-ms/100")
	b.ReportMetric(theirs.Seconds()/ours.Seconds(), "ratio")
}
