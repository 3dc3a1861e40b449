package session_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/profiles"
	"telltale.dev/harness/ca"
	"telltale.dev/harness/lease"
	"telltale.dev/harness/proxy"
	"telltale.dev/harness/restore"
	"telltale.dev/harness/session"
	"telltale.dev/harness/session/sessiontest"
)

// holdEnv, when set, makes this test binary a process that opens a
// transparent session from the JSON in it, says "ready" and waits to be
// killed: the run that crashes.
const holdEnv = "TELLTALE_TEST_HOLD_SESSION"

type held struct {
	Lease  lease.Lease
	RunDir string
	CACert []byte
	CAKey  []byte
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(holdEnv); spec != "" {
		os.Exit(hold(spec))
	}
	os.Exit(m.Run())
}

func hold(spec string) int {
	var h held
	if err := json.Unmarshal([]byte(spec), &h); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	profs, err := profiles.Load()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	authority, err := ca.Parse(h.CACert, h.CAKey)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, err = session.Open(ctx, h.Lease, session.Config{
		RunDir: h.RunDir, Dir: filepath.Join(h.RunDir, "device"), Profile: profiles.ByName(profs, h.Lease.Profile), CA: authority,
		Capture: session.CaptureTransparent, Log: os.Stderr,
		StartProxy: func(ctx context.Context, dir, _ string) (proxy.Recorder, error) {
			return proxy.StartInProcess(ctx, proxy.WithCA(h.CACert, h.CAKey), proxy.WithFlowDir(dir))
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	<-ctx.Done() // killed long before
	return 1
}

// A run in transparent capture killed with SIGKILL leaves its rules on the
// phone; restoring from its journal, as `telltale restore RUN_DIR` does,
// puts `iptables -S`, the reverse rules and the proxy setting back as they
// were before it.
func TestRestoreAfterKill9LeavesTheRulesAsBefore(t *testing.T) {
	r := sessiontest.New(t, "redmi-note-8", "V11.0.3.0", quiet)
	before := r.Shell(t, rules)
	proxyBefore := r.Shell(t, "settings get global http_proxy")
	spec, err := json.Marshal(held{Lease: r.Lease, RunDir: r.RunDir, CACert: r.CA.CertPEM(), CAKey: r.CA.KeyPEM()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	child := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	// The killed proxy leaves its per-app sockets: in the test's own
	// temporary directory, which the test removes.
	child.Env = append(os.Environ(), holdEnv+"="+string(spec), "TMPDIR="+t.TempDir())
	child.Stderr = testWriter{t}
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		child.Process.Kill()
		child.Wait()
		t.Fatalf("the run never got ready: %q %v", line, err)
	}
	if during := r.Shell(t, rules); during == before {
		t.Fatal("the run made no rules before it was killed")
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	child.Wait()

	if err := restore.Run(ctx, r.RunDir, nil); err != nil {
		t.Fatalf("restore after kill -9: %v", err)
	}
	if after := r.Shell(t, rules); after != before {
		t.Errorf("iptables -S after restore:\n%s\nbefore the run:\n%s", after, before)
	}
	if got := r.Shell(t, "settings get global http_proxy"); got != proxyBefore {
		t.Errorf("http_proxy %q after restore, %q before", got, proxyBefore)
	}
	if rules, err := r.Client.Device(r.Lease.Serial).ReverseList(ctx); err != nil || len(rules) > 0 {
		t.Errorf("reverse rules after restore: %v (%v)", rules, err)
	}
	if err := restore.Run(ctx, r.RunDir, nil); err != nil {
		t.Errorf("a second restore: %v", err)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
