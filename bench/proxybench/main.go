// Command proxybench is the load generator and upstream behind
// bench/proxy.sh. It starts each proxy pinned to core 0 (taskset), drives it
// with keep-alive HTTPS clients through CONNECT, or redirected as iptables
// on a phone in transparent capture sends them (TLS straight to the proxy's
// port, routed by its SNI), and prints a table, then the two ways of
// reaching telltale's proxy side by side.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	telltale := flag.String("telltale", "", "telltale binary")
	mitmdump := flag.String("mitmdump", "mitmdump", "mitmdump binary")
	work := flag.String("work", os.TempDir(), "directory for flow logs and CAs")
	duration := flag.Duration("duration", 6*time.Second, "measured time per cell (after 1s warm-up)")
	clientList := flag.String("clients", "1,16", "concurrent keep-alive clients per cell")
	only := flag.String("only", "", "run only the setups whose name contains this (direct always runs)")
	flag.Parse()
	if *telltale == "" {
		fmt.Fprintln(os.Stderr, "proxybench: -telltale is required (bench/proxy.sh builds it)")
		os.Exit(2)
	}
	var clients []int
	for _, s := range strings.Split(*clientList, ",") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "proxybench: bad -clients %q\n", s)
			os.Exit(2)
		}
		clients = append(clients, n)
	}
	if err := run(*telltale, *mitmdump, *work, *duration, clients, *only); err != nil {
		fmt.Fprintln(os.Stderr, "proxybench:", err)
		os.Exit(1)
	}
}

// upstreamHost is the name the telltale cells ask for: by name, as apps do,
// so a redirected connection's SNI can route it; the proxies map it to the
// local upstream.
const upstreamHost = "upstream.bench"

// route is how a cell's clients reach the upstream.
type route struct {
	proxy    string // the proxy's address; "" for direct
	redirect bool   // no proxy setting: connect to the proxy as if redirected
	dialTo   string // direct: where upstreamHost is
}

type result struct {
	name          string
	clients       int
	reqs          int64
	errs          int64
	rps           float64
	p50, p99      time.Duration
	rssMid, rssHW int64 // KiB; 0 for direct
	flows         int64
	// Over the measured window, as shares of one core: the CPU used by the
	// proxy (on core 0) and by this process, load generator and upstream
	// (core 1), and how busy each core was with anything. They show whether
	// a cell was limited by its own work, by other processes on the machine
	// taking the core, or by neither.
	proxyCPU, genCPU float64
	coreBusy         [2]float64
}

func run(telltale, mitmdump, work string, d time.Duration, clients []int, only string) error {
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"code":0}`))
	}))
	up.StartTLS()
	defer up.Close()
	upAddr := up.Listener.Addr().String()
	named := "https://" + upstreamHost + "/track/v4"
	body := bytes.Repeat([]byte(`{"event":"app_open","ts":1700000000,"pkg":"com.android.browser"},`), 32)[:2048]

	var results []result
	for _, n := range clients {
		r, err := load("direct", route{dialTo: upAddr}, named, body, n, d, 0)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	type proxyCase struct {
		name     string
		start    func(dir, addr string) *exec.Cmd
		flows    func(dir string) int64
		target   string
		redirect bool
	}
	telltaleCmd := func(forward bool) func(dir, addr string) *exec.Cmd {
		return func(dir, addr string) *exec.Cmd {
			args := []string{"-c", "0", telltale, "proxy", "--listen", addr, "--control", "127.0.0.1:0",
				"--ca-dir", filepath.Join(dir, "ca"), "--flows", filepath.Join(dir, "flows.jsonl")}
			if forward {
				args = append(args, "--mode", "forward", "--upstream-insecure", "--upstream-map", upstreamHost+":443="+upAddr)
			}
			return exec.Command("taskset", args...)
		}
	}
	flowLog := func(dir string) int64 { return countLines(filepath.Join(dir, "flows.jsonl")) }
	cases := []proxyCase{
		{"telltale proxy (forward, recording)", telltaleCmd(true), flowLog, named, false},
		{"telltale proxy (forward, redirected)", telltaleCmd(true), flowLog, named, true},
		{"telltale proxy (sinkhole, recording)", telltaleCmd(false), flowLog, named, false},
		{"telltale proxy (sinkhole, redirected)", telltaleCmd(false), flowLog, named, true},
		{"mitmdump 8.1.1 -w", func(dir, addr string) *exec.Cmd {
			host, port, _ := net.SplitHostPort(addr)
			return exec.Command("taskset", "-c", "0", mitmdump, "-q", "--listen-host", host, "--listen-port", port,
				"--ssl-insecure", "--set", "confdir="+filepath.Join(dir, "conf"), "-w", filepath.Join(dir, "flows.mitm"))
		}, func(string) int64 { return -1 }, up.URL + "/track/v4", false},
	}
	for _, pc := range cases {
		if !strings.Contains(pc.name, only) {
			continue
		}
		for _, n := range clients {
			dir, err := os.MkdirTemp(work, "cell-")
			if err != nil {
				return err
			}
			addr := freeAddr()
			cmd := pc.start(dir, addr)
			cmd.Stderr = &bytes.Buffer{}
			if err := cmd.Start(); err != nil {
				return fmt.Errorf("%s: %w", pc.name, err)
			}
			if err := waitListening(addr, 30*time.Second); err != nil {
				cmd.Process.Kill()
				cmd.Wait()
				return fmt.Errorf("%s never listened on %s: %w\n%s", pc.name, addr, err, cmd.Stderr)
			}
			// taskset execs the proxy, so the pid is the proxy's.
			r, err := load(pc.name, route{proxy: addr, redirect: pc.redirect}, pc.target, body, n, d, cmd.Process.Pid)
			r.rssHW = rss(cmd.Process.Pid, "VmHWM")
			cmd.Process.Signal(os.Interrupt)
			waitOrKill(cmd, 10*time.Second)
			r.flows = pc.flows(dir)
			os.RemoveAll(dir)
			if err != nil {
				return err
			}
			results = append(results, r)
		}
	}
	print(results)
	compareRoutes(results)
	return nil
}

// load runs n keep-alive clients for d after a one-second warm-up. pid is
// the proxy's, 0 for direct.
func load(name string, via route, target string, body []byte, n int, d time.Duration, pid int) (result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d+time.Second)
	defer cancel()
	measureFrom := time.Now().Add(time.Second)
	var mu sync.Mutex
	var lat []time.Duration
	var reqs, errs atomic.Int64
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, MaxIdleConnsPerHost: 1,
				TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}} // HTTP/1.1 keep-alive
			switch {
			case via.redirect:
				// What REDIRECT does on the phone: whatever the app dials
				// ends at the proxy's port, and its TLS names the server.
				tr.DialContext = dialOnly(via.proxy)
			case via.proxy != "":
				pu, _ := url.Parse("http://" + via.proxy)
				tr.Proxy = http.ProxyURL(pu)
			case via.dialTo != "":
				tr.DialContext = dialOnly(via.dialTo)
			}
			defer tr.CloseIdleConnections()
			hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
			local := make([]time.Duration, 0, 1<<16)
			for ctx.Err() == nil {
				t0 := time.Now()
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				resp, err := hc.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = errors.New(resp.Status)
					}
				}
				if ctx.Err() != nil {
					break
				}
				if err != nil {
					errs.Add(1)
					continue
				}
				if t0.After(measureFrom) {
					local = append(local, time.Since(t0))
					reqs.Add(1)
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		})
	}
	time.Sleep(time.Until(measureFrom))
	proxy0, gen0 := cpuTime(pid), cpuTime(os.Getpid())
	busy0, total0 := coreTimes()
	t0 := time.Now()
	var rssMid int64
	if pid != 0 {
		time.Sleep(d / 2)
		rssMid = rss(pid, "VmRSS")
	}
	wg.Wait()
	wall := time.Since(t0).Seconds()
	busy1, total1 := coreTimes()
	r := result{name: name, clients: n, reqs: reqs.Load(), errs: errs.Load(), rssMid: rssMid,
		proxyCPU: (cpuTime(pid) - proxy0).Seconds() / wall, genCPU: (cpuTime(os.Getpid()) - gen0).Seconds() / wall}
	for c := range r.coreBusy {
		if dt := total1[c] - total0[c]; dt > 0 {
			r.coreBusy[c] = float64(busy1[c]-busy0[c]) / float64(dt)
		}
	}
	if len(lat) == 0 {
		return r, fmt.Errorf("%s with %d clients: no request completed (%d errors)", name, n, errs.Load())
	}
	slices.Sort(lat)
	r.rps = float64(len(lat)) / d.Seconds()
	r.p50 = lat[len(lat)/2]
	r.p99 = lat[len(lat)*99/100]
	return r, nil
}

// dialOnly connects to addr whatever the address asked for.
func dialOnly(addr string) func(ctx context.Context, network, _ string) (net.Conn, error) {
	var d net.Dialer
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
}

// compareRoutes puts each telltale setup's redirected cells (transparent
// capture) beside its CONNECT cells (the proxy setting): throughput, the
// latency each adds over direct, and the proxy's CPU per request, which
// other processes on a shared machine do not skew as they do throughput.
func compareRoutes(rs []result) {
	direct, byName := map[int]result{}, map[string]result{}
	for _, r := range rs {
		if r.name == "direct" {
			direct[r.clients] = r
		}
		byName[fmt.Sprintf("%s/%d", r.name, r.clients)] = r
	}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	fmt.Fprintln(w, "\ntransparent (redirected, routed by SNI) against CONNECT; goal: within 10%")
	fmt.Fprintf(w, "%-10s %7s %12s %12s %7s %13s %13s %12s %12s %7s  %s\n", "mode", "clients", "CONNECT r/s", "redir r/s", "ratio",
		"CONNECT +p50", "redir +p50", "CONNECT cpu", "redir cpu", "ratio", "verdict")
	for _, mode := range []string{"forward", "sinkhole"} {
		for _, r := range rs {
			if r.name != "telltale proxy ("+mode+", recording)" {
				continue
			}
			t, ok := byName[fmt.Sprintf("telltale proxy (%s, redirected)/%d", mode, r.clients)]
			if !ok || r.rps == 0 {
				continue
			}
			ratio := t.rps / r.rps
			cpuC, cpuT := r.proxyCPU/r.rps, t.proxyCPU/t.rps
			verdict := "within 10%"
			switch {
			case ratio < 0.9 && cpuT <= 1.1*cpuC:
				verdict = "req/s off by >10%, CPU per request within 10%: the cores were shared"
			case ratio < 0.9:
				verdict = "SLOWER"
			}
			d := direct[r.clients]
			fmt.Fprintf(w, "%-10s %7d %12.0f %12.0f %7.3f %13s %13s %10.0fus %10.0fus %7.3f  %s\n", mode, r.clients, r.rps, t.rps, ratio,
				ms(r.p50-d.p50), ms(t.p50-d.p50), 1e6*cpuC, 1e6*cpuT, cpuT/cpuC, verdict)
		}
	}
}

func print(rs []result) {
	direct := map[int]result{}
	mitm := map[int]result{}
	for _, r := range rs {
		if r.name == "direct" {
			direct[r.clients] = r
		}
		if strings.HasPrefix(r.name, "mitmdump") {
			mitm[r.clients] = r
		}
	}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	fmt.Fprintln(w, "cpu columns: proxy (core 0) and load generator + upstream (core 1) CPU / that core busy with anything")
	fmt.Fprintf(w, "%-38s %7s %10s %9s %9s %9s %9s %9s %8s %8s %8s %10s %9s %9s\n",
		"setup", "clients", "req/s", "p50", "p99", "+p50", "rss mid", "rss peak", "x direct", "x mitm", "flows",
		"proxy/req", "proxy cpu", "gen cpu")
	for _, r := range rs {
		rssMid, rssHW, flows, xm, perReq, proxyCPU := "-", "-", "-", "-", "-", "-"
		if r.rssHW > 0 {
			rssMid, rssHW = fmt.Sprintf("%.1fMB", float64(r.rssMid)/1024), fmt.Sprintf("%.1fMB", float64(r.rssHW)/1024)
			perReq = fmt.Sprintf("%.0fus", 1e6*r.proxyCPU/r.rps)
			proxyCPU = fmt.Sprintf("%.0f/%.0f%%", 100*r.proxyCPU, 100*r.coreBusy[0])
		}
		if r.flows >= 0 && r.name != "direct" {
			flows = strconv.FormatInt(r.flows, 10)
		}
		if m, ok := mitm[r.clients]; ok && m.rps > 0 {
			xm = fmt.Sprintf("%.1f", r.rps/m.rps)
		}
		d := direct[r.clients]
		fmt.Fprintf(w, "%-38s %7d %10.0f %9s %9s %9s %9s %9s %8.2f %8s %8s %10s %9s %9s\n",
			r.name, r.clients, r.rps, ms(r.p50), ms(r.p99), ms(r.p50-d.p50), rssMid, rssHW, r.rps/d.rps, xm, flows,
			perReq, proxyCPU, fmt.Sprintf("%.0f/%.0f%%", 100*r.genCPU, 100*r.coreBusy[1]))
		if r.errs > 0 {
			fmt.Fprintf(w, "  (%d failed requests)\n", r.errs)
		}
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3fms", float64(d)/float64(time.Millisecond)) }

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitListening(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitOrKill(cmd *exec.Cmd, d time.Duration) {
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		cmd.Process.Kill()
		<-done
	}
}

// rss reads a memory figure (KiB) from /proc/PID/status.
func rss(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// cpuTime is the CPU time a process has used so far, from the sum over its
// threads of /proc/PID/task/TID/schedstat (nanoseconds on a CPU); 0 for pid 0.
func cpuTime(pid int) time.Duration {
	stats, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var sum time.Duration
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // the thread exited
		}
		var ns int64
		if _, err := fmt.Sscan(string(b), &ns); err == nil {
			sum += time.Duration(ns)
		}
	}
	return sum
}

// coreTimes reads the busy and total jiffies of cores 0 and 1 from /proc/stat.
func coreTimes() (busy, total [2]int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return busy, total
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || (f[0] != "cpu0" && f[0] != "cpu1") {
			continue
		}
		core := int(f[0][3] - '0')
		for i, v := range f[1:] {
			n, _ := strconv.ParseInt(v, 10, 64)
			total[core] += n
			if i != 3 && i != 4 { // idle, iowait
				busy[core] += n
			}
		}
	}
	return busy, total
}

func countLines(path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	var n int64
	buf := make([]byte, 1<<20)
	for {
		k, err := f.Read(buf)
		n += int64(bytes.Count(buf[:k], []byte{'\n'}))
		if err != nil {
			return n
		}
	}
}
