package leak

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/capture"
)

// The benchmark corpus: about 200 MB of requests in four kinds, with 100
// canaries of which a few are planted.
type corpus struct {
	canaries []canary.Canary
	parts    map[string][]capture.Flow
}

var (
	benchOnce   sync.Once
	benchCorpus corpus
)

const mb = 1 << 20

func buildCorpus() corpus {
	g := canary.NewGenerator(99)
	var cs []canary.Canary
	for i := range 100 {
		id := fmt.Sprint(i)
		switch i % 7 {
		case 0:
			cs = append(cs, g.URL("url"+id))
		case 1:
			cs = append(cs, g.Search("search"+id))
		case 2:
			cs = append(cs, g.Package("pkg"+id))
		case 3:
			cs = append(cs, g.Folder("folder"+id))
		case 4:
			cs = append(cs, g.SSID("ssid"+id))
		case 5:
			cs = append(cs, g.SettingValue("setting"+id))
		default:
			cs = append(cs, g.Email("email"+id))
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	// Pages, titles and ids vary the way real browsing does, so batches
	// compress like real ones (about 5:1), not like repeated text.
	syll := []string{"ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "den", "gar", "pol", "quin", "ber", "ost", "lan", "tre"}
	word := func() string {
		w := ""
		for range 2 + r.IntN(3) {
			w += syll[r.IntN(len(syll))]
		}
		return w
	}
	hexID := func(n int) string {
		const digits = "0123456789abcdef"
		b := make([]byte, n)
		for i := range b {
			b[i] = digits[r.IntN(16)]
		}
		return string(b)
	}
	event := func(n int) map[string]any {
		props := map[string]any{
			"url": fmt.Sprintf("https://www.%s.com/%s/%s-%s-%s-%d?utm_source=%s&sid=%s", word(), word(), word(), word(), word(),
				r.IntN(1e8), word(), hexID(16)),
			"title":      word() + " " + word() + " " + word() + " " + word(),
			"$referrer":  "https://www." + word() + ".com/",
			"duration":   r.IntN(600000),
			"session_id": hexID(32),
		}
		if n%200 == 0 { // one visit in 200 is a planted canary
			props["url"] = cs[r.IntN(len(cs))].Value
		}
		e := saEvent("browser_visit", props)
		e["_track_id"] = r.Int64N(1 << 40)
		e["time"] = 1588000000000 + int64(n)*1371 + r.Int64N(1000)
		return e
	}
	parts := map[string][]capture.Flow{}
	add := func(kind string, limit int, mk func(i int) capture.Flow) {
		size := 0
		for i := 0; size < limit; i++ {
			f := mk(i)
			size += len(f.Request.Body)
			parts[kind] = append(parts[kind], f)
		}
	}
	n := 0
	add("telemetry", 70*mb, func(int) capture.Flow {
		evs := make([]map[string]any, 50)
		for i := range evs {
			evs[i] = event(n)
			n++
		}
		return saFlow(int64(n), evs...)
	})
	add("json", 30*mb, func(int) capture.Flow {
		evs := make([]map[string]any, 5)
		for i := range evs {
			evs[i] = event(n)
			n++
		}
		return post(int64(n), "https://api.test/v1/events", nil, javaJSON(evs))
	})
	add("form", 20*mb, func(i int) capture.Flow {
		var b bytes.Buffer
		for j := range 40 {
			fmt.Fprintf(&b, "f%d=%s&", j, url.QueryEscape(word()+" "+word()+fmt.Sprint(r.IntN(1e9))))
		}
		b.WriteString("u=" + url.QueryEscape(event(n)["properties"].(map[string]any)["url"].(string)))
		b.WriteString("&ctx=" + url.QueryEscape(string(b64(mustJSON(event(n)["lib"])))))
		n++
		return post(int64(n), "https://forms.test/submit", nil, b.Bytes())
	})
	add("undecodable", 80*mb, func(i int) capture.Flow {
		b := make([]byte, 256<<10)
		for j := 0; j < len(b); j += 8 {
			v := r.Uint64()
			for k := range 8 {
				b[j+k] = byte(v >> (8 * k))
			}
		}
		// Keep the body from looking like gzip/zlib/protobuf by chance.
		b[0], b[1] = 0xff, 0xff
		return post(int64(i), "https://blob.test/upload", []capture.Header{{Name: "Content-Type", Value: "application/octet-stream"}}, b)
	})
	for _, k := range []string{"telemetry", "json", "form", "undecodable"} {
		parts["mixed"] = append(parts["mixed"], parts[k]...)
	}
	return corpus{canaries: cs, parts: parts}
}

// cpuClock measures the process's CPU time (user and system), which on a
// machine shared with other jobs says more than the wall clock: a benchmark
// reports both, the wall clock by go test and the CPU time by report.
type cpuClock struct{ start time.Duration }

func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() cpuClock { return cpuClock{cpuNow()} }

// report adds cpu-MB/s (when bytes > 0) or cpu-ns/op to b's results.
func (c cpuClock) report(b *testing.B, bytes int64) {
	spent := cpuNow() - c.start
	if spent <= 0 || b.N == 0 {
		return
	}
	if bytes > 0 {
		b.ReportMetric(float64(bytes)*float64(b.N)/spent.Seconds()/1e6, "cpu-MB/s")
		return
	}
	b.ReportMetric(float64(spent.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// unwrapper undoes the layers of Sensors Analytics batches the way the
// detector must at the least: form field, percent, base64, gzip.
type unwrapper struct {
	mt         *matcher
	zr         gzip.Reader
	plain, raw []byte
	out        []byte
	hits       []hit
	tail       tails
}

// pass unwraps every batch of flows, matching the JSON when match is set.
func (u *unwrapper) pass(b *testing.B, flows []capture.Flow, match bool) {
	if u.out == nil {
		u.raw, u.out = make([]byte, 1<<20), make([]byte, 8<<20)
	}
	for _, f := range flows {
		_, v, _ := bytes.Cut(f.Request.Body, []byte("data_list="))
		u.plain = percentDecode(u.plain[:0], v, true)
		if need := base64.StdEncoding.DecodedLen(len(u.plain)); need > cap(u.raw) {
			u.raw = make([]byte, need)
		}
		n, err := base64.StdEncoding.Decode(u.raw, u.plain)
		if err != nil {
			b.Fatal(err)
		}
		if err := u.zr.Reset(bytes.NewReader(u.raw[:n])); err != nil {
			b.Fatal(err)
		}
		m, err := io.ReadFull(&u.zr, u.out)
		if err != io.ErrUnexpectedEOF {
			b.Fatalf("batch of %d bytes did not inflate to under %d: %v", n, len(u.out), err)
		}
		if match {
			u.hits = u.mt.find(u.out[:m], u.hits[:0], &u.tail)
		}
	}
}

func wireBytes(flows []capture.Flow) int64 {
	var n int64
	for _, f := range flows {
		n += int64(len(f.Request.Body))
	}
	return n
}

// BenchmarkScan reports MB/s of request bytes on one core (run with -cpu 1),
// next to bytes.Index over the same bodies for one absent pattern: the
// memory-speed bound, measured in the same run. telemetry/paired gives the
// detector's speed as a fraction of the unwrap-only floor.
func BenchmarkScan(b *testing.B) {
	benchOnce.Do(func() { benchCorpus = buildCorpus() })
	c := benchCorpus
	d := New(c.canaries)
	absent := []byte("telltale-absent-pattern-7kq2")
	// The floors for telemetry: undoing the form, base64 and gzip layers
	// alone, with no matching at all, and then one matcher pass over the
	// decompressed JSON, which every byte must get whatever the walk does.
	tele := c.parts["telemetry"]
	for _, match := range []bool{false, true} {
		name := "telemetry/unwrap-only"
		if match {
			name = "telemetry/unwrap+match"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(wireBytes(tele))
			u := &unwrapper{mt: d.t.mt}
			cpu := startCPU()
			for b.Loop() {
				u.pass(b, tele, match)
			}
			cpu.report(b, wireBytes(tele))
		})
	}
	// The ratio, paired: each iteration times one unwrap-only pass and one
	// detector pass back to back on the CPU clock, so that other jobs on a
	// shared machine weigh on both alike.
	b.Run("telemetry/paired", func(b *testing.B) {
		u := &unwrapper{mt: d.t.mt}
		var floor, det time.Duration
		for b.Loop() {
			t0 := cpuNow()
			u.pass(b, tele, false)
			t1 := cpuNow()
			d.Scan(tele)
			det += cpuNow() - t1
			floor += t1 - t0
		}
		mb := float64(wireBytes(tele)) * float64(b.N) / 1e6
		b.ReportMetric(mb/floor.Seconds(), "floor-cpu-MB/s")
		b.ReportMetric(mb/det.Seconds(), "detector-cpu-MB/s")
		b.ReportMetric(floor.Seconds()/det.Seconds(), "ratio")
	})
	for _, kind := range []string{"mixed", "undecodable", "telemetry"} {
		flows := c.parts[kind]
		b.Run(kind+"/detector", func(b *testing.B) {
			b.SetBytes(wireBytes(flows))
			found := 0
			cpu := startCPU()
			for b.Loop() {
				found = len(d.Scan(flows).Findings)
			}
			cpu.report(b, wireBytes(flows))
			b.ReportMetric(float64(found), "findings")
		})
		b.Run(kind+"/bytes.Index", func(b *testing.B) {
			b.SetBytes(wireBytes(flows))
			for b.Loop() {
				for _, f := range flows {
					if bytes.Index(f.Request.Body, absent) >= 0 {
						b.Fatal("absent pattern found")
					}
				}
			}
		})
	}
}

// sessionLog is a device session's traffic: telemetry batches (one event in
// about fifty carries a canary planted earlier), OneTrack uploads, gzip JSON
// posts and tracker GETs, in the proportions of the simulated phone's log.
type sessionLog struct {
	canaries []canary.Canary // planted before the log starts
	pool     []capture.Flow  // flow shapes, each reused with new seqs
	// planted[i] is window i's canary and leaks[i] the batch carrying it,
	// built ahead so that the benchmark does not time gzip.
	planted []canary.Canary
	leaks   []capture.Flow
}

// maxWindows bounds the windows a benchmark run may time.
const maxWindows = 500

func newSessionLog() *sessionLog {
	l := &sessionLog{}
	gen := canary.NewGenerator(7)
	for i := range 100 {
		l.canaries = append(l.canaries, gen.Folder(fmt.Sprint("earlier", i)))
	}
	for i := range maxWindows {
		c := gen.Folder(fmt.Sprint("w", i))
		l.planted = append(l.planted, c)
		l.leaks = append(l.leaks, saFlow(0, saEvent("folder_create", map[string]any{"folder": c.Value})))
	}
	key := []byte("0123456789abcdef")
	ot := oneTrack(0, key, "s1", base64.StdEncoding.EncodeToString(key), otEvent("app_open", map[string]any{"package": "com.android.settings"}))
	l.pool = append(l.pool, ot[0]) // the key exchange comes first
	for i := range 50 {
		evs := make([]map[string]any, 5)
		for j := range evs {
			props := map[string]any{"url": fmt.Sprintf("https://www.site%d.test/page/%d?ref=home", i, j), "title": "page title"}
			if (i*5+j)%50 == 0 {
				props["url"] = l.canaries[i%len(l.canaries)].Value
			}
			evs[j] = saEvent("browser_visit", props)
		}
		l.pool = append(l.pool, saFlow(0, evs...))
		if i%5 == 0 {
			l.pool = append(l.pool, ot[1], post(0, "https://api.sec.intl.miui.com/v1/scan",
				[]capture.Header{{Name: "Content-Encoding", Value: "gzip"}}, gz(mustJSON(map[string]any{"pkgs": []string{"com.a", "com.b"}}))))
		}
		l.pool = append(l.pool, capture.Flow{Kind: capture.KindHTTP, Request: &capture.Request{Method: "GET",
			URL: fmt.Sprintf("https://t.tracker.test/p.gif?e=view&id=%016x&u=%s", i*7919, url.QueryEscape("https://www.site.test/"))}})
	}
	return l
}

// flows returns n flows with seqs from seq+1, cycling through the pool.
func (l *sessionLog) flows(seq int64, n int) []capture.Flow {
	out := make([]capture.Flow, n)
	for i := range out {
		out[i] = l.pool[(int(seq)+i)%len(l.pool)]
		out[i].Seq = seq + int64(i) + 1
	}
	return out
}

// window is action i's window from seq: its start mark, a dozen flows of the
// log's kinds, the batch carrying its canary, and its end mark.
func (l *sessionLog) window(b *testing.B, i int, seq int64) (canary.Canary, []capture.Flow) {
	if i >= maxWindows {
		b.Fatalf("more than %d windows: run with -benchtime %dx or fewer", maxWindows, maxWindows)
	}
	fs := append([]capture.Flow{{Kind: capture.KindMark, Mark: "start:w", Seq: seq}}, l.flows(seq, 12)...)
	leak := l.leaks[i]
	leak.Seq = seq + 13
	return l.planted[i], append(fs, leak, capture.Flow{Kind: capture.KindMark, Mark: "end:w", Seq: seq + 14})
}

const windowLen = 15

// BenchmarkSessionWindow is the cost of one action's window once the
// session's log already holds 1k, 10k or 100k flows: plant the action's
// canary, add the window's flows, ask for the canary's findings and for
// everything since the window's start. The incremental session should cost
// the same at every length; "rescan" is the old way (each window re-decodes
// the log up to its end), shown up to 10k flows. Run with a fixed
// -benchtime (e.g. 100x) so every length plants as many canaries.
func BenchmarkSessionWindow(b *testing.B) {
	l := newSessionLog()
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("incremental/log=%dk", n/1000), func(b *testing.B) {
			s := NewSession()
			if err := s.Plant(Planting{}, l.canaries...); err != nil {
				b.Fatal(err)
			}
			for seq := int64(0); seq < int64(n); seq += 1000 {
				s.Add(l.flows(seq, 1000)...)
			}
			seq, i, found := int64(n), 0, 0
			cpu := startCPU()
			for b.Loop() {
				c, w := l.window(b, i, seq)
				if err := s.Plant(Planting{Seq: seq}, c); err != nil {
					b.Fatal(err)
				}
				s.Add(w...)
				found = len(s.Report(Query{Canaries: []string{c.ID}}).Findings)
				_ = s.Report(Query{After: seq})
				seq += windowLen
				i++
			}
			cpu.report(b, 0)
			if found != 1 {
				b.Fatalf("the window's canary was found %d times, want 1", found)
			}
			b.ReportMetric(float64(n), "flows-before")
		})
	}
	for _, n := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("rescan/log=%dk", n/1000), func(b *testing.B) {
			log := l.flows(0, n)
			cs := slices.Clone(l.canaries)
			i := 0
			cpu := startCPU()
			for b.Loop() {
				c, w := l.window(b, i, int64(n))
				cs = append(cs, c)
				rep := New(cs).Scan(append(slices.Clip(log), w...))
				if len(rep.Findings) == 0 {
					b.Fatal("nothing found")
				}
				i++
			}
			cpu.report(b, 0)
			b.ReportMetric(float64(n), "flows-before")
		})
	}
}
