// Package mitmdumptest records real mitmproxy dumps for tests, with Debian's
// mitmdump, and writes synthetic ones in the same format for benchmarks and
// for flow-format versions the installed mitmproxy does not write.
package mitmdumptest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Proxy is a running mitmdump that records every flow to Dump.
type Proxy struct {
	Addr   string // 127.0.0.1:PORT, an HTTP proxy (regular mode)
	CAFile string // the CA mitmdump signs with, PEM, for clients to trust
	Dump   string // the file mitmdump -w writes

	cmd     *exec.Cmd
	done    chan error
	mu      sync.Mutex
	out     strings.Builder
	changed chan struct{} // closed and replaced on each line of output
}

// startTimeout covers a cold Python start on a loaded 2-core machine.
const startTimeout = 90 * time.Second

var listening = regexp.MustCompile(`listening at (?:http://)?127\.0\.0\.1:(\d+)`)

// Start runs mitmdump on a free loopback port, recording to a file in a
// test temp dir, with its own configuration directory (so its CA is fresh
// and private to the test). extra is appended to the command line, e.g.
// "--ssl-insecure" to accept a test upstream's self-signed certificate.
func Start(t testing.TB, extra ...string) *Proxy {
	t.Helper()
	bin, err := exec.LookPath("mitmdump")
	if err != nil {
		t.Fatal("mitmdump is not installed; run make deps (Debian package mitmproxy)")
	}
	dir := t.TempDir()
	p := &Proxy{Dump: filepath.Join(dir, "flows.mitm"), CAFile: filepath.Join(dir, "conf", "mitmproxy-ca-cert.pem"), done: make(chan error, 1), changed: make(chan struct{})}
	args := append([]string{"--listen-host", "127.0.0.1", "--listen-port", "0", "-w", p.Dump,
		"--set", "confdir=" + filepath.Join(dir, "conf")}, extra...)
	p.cmd = exec.Command(bin, args...)
	// Python buffers a pipe; the "listening" line must arrive when printed.
	p.cmd.Env = append(os.Environ(), "PYTHONUNBUFFERED=1")
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start mitmdump: %v", err)
	}
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			close(p.changed)
			p.changed = make(chan struct{})
			p.mu.Unlock()
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case port <- m[1]:
				default:
				}
			}
		}
		p.done <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	select {
	case pt := <-port:
		p.Addr = "127.0.0.1:" + pt
	case err := <-p.done:
		p.done <- err
		t.Fatalf("mitmdump exited before listening (%v):\n%s", err, p.Output())
	case <-time.After(startTimeout):
		t.Fatalf("mitmdump did not listen within %v:\n%s", startTimeout, p.Output())
	}
	if _, err := os.Stat(p.CAFile); err != nil {
		t.Fatalf("mitmdump listens but wrote no CA: %v", err)
	}
	return p
}

// Output is what mitmdump printed so far: its log of every flow.
func (p *Proxy) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// Stop interrupts mitmdump as a user's Ctrl-C would, which makes it flush
// and close the dump, and waits for it to exit. It returns the dump's path.
func (p *Proxy) Stop(t testing.TB) string {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatalf("interrupt mitmdump: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	select {
	case err := <-p.done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("mitmdump: %v", err)
		}
	case <-ctx.Done():
		p.cmd.Process.Kill()
		t.Fatalf("mitmdump did not exit within %v of SIGINT:\n%s", startTimeout, p.Output())
	}
	if _, err := os.Stat(p.Dump); err != nil {
		t.Fatalf("mitmdump wrote no dump: %v\n%s", err, p.Output())
	}
	return p.Dump
}

// String names the proxy for messages.
func (p *Proxy) String() string { return fmt.Sprintf("mitmdump at %s writing %s", p.Addr, p.Dump) }
