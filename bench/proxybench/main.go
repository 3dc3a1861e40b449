// Command proxybench is the load generator and upstream behind
// bench/proxy.sh. It starts each proxy pinned to core 0 (taskset), drives it
// with keep-alive HTTPS clients through CONNECT, and prints a table.
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
	if err := run(*telltale, *mitmdump, *work, *duration, clients); err != nil {
		fmt.Fprintln(os.Stderr, "proxybench:", err)
		os.Exit(1)
	}
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

func run(telltale, mitmdump, work string, d time.Duration, clients []int) error {
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"code":0}`))
	}))
	up.StartTLS()
	defer up.Close()
	target := up.URL + "/track/v4"
	body := bytes.Repeat([]byte(`{"event":"app_open","ts":1700000000,"pkg":"com.android.browser"},`), 32)[:2048]

	var results []result
	for _, n := range clients {
		r, err := load("direct", "", target, body, n, d, 0)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	type proxyCase struct {
		name  string
		start func(dir, addr string) *exec.Cmd
		flows func(dir string) int64
	}
	cases := []proxyCase{
		{"telltale proxy (forward, recording)", func(dir, addr string) *exec.Cmd {
			return exec.Command("taskset", "-c", "0", telltale, "proxy", "--listen", addr, "--control", "127.0.0.1:0",
				"--ca-dir", filepath.Join(dir, "ca"), "--flows", filepath.Join(dir, "flows.jsonl"),
				"--mode", "forward", "--upstream-insecure")
		}, func(dir string) int64 { return countLines(filepath.Join(dir, "flows.jsonl")) }},
		{"telltale proxy (sinkhole, recording)", func(dir, addr string) *exec.Cmd {
			return exec.Command("taskset", "-c", "0", telltale, "proxy", "--listen", addr, "--control", "127.0.0.1:0",
				"--ca-dir", filepath.Join(dir, "ca"), "--flows", filepath.Join(dir, "flows.jsonl"))
		}, func(dir string) int64 { return countLines(filepath.Join(dir, "flows.jsonl")) }},
		{"mitmdump 8.1.1 -w", func(dir, addr string) *exec.Cmd {
			host, port, _ := net.SplitHostPort(addr)
			return exec.Command("taskset", "-c", "0", mitmdump, "-q", "--listen-host", host, "--listen-port", port,
				"--ssl-insecure", "--set", "confdir="+filepath.Join(dir, "conf"), "-w", filepath.Join(dir, "flows.mitm"))
		}, func(string) int64 { return -1 }},
	}
	for _, pc := range cases {
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
			r, err := load(pc.name, addr, target, body, n, d, cmd.Process.Pid)
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
	return nil
}

// load runs n keep-alive clients for d after a one-second warm-up. pid is
// the proxy's, 0 for direct.
func load(name, proxy, target string, body []byte, n int, d time.Duration, pid int) (result, error) {
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
			if proxy != "" {
				pu, _ := url.Parse("http://" + proxy)
				tr.Proxy = http.ProxyURL(pu)
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
