//go:build soak

package proxy

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"telltale.dev/harness/ca"
	"telltale.dev/harness/capture"
)

// soakDuration is SOAK_DURATION (default 60s), the length of each soak run.
func soakDuration(t *testing.T) time.Duration {
	t.Helper()
	v := os.Getenv("SOAK_DURATION")
	if v == "" {
		return time.Minute
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("SOAK_DURATION=%q: want a positive Go duration such as 60s or 10m", v)
	}
	return d
}

// soakMaxRequests bounds the requests sent to each proxy, so a long
// SOAK_DURATION cannot fill the disk with flow log.
const soakMaxRequests = 400_000

// TestSoakProxyKill9 runs three `telltale proxy` processes under HTTPS load
// from HTTP/1.1 and HTTP/2 clients (6 per proxy, CONNECT through the proxy)
// for SOAK_DURATION: a sinkhole and a forward proxy (to a local HTTP/2
// upstream) killed with SIGKILL and stopped with SIGTERM in turn every
// duration/6 and restarted on the same flow log and ports, and a sinkhole
// left running until the end, when all three get SIGTERM. After every stop
// the log holds every flow whose response a client completed, parses up to
// its last complete line, and its seqs only increase across restarts; a
// SIGTERM under load exits 0 (its drain finished in time); each proxy's RSS
// stays flat as its log grows.
func TestSoakProxyKill9(t *testing.T) {
	duration := soakDuration(t)
	ctx, cancel := context.WithTimeout(context.Background(), duration+5*time.Minute)
	defer cancel()
	bin, cleanup, err := staticBinary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()

	upstream := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Upstream", "soak")
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"code":0}`)
	}))
	upstream.EnableHTTP2 = true
	upstream.StartTLS()
	defer upstream.Close()

	var next atomic.Int64 // request ids, unique across all proxies
	// A third proxy is never killed until the end: its RSS over the whole
	// run shows whether memory grows with the flows one process handles,
	// which restarts would hide.
	procs := []*soakProxy{
		newSoakProxy(t, bin, "sinkhole", true),
		newSoakProxy(t, bin, "forward", true, "--upstream-map", "load.test="+upstream.Listener.Addr().String(), "--upstream-insecure"),
		newSoakProxy(t, bin, "sinkhole", false),
	}
	loadCtx, stopLoad := context.WithTimeout(ctx, duration)
	defer stopLoad()
	var wg sync.WaitGroup
	for i, p := range procs {
		if err := p.start(ctx); err != nil {
			t.Error(err)
			stopLoad()
			wg.Wait()
			for _, q := range procs[:i] {
				q.killAndCheck(t, syscall.SIGKILL)
			}
			return
		}
		root := p.root(t)
		for c := range 6 {
			wg.Go(func() { p.client(loadCtx, root, c%2 == 1, &next) })
		}
		wg.Go(func() { p.sampleRSS(loadCtx) })
		if !p.restarts {
			continue
		}
		// Kill every duration/6 (3s..2m) with jitter; the two proxies
		// are staggered so one is usually up while the other restarts.
		period := min(max(duration/6, 3*time.Second), 2*time.Minute)
		wg.Go(func() {
			timer := time.NewTimer(period/2*time.Duration(i+1) + jitter(period))
			defer timer.Stop()
			for {
				select {
				case <-loadCtx.Done():
					return
				case <-timer.C:
				}
				sig := syscall.SIGKILL
				if p.kills%2 == 1 {
					sig = syscall.SIGTERM
				}
				p.killAndCheck(t, sig)
				if err := p.start(ctx); err != nil {
					t.Error(err)
					stopLoad()
					return
				}
				timer.Reset(period + jitter(period))
			}
		})
	}
	wg.Wait()
	for _, p := range procs {
		p.killAndCheck(t, syscall.SIGTERM)
		p.report(t, duration)
	}
}

func jitter(period time.Duration) time.Duration {
	return time.Duration(rand.Int64N(int64(period)/3+1)) - period/6
}

// soakProxy is one `telltale proxy` process, restarted on the same flow log
// and ports, and what its clients and checks have seen.
type soakProxy struct {
	bin, mode, name               string
	restarts                      bool // killed and restarted every few seconds
	extra                         []string
	dir, logPath                  string
	proxyAddr, controlAddr        string
	stderrPath                    string
	mu                            sync.Mutex
	cmd                           *exec.Cmd
	startedAt                     time.Time
	completed                     map[string]bool // request ids whose response arrived whole
	logged                        map[string]bool // request ids found in the log
	offset                        int64           // bytes of the log already checked
	lastSeq                       int64
	kills, clientErrs, flows      int
	protos                        map[string]int // flows by HTTP version
	upstreamFlows, sinkholedFlows int
	errorFlows                    int
	rss                           []rssSample
}

type rssSample struct {
	at  time.Duration // since the soak started
	kib int64
}

func newSoakProxy(t *testing.T, bin, mode string, restarts bool, extra ...string) *soakProxy {
	dir := t.TempDir()
	name := mode
	if !restarts {
		name += " (never restarted)"
	}
	return &soakProxy{
		bin: bin, mode: mode, name: name, restarts: restarts, extra: extra, dir: dir, logPath: filepath.Join(dir, "flows.jsonl"),
		proxyAddr: freeAddr(t), controlAddr: freeAddr(t), stderrPath: filepath.Join(dir, "stderr"),
		completed: map[string]bool{}, logged: map[string]bool{}, protos: map[string]int{},
	}
}

// start runs the proxy and waits until its control API answers.
func (p *soakProxy) start(ctx context.Context) error {
	stderr, err := os.OpenFile(p.stderrPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer stderr.Close()
	args := append([]string{"proxy", "--listen", p.proxyAddr, "--control", p.controlAddr,
		"--ca-dir", filepath.Join(p.dir, "ca"), "--flows", p.logPath, "--mode", p.mode}, p.extra...)
	cmd := exec.CommandContext(ctx, p.bin, args...)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start telltale proxy: %w", err)
	}
	p.mu.Lock()
	p.cmd, p.startedAt = cmd, time.Now()
	p.mu.Unlock()
	hc := &http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		resp, err := hc.Get("http://" + p.controlAddr + "/healthz")
		if err == nil {
			resp.Body.Close()
			return nil
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	log, _ := os.ReadFile(p.stderrPath)
	return fmt.Errorf("%s proxy not healthy 30s after a restart on %s:\n%s", p.name, p.logPath, log)
}

func (p *soakProxy) root(t *testing.T) *x509.Certificate {
	authority, err := ca.LoadOrCreate(filepath.Join(p.dir, "ca"))
	if err != nil {
		t.Fatal(err)
	}
	return authority.Certificate()
}

// client posts until ctx ends or the request budget is spent, riding out
// the proxy's restarts.
func (p *soakProxy) client(ctx context.Context, root *x509.Certificate, h2 bool, next *atomic.Int64) {
	hc := proxiedClient(p.proxyAddr, root, h2)
	defer hc.CloseIdleConnections()
	for sent := 0; ctx.Err() == nil && sent < soakMaxRequests/6; sent++ {
		id, err := post(ctx, hc, next.Add(1))
		p.mu.Lock()
		if err == nil {
			p.completed[id] = true
		} else if ctx.Err() == nil {
			p.clientErrs++
		}
		p.mu.Unlock()
		if err != nil {
			hc.CloseIdleConnections()
			time.Sleep(20 * time.Millisecond) // the proxy is restarting
		}
	}
}

func (p *soakProxy) sampleRSS(ctx context.Context) {
	begin := time.Now()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		p.mu.Lock()
		pid, up := p.cmd.Process.Pid, time.Since(p.startedAt)
		p.mu.Unlock()
		// The first seconds after a restart are start-up, not steady state.
		if up < 2*time.Second {
			continue
		}
		if kib, ok := vmRSS(pid); ok {
			p.mu.Lock()
			p.rss = append(p.rss, rssSample{time.Since(begin), kib})
			p.mu.Unlock()
		}
	}
}

// vmRSS reads a live process's resident set in KiB; ok is false once it
// has died (a sample racing a kill).
func vmRSS(pid int) (int64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// killAndCheck stops the proxy with sig (SIGKILL, or SIGTERM, which must
// end in exit status 0) and checks the log it left: the lines written since
// the last check parse, their seqs continue to increase, and every response
// completed so far has its flow.
func (p *soakProxy) killAndCheck(t *testing.T, sig syscall.Signal) {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if err := cmd.Process.Signal(sig); err != nil {
		t.Errorf("%s: %v: %v", p.name, sig, err)
	}
	if err := cmd.Wait(); sig == syscall.SIGTERM && err != nil {
		log, _ := os.ReadFile(p.stderrPath)
		t.Errorf("%s: stopped by SIGTERM under load: %v; its log:\n%s", p.name, err, log[max(0, len(log)-2048):])
	}
	// Read after the process is gone: responses completed from here on
	// cannot exist, and ids recorded late are checked at the next kill.
	p.mu.Lock()
	defer p.mu.Unlock()
	p.kills++
	f, err := os.Open(p.logPath)
	if err != nil {
		t.Errorf("%s: flow log after kill %d: %v", p.name, p.kills, err)
		return
	}
	defer f.Close()
	rest, err := io.ReadAll(io.NewSectionReader(f, p.offset, 1<<40))
	if err != nil {
		t.Errorf("%s: read flow log: %v", p.name, err)
		return
	}
	// Only a line cut short by the kill may lack its newline; the next
	// start truncates it, so it is not part of what is checked.
	complete := rest[:bytes.LastIndexByte(rest, '\n')+1]
	flows, err := capture.ReadLog(bytes.NewReader(complete))
	if err != nil {
		t.Errorf("%s: log does not parse after kill %d: %v", p.name, p.kills, err)
		return
	}
	if n := bytes.Count(complete, []byte("\n")); n != len(flows) {
		t.Errorf("%s: %d complete lines after kill %d, %d flows parsed", p.name, n, p.kills, len(flows))
	}
	p.offset += int64(len(complete))
	for _, fl := range flows {
		if fl.Seq <= p.lastSeq {
			t.Errorf("%s: seq %d after %d (kill %d): seqs must be unique and increasing across restarts", p.name, fl.Seq, p.lastSeq, p.kills)
		}
		p.lastSeq = fl.Seq
		if fl.Request == nil {
			continue
		}
		p.flows++
		p.logged[string(fl.Request.Body)] = true
		p.protos[fl.Request.Proto]++
		upstream := fl.Response != nil && headerValue(fl.Response.Headers, "X-Upstream") == "soak"
		// A forwarding error is the proxy's own reply, logged with its
		// reason; the client saw it fail, so it is not a completed flow.
		switch {
		case upstream:
			p.upstreamFlows++
		case fl.Error != "":
			p.errorFlows++
			if p.errorFlows <= 3 {
				t.Logf("%s: flow %d is an error: %s", p.name, fl.Seq, fl.Error)
			}
		default:
			p.sinkholedFlows++
		}
	}
	lost := 0
	for id := range p.completed {
		if !p.logged[id] {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%s: after kill %d, %d of %d completed responses have no flow in the log", p.name, p.kills, lost, len(p.completed))
	}
}

func headerValue(hs []capture.Header, name string) string {
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// report checks what the whole soak must have exercised and that RSS
// stayed flat: the highest sample in the last third of the run is at most
// 1.5x the highest in the first third (samples start after a warm-up).
func (p *soakProxy) report(t *testing.T, duration time.Duration) {
	t.Logf("%s: %d kills, %d completed responses, %d flows logged (last seq %d), %d client errors while down, %d error flows, by version %v",
		p.name, p.kills, len(p.completed), p.flows, p.lastSeq, p.clientErrs, p.errorFlows, p.protos)
	if p.restarts && p.kills < 3 {
		t.Errorf("%s: only %d kills: SOAK_DURATION too short to test restarts", p.name, p.kills)
	}
	if len(p.completed) < 1000 {
		t.Errorf("%s: only %d responses completed", p.name, len(p.completed))
	}
	if p.protos["HTTP/2.0"] == 0 || p.protos["HTTP/1.1"] == 0 {
		t.Errorf("%s: flows by version %v, want both HTTP/1.1 and HTTP/2.0", p.name, p.protos)
	}
	if p.mode == "forward" && p.sinkholedFlows > 0 || p.mode == "sinkhole" && p.upstreamFlows > 0 {
		t.Errorf("%s: %d flows answered upstream, %d by the sinkhole", p.name, p.upstreamFlows, p.sinkholedFlows)
	}
	warm := min(duration/10, 30*time.Second)
	third := (duration - warm) / 3
	var first, last int64
	for _, s := range p.rss {
		switch {
		case s.at >= warm && s.at < warm+third:
			first = max(first, s.kib)
		case s.at >= duration-third:
			last = max(last, s.kib)
		}
	}
	t.Logf("%s: RSS max %d KiB in the first third after warm-up, %d KiB in the last third (%d samples)", p.name, first, last, len(p.rss))
	if first == 0 || last == 0 {
		t.Errorf("%s: no RSS samples in the first or last third of the run", p.name)
	} else if float64(last) > 1.5*float64(first) {
		t.Errorf("%s: RSS grew from %d KiB to %d KiB as flows grew", p.name, first, last)
	}
}
