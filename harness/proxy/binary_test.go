package proxy

import (
	"bytes"
	"context"
	"crypto/x509"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"telltale.dev/harness/ca"
	"telltale.dev/harness/capture"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// The real telltale binary, killed with SIGKILL mid-load, loses no flow
// whose response a client completed.
func TestBinaryKill9LosesNoCompletedFlow(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p := startProcess(ctx, t)
	killMidLoad(t, p.proxyAddr, p.root(t), func() {
		p.cmd.Process.Kill()
		<-p.exited
	}, func() ([]capture.Flow, error) { return capture.ReadFile(p.logPath) })
	logPath := p.logPath

	// telltale har turns the log the crash left into a HAR holding the
	// same flows.
	flows, err := capture.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, p.bin, "har", logPath).Output()
	if err != nil {
		t.Fatalf("telltale har: %v", err)
	}
	har, err := capture.ReadHAR(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(har) != len(flows) || !bytes.Equal(har[0].Request.Body, flows[0].Request.Body) {
		t.Errorf("HAR holds %d flows, the log %d", len(har), len(flows))
	}
}

// `telltale proxy` given SIGTERM, which is what `docker stop` sends, with 12
// uploads in flight answers every one, records every one, and exits 0.
func TestBinarySIGTERMFinishesUploadsInFlight(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p := startProcess(ctx, t)
	stopWithUploadsInFlight(t, p.proxyAddr, p.root(t), 12, func() error {
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			return err
		}
		return <-p.exited
	}, func() ([]capture.Flow, error) { return capture.ReadFile(p.logPath) })
	if out := p.stderr.String(); !strings.Contains(out, "msg=stopped") || strings.Contains(out, "level=ERROR") {
		t.Errorf("the proxy's log does not end with a clean stop:\n%s", out)
	}
}

// process is `telltale proxy` started by a test on free loopback ports.
type process struct {
	bin                    string // the telltale binary the test built
	cmd                    *exec.Cmd
	dir, logPath           string
	proxyAddr, controlAddr string
	stderr                 *stderrWatch
	exited                 chan error // cmd.Wait's result
}

// startProcess builds telltale, starts it as a proxy and returns once it
// logged that it listens (or fails the test with its log if it exits
// first).
func startProcess(ctx context.Context, t *testing.T) *process {
	t.Helper()
	bin, cleanup, err := staticBinary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	dir := t.TempDir()
	p := &process{bin: bin, dir: dir, logPath: filepath.Join(dir, "flows.jsonl"), proxyAddr: freeAddr(t), controlAddr: freeAddr(t),
		stderr: &stderrWatch{want: []byte("msg=listening"), seen: make(chan struct{})}, exited: make(chan error, 1)}
	p.cmd = exec.CommandContext(ctx, bin, "proxy", "--listen", p.proxyAddr, "--control", p.controlAddr,
		"--ca-dir", filepath.Join(dir, "ca"), "--flows", p.logPath)
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() { p.cmd.Process.Kill() })
	select {
	case <-p.stderr.seen:
	case err := <-p.exited:
		t.Fatalf("telltale proxy exited before listening (%v):\n%s", err, p.stderr.String())
	}
	return p
}

func (p *process) root(t *testing.T) *x509.Certificate {
	t.Helper()
	authority, err := ca.LoadOrCreate(filepath.Join(p.dir, "ca"))
	if err != nil {
		t.Fatal(err)
	}
	return authority.Certificate()
}

// stderrWatch keeps what a process writes to stderr and closes seen when
// it has written want.
type stderrWatch struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want []byte
	seen chan struct{}
}

func (w *stderrWatch) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	had := bytes.Contains(w.buf.Bytes(), w.want)
	w.buf.Write(b)
	if !had && bytes.Contains(w.buf.Bytes(), w.want) {
		close(w.seen)
	}
	return len(b), nil
}

func (w *stderrWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
