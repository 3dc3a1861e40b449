package proxy

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
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
	bin, cleanup, err := staticBinary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	dir := t.TempDir()
	proxyAddr, controlAddr := freeAddr(t), freeAddr(t)
	logPath := filepath.Join(dir, "flows.jsonl")
	cmd := exec.CommandContext(ctx, bin, "proxy", "--listen", proxyAddr, "--control", controlAddr,
		"--ca-dir", filepath.Join(dir, "ca"), "--flows", logPath)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	for {
		resp, err := http.Get("http://" + controlAddr + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if ctx.Err() != nil {
			t.Fatal("proxy never became healthy")
		}
		time.Sleep(20 * time.Millisecond)
	}
	authority, err := ca.LoadOrCreate(filepath.Join(dir, "ca"))
	if err != nil {
		t.Fatal(err)
	}
	killMidLoad(t, proxyAddr, authority.Certificate(), func() {
		cmd.Process.Kill()
		cmd.Wait()
	}, func() ([]capture.Flow, error) { return capture.ReadFile(logPath) })

	// telltale har turns the log the crash left into a HAR holding the
	// same flows.
	flows, err := capture.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, bin, "har", logPath).Output()
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
