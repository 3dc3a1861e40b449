package leak

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"sync"
	"testing"

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

func wireBytes(flows []capture.Flow) int64 {
	var n int64
	for _, f := range flows {
		n += int64(len(f.Request.Body))
	}
	return n
}

// BenchmarkScan reports MB/s of request bytes on one core (run with -cpu 1),
// next to bytes.Index over the same bodies for one absent pattern: the
// memory-speed bound, measured in the same run.
func BenchmarkScan(b *testing.B) {
	benchOnce.Do(func() { benchCorpus = buildCorpus() })
	c := benchCorpus
	d := New(c.canaries)
	absent := []byte("telltale-absent-pattern-7kq2")
	// The floors for telemetry: undoing the form, base64 and gzip layers
	// alone, with no matching at all, and then one matcher pass over the
	// decompressed JSON, which every byte must get whatever the walk does.
	for _, match := range []bool{false, true} {
		name := "telemetry/unwrap-only"
		if match {
			name = "telemetry/unwrap+match"
		}
		b.Run(name, func(b *testing.B) {
			flows := c.parts["telemetry"]
			b.SetBytes(wireBytes(flows))
			var zr gzip.Reader
			var plain []byte
			var hits []hit
			raw, out := make([]byte, 1<<20), make([]byte, 8<<20)
			for b.Loop() {
				for _, f := range flows {
					_, v, _ := bytes.Cut(f.Request.Body, []byte("data_list="))
					plain = percentDecode(plain[:0], v, true)
					if need := base64.StdEncoding.DecodedLen(len(plain)); need > cap(raw) {
						raw = make([]byte, need)
					}
					n, err := base64.StdEncoding.Decode(raw, plain)
					if err != nil {
						b.Fatal(err)
					}
					if err := zr.Reset(bytes.NewReader(raw[:n])); err != nil {
						b.Fatal(err)
					}
					m, err := io.ReadFull(&zr, out)
					if err != io.ErrUnexpectedEOF {
						b.Fatalf("batch of %d bytes did not inflate to under %d: %v", n, len(out), err)
					}
					if match {
						hits = d.mt.find(out[:m], hits[:0])
					}
				}
			}
		})
	}
	for _, kind := range []string{"mixed", "undecodable", "telemetry"} {
		flows := c.parts[kind]
		b.Run(kind+"/detector", func(b *testing.B) {
			b.SetBytes(wireBytes(flows))
			found := 0
			for b.Loop() {
				found = len(d.Scan(flows).Findings)
			}
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
