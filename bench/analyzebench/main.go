// Command analyzebench is behind bench/analyze.sh: it writes large captures
// of Sensors Analytics batches (a HAR as DevTools or HTTP Toolkit write
// them, and a mitmproxy 8 dump) with canaries planted in a known number of
// batches, runs `telltale analyze` on each as a child process, and prints
// wall time, CPU time, throughput, the child's peak RSS (getrusage) and
// whether every planted leak was found.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/capture/mitmdumptest"
)

func main() {
	if len(os.Args) == 5 && os.Args[1] == "-child" {
		// The measuring process: see analyze.
		m, err := analyzeOnce(os.Args[2], os.Args[3], os.Args[4])
		if err != nil {
			fmt.Fprintln(os.Stderr, "analyzebench:", err)
			os.Exit(1)
		}
		json.NewEncoder(os.Stdout).Encode(m)
		return
	}
	after := flag.String("telltale", "", "telltale binary under test (required)")
	before := flag.String("before", "", "telltale binary of the previous version, to compare (optional)")
	work := flag.String("work", os.TempDir(), "directory for the generated captures (needs twice -size free)")
	size := flag.Int64("size", 1<<30, "bytes of each large capture")
	small := flag.Int("small", 40000, "batches in the small HAR (the issue's 38.6 MB case)")
	beforeMax := flag.Int64("before-max", 2<<30, "largest capture to give the previous version (it holds the whole file in memory)")
	runs := flag.Int("runs", 1, "runs per cell; the fastest is shown")
	flag.Parse()
	if *after == "" {
		fmt.Fprintln(os.Stderr, "analyzebench: -telltale is required (bench/analyze.sh builds it)")
		os.Exit(2)
	}
	if err := run(*after, *before, *work, *size, *small, *beforeMax, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "analyzebench:", err)
		os.Exit(1)
	}
}

// plantEvery is how many batches go by between two with a canary.
const plantEvery = 1000

func run(after, before, work string, size int64, small int, beforeMax int64, runs int) error {
	dir, err := os.MkdirTemp(work, "analyzebench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	g := canary.NewGenerator(14)
	cs := []canary.Canary{g.URL("url1"), g.Search("search1"), g.Package("pkg1"), g.Email("email1")}
	cfile := filepath.Join(dir, "canaries.json")
	if err := canary.Save(cfile, cs); err != nil {
		return err
	}
	type capture struct {
		name, path string
		planted    int
	}
	var caps []capture
	gen := func(name, file string, write func(io.Writer, *batches) error, b *batches) error {
		p := filepath.Join(dir, file)
		fmt.Fprintf(os.Stderr, "analyzebench: writing %s ...\n", name)
		if err := writeFile(p, func(w io.Writer) error { return write(w, b) }); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		caps = append(caps, capture{name, p, b.planted})
		return nil
	}
	if err := gen(fmt.Sprintf("HAR, %d batches", small), "small.har", writeHAR, newBatches(cs, -1, small)); err != nil {
		return err
	}
	if err := gen("HAR, large", "large.har", writeHAR, newBatches(cs, size, 0)); err != nil {
		return err
	}
	if err := gen("mitmproxy dump, large", "large.mitm", writeDump, newBatches(cs, size, 0)); err != nil {
		return err
	}

	fmt.Println("peak RSS is the analyze child's ru_maxrss, measured from a small process whose own peak (the floor\n" +
		"a vfork'd child inherits on Linux) is in the last column")
	fmt.Println()
	fmt.Printf("%-26s %9s  %-7s %9s %9s %8s %10s  %-20s %s\n", "capture", "size", "telltale", "wall", "cpu", "MB/s", "peak RSS", "planted leaks found", "floor")
	for _, c := range caps {
		fi, err := os.Stat(c.path)
		if err != nil {
			return err
		}
		for _, bin := range []struct{ name, path string }{{"before", before}, {"after", after}} {
			if bin.path == "" || (bin.name == "before" && fi.Size() > beforeMax) {
				continue
			}
			var best measure
			for i := range runs {
				m, err := analyze(bin.path, cfile, c.path)
				if err != nil {
					return fmt.Errorf("%s on %s: %w", bin.name, c.name, err)
				}
				if i == 0 || m.Wall < best.Wall {
					best.Wall, best.CPU = m.Wall, m.CPU
				}
				best.RSS, best.Floor, best.Found, best.Note = max(best.RSS, m.RSS), max(best.Floor, m.Floor), m.Found, m.Note
			}
			fmt.Printf("%-26s %9s  %-7s %9s %9s %8.1f %10s  %-20s %s%s\n", c.name, mib(fi.Size()), bin.name,
				best.Wall.Round(10*time.Millisecond), best.CPU.Round(10*time.Millisecond),
				float64(fi.Size())/(1<<20)/best.Wall.Seconds(), mib(best.RSS), fmt.Sprintf("%d of %d", best.Found, c.planted),
				mib(best.Floor), best.Note)
		}
	}
	return nil
}

func writeFile(path string, fn func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := fn(w); err != nil {
		f.Close()
		return err
	}
	return errors.Join(w.Flush(), f.Close())
}

type measure struct {
	Wall, CPU  time.Duration
	RSS, Floor int64
	Found      int
	Note       string
}

// analyze measures one `telltale analyze` from a fresh copy of this
// program: Linux hands a vfork'd child the peak RSS of the process that
// started it, and this one has written gigabytes of captures.
func analyze(bin, cfile, path string) (measure, error) {
	self, err := os.Executable()
	if err != nil {
		return measure{}, err
	}
	out, err := exec.Command(self, "-child", bin, cfile, path).Output()
	if err != nil {
		return measure{}, fmt.Errorf("measuring child: %w", err)
	}
	var m measure
	return m, json.Unmarshal(out, &m)
}

// analyzeOnce runs `telltale analyze` and reads its rusage.
func analyzeOnce(bin, cfile, path string) (measure, error) {
	floor := peakRSS()
	cmd := exec.Command(bin, "analyze", "--canaries", cfile, "--format", "json", path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	m := measure{Wall: time.Since(start), Floor: floor}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.RSS = ru.Maxrss << 10 // KiB on Linux
		m.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return m, err
	}
	var out struct {
		Findings []json.RawMessage `json:"findings"`
	}
	if json.Unmarshal(stdout.Bytes(), &out) != nil {
		m.Note = fmt.Sprintf("  (exit %d: %s)", cmd.ProcessState.ExitCode(), firstLine(stderr.String()))
	}
	m.Found = len(out.Findings)
	return m, nil
}

// peakRSS reads this process's peak resident set (VmHWM) from /proc.
func peakRSS() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return kb << 10
		}
	}
	return 0
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func mib(n int64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.2f GB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}

// batches yields Sensors Analytics uploads: the form a MIUI browser posts
// (data_list = base64 of gzipped JSON events), with a canary in one batch of
// plantEvery. Clean batches come from a pool (compressing a million is the
// slow part of generating, not of analysing); every planted one is fresh.
type batches struct {
	cs      []canary.Canary
	r       *rand.Rand
	pool    [][]byte
	size    int64 // stop after this many bytes written, or
	count   int   // after this many batches
	n       int
	planted int
}

func newBatches(cs []canary.Canary, size int64, count int) *batches {
	b := &batches{cs: cs, r: rand.New(rand.NewPCG(14, 2026)), size: size, count: count}
	for range 512 {
		b.pool = append(b.pool, b.form(-1))
	}
	return b
}

var syll = []string{"ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "den", "gar", "pol", "quin", "ber", "ost", "lan", "tre"}

func (b *batches) word() string {
	w := ""
	for range 2 + b.r.IntN(3) {
		w += syll[b.r.IntN(len(syll))]
	}
	return w
}

// form builds one upload body; plant >= 0 puts that canary in an event.
func (b *batches) form(plant int) []byte {
	var evs []map[string]any
	for i := range 4 {
		props := map[string]any{
			"url":        fmt.Sprintf("https://www.%s.com/%s/%s-%d", b.word(), b.word(), b.word(), b.r.IntN(1e8)),
			"title":      b.word() + " " + b.word() + " " + b.word(),
			"duration":   b.r.IntN(600000),
			"session_id": fmt.Sprintf("%016x", b.r.Uint64()),
		}
		if plant >= 0 && i == 2 {
			props["url"] = b.cs[plant].Value
		}
		evs = append(evs, map[string]any{"event": "browser_visit", "properties": props, "time": 1588000000000 + b.r.Int64N(1e9),
			"lib": map[string]any{"$lib": "Android", "$lib_version": "4.4.3"}, "distinct_id": fmt.Sprintf("%016x", b.r.Uint64())})
	}
	js, _ := json.Marshal(evs)
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(js)
	zw.Close()
	return []byte("crc=" + fmt.Sprint(b.r.Uint32()) + "&gzip=1&data_list=" + url.QueryEscape(base64.StdEncoding.EncodeToString(z.Bytes())))
}

// next returns the next body, or nil when the capture is big enough.
func (b *batches) next(written int64) []byte {
	if (b.size > 0 && written >= b.size) || (b.size <= 0 && b.n >= b.count) {
		return nil
	}
	b.n++
	if b.n%plantEvery == plantEvery/2 {
		b.planted++
		return b.form(b.planted % len(b.cs))
	}
	return b.pool[b.r.IntN(len(b.pool))]
}

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// writeHAR writes a HAR the way Chrome and HTTP Toolkit do: no telltale
// fields, vendor fields of their own, bodies as text.
func writeHAR(w io.Writer, b *batches) error {
	cw := &counter{w: w}
	io.WriteString(cw, `{"log":{"version":"1.2","creator":{"name":"HTTP Toolkit","version":"1.19.0"},"pages":[],"entries":[`)
	for i := 0; ; i++ {
		body := b.next(cw.n)
		if body == nil {
			break
		}
		if i > 0 {
			io.WriteString(cw, ",")
		}
		e := map[string]any{
			"startedDateTime": t0.Add(time.Duration(i) * 37 * time.Millisecond).Format("2006-01-02T15:04:05.000Z"),
			"time":            41.5, "_resourceType": "fetch", "cache": map[string]any{}, "serverIPAddress": "203.0.113.7",
			"timings": map[string]any{"blocked": -1, "dns": -1, "connect": -1, "ssl": -1, "send": 0.2, "wait": 40, "receive": 1.3},
			"request": map[string]any{"method": "POST", "url": "https://sa.api.intl.miui.com/sa?project=mibrowser", "httpVersion": "HTTP/1.1",
				"headers": []map[string]string{{"name": "Host", "value": "sa.api.intl.miui.com"}, {"name": "Content-Type", "value": "application/x-www-form-urlencoded"},
					{"name": "User-Agent", "value": "Dalvik/2.1.0 (Linux; U; Android 10; Redmi Note 8 MIUI/V12.0.3.0)"}, {"name": "Content-Length", "value": fmt.Sprint(len(body))}},
				"cookies": []any{}, "queryString": []map[string]string{{"name": "project", "value": "mibrowser"}},
				"postData":    map[string]any{"mimeType": "application/x-www-form-urlencoded", "text": string(body)},
				"headersSize": -1, "bodySize": len(body)},
			"response": map[string]any{"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1",
				"headers": []map[string]string{{"name": "Content-Type", "value": "application/json"}}, "cookies": []any{},
				"content":     map[string]any{"size": 10, "mimeType": "application/json", "text": `{"code":0}`},
				"redirectURL": "", "headersSize": -1, "bodySize": 10},
		}
		line, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if _, err := cw.Write(line); err != nil {
			return err
		}
	}
	_, err := io.WriteString(cw, "]}}\n")
	return err
}

// writeDump writes the same traffic as mitmproxy 8.1 saves it.
func writeDump(w io.Writer, b *batches) error {
	cw := &counter{w: w}
	buf := []byte(nil)
	for i := 0; ; i++ {
		body := b.next(cw.n)
		if body == nil {
			return nil
		}
		f := mitmdumptest.Flow{Version: 17, Method: "POST", Scheme: "https", Host: "sa.api.intl.miui.com", Port: 443,
			Path: "/sa?project=mibrowser", Body: body, Status: 200, RespBody: []byte(`{"code":0}`),
			Headers: [][2]string{{"Host", "sa.api.intl.miui.com"}, {"Content-Type", "application/x-www-form-urlencoded"},
				{"User-Agent", "Dalvik/2.1.0 (Linux; U; Android 10; Redmi Note 8 MIUI/V12.0.3.0)"}, {"Content-Length", fmt.Sprint(len(body))}},
			RespHeaders: [][2]string{{"Content-Type", "application/json"}},
			Start:       float64(t0.Add(time.Duration(i)*37*time.Millisecond).UnixNano()) / 1e9,
			Client:      "192.168.1.23:40112", TLS: true, SNI: "sa.api.intl.miui.com", TLSVersion: "TLSv1.3"}
		buf = mitmdumptest.Append(buf[:0], f.State())
		if _, err := cw.Write(buf); err != nil {
			return err
		}
	}
}

type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
