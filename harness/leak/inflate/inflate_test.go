package inflate

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
)

// inputs are payloads of every kind a DEFLATE encoder codes differently:
// empty, incompressible, text, long runs (distance 1), short periods
// (distances under 8), JSON that repeats, and sizes past the 32 KiB window.
func inputs() map[string][]byte {
	r := rand.New(rand.NewPCG(7, 9))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	words := []string{"alpha", "beta", "gamma", "https://www.example.com/", "\"$device_id\":", "0123456789", " ", "\n"}
	text := func(n int) []byte {
		var b bytes.Buffer
		for b.Len() < n {
			b.WriteString(words[r.IntN(len(words))])
		}
		return b.Bytes()
	}
	var js bytes.Buffer
	for i := range 2000 {
		fmt.Fprintf(&js, `{"event":"visit","n":%d,"id":"%016x","url":"https://site%d.test/p?q=%d"},`, i, r.Uint64(), i%37, r.IntN(1e6))
	}
	var events bytes.Buffer // a long part common to every event, as SDKs send
	for i := range 500 {
		fmt.Fprintf(&events, `{"properties":{"$os":"Android","$os_version":"10","$manufacturer":"Xiaomi","$model":"Redmi Note 8",`+
			`"$brand":"Redmi","$app_version":"12.1.0","$carrier":"T-Mobile","$device_id":"a1b2c3d4e5f60718","$wifi":true},`+
			`"time":%d,"id":"%016x"},`, 1588000000000+i*1371, r.Uint64())
	}
	return map[string][]byte{
		"events":       events.Bytes(),
		"empty":        nil,
		"one byte":     {'x'},
		"random 100k":  random(100 << 10),
		"text 300k":    text(300 << 10),
		"zeros 200k":   make([]byte, 200<<10),
		"period 3":     bytes.Repeat([]byte("abc"), 50000),
		"period 7":     bytes.Repeat([]byte("abcdefg"), 20000),
		"json":         js.Bytes(),
		"mixed":        append(append(random(40<<10), text(80<<10)...), random(1000)...),
		"long runs 1M": bytes.Repeat(append(make([]byte, 1000), text(3000)...), 250),
	}
}

func deflateAt(level int, b []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, level)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

var levels = []int{flate.NoCompression, flate.HuffmanOnly, flate.BestSpeed, 4, flate.DefaultCompression, flate.BestCompression}

func TestRoundTripsAgainstCompressFlate(t *testing.T) {
	var d Decoder
	for name, in := range inputs() {
		for _, level := range levels {
			raw := deflateAt(level, in)
			var gz, zl bytes.Buffer
			gw, _ := gzip.NewWriterLevel(&gz, level)
			gw.Name = "payload.json" // FNAME
			gw.Comment = "a comment" // FCOMMENT
			gw.Extra = []byte("xx")  // FEXTRA
			gw.Write(in)
			gw.Close()
			zw, _ := zlib.NewWriterLevel(&zl, level)
			zw.Write(in)
			zw.Close()
			for f, src := range map[Format][]byte{Raw: raw, Gzip: gz.Bytes(), Zlib: zl.Bytes()} {
				out, err := d.Decode(f, nil, src, 64<<20, nil)
				if err != nil || !bytes.Equal(out, in) {
					t.Fatalf("%s level %d format %d: err %v, %d bytes out of %d, equal %v", name, level, f, err, len(out), len(in), bytes.Equal(out, in))
				}
			}
		}
	}
}

func TestGzipMembersConcatenate(t *testing.T) {
	var buf bytes.Buffer
	for _, part := range []string{"first member ", "second member ", ""} {
		w := gzip.NewWriter(&buf)
		w.Write([]byte(part))
		w.Close()
	}
	var d Decoder
	out, err := d.Decode(Gzip, nil, buf.Bytes(), 1<<20, nil)
	if err != nil || string(out) != "first member second member " {
		t.Fatalf("got %q, %v", out, err)
	}
	out, err = d.Decode(Gzip, nil, append(buf.Bytes(), "junk after"...), 1<<20, nil)
	if !errors.Is(err, ErrTrailing) || string(out) != "first member second member " {
		t.Fatalf("trailing junk: got %q, %v", out, err)
	}
}

// copyBlock is a final fixed-code block that copies 10 bytes from 10 back
// and ends: 1 and 01 (final, fixed), length 10 as code 264 (0001000), the
// distance as code 6 (00110) with extra bits 01 (9+1), end of block
// (0000000). Codes go most significant bit first, extra bits least first.
func copyBlock() []byte {
	var bits []byte
	for _, field := range []string{"1", "10", "0001000", "00110", "10", "0000000"} {
		for _, c := range field {
			bits = append(bits, byte(c-'0'))
		}
	}
	out := make([]byte, (len(bits)+7)/8)
	for i, b := range bits {
		out[i/8] |= b << (i % 8)
	}
	return out
}

// A member's copies cannot reach into the member before it.
func TestGzipMemberCannotCopyFromTheOneBefore(t *testing.T) {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write([]byte("0123456789"))
	w.Close()
	first := buf.Len()
	block := copyBlock()
	buf.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	buf.Write(block)
	buf.Write(make([]byte, 8))
	var d Decoder
	out, err := d.Decode(Gzip, nil, buf.Bytes(), 1<<20, nil)
	if !errors.Is(err, ErrCorrupt) || string(out) != "0123456789" {
		t.Fatalf("copy into the previous member: got %q, %v", out, err)
	}
	// The first member alone decodes cleanly.
	if _, err := d.Decode(Gzip, nil, buf.Bytes()[:first], 1<<20, nil); err != nil {
		t.Fatal(err)
	}
}

func TestHeaders(t *testing.T) {
	var d Decoder
	for name, tc := range map[string]struct {
		f   Format
		src []byte
	}{
		"gzip magic":        {Gzip, []byte{0x1f, 0x8c, 8, 0, 0, 0, 0, 0, 0, 0, 3, 0}},
		"gzip method":       {Gzip, []byte{0x1f, 0x8b, 7, 0, 0, 0, 0, 0, 0, 0, 3, 0}},
		"gzip short":        {Gzip, []byte{0x1f, 0x8b, 8, 0}},
		"gzip name no end":  {Gzip, []byte{0x1f, 0x8b, 8, 8, 0, 0, 0, 0, 0, 0, 'a', 'b'}},
		"gzip extra past":   {Gzip, []byte{0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0, 0xff, 0}},
		"zlib check bits":   {Zlib, []byte{0x78, 0x9d, 3, 0}},
		"zlib method":       {Zlib, []byte{0x79, 0x9c, 3, 0}},
		"zlib dictionary":   {Zlib, []byte{0x78, 0xbb, 3, 0}},
		"zlib window 64KiB": {Zlib, []byte{0x88, 0x98, 3, 0}},
	} {
		if out, err := d.Decode(tc.f, nil, tc.src, 1<<20, nil); !errors.Is(err, ErrHeader) || out != nil {
			t.Errorf("%s: got %q, %v; want ErrHeader", name, out, err)
		}
	}
}

// A stream cut anywhere yields a prefix of its output and an error; never a
// panic or the full output.
func TestTruncatedStreamsKeepWhatDecoded(t *testing.T) {
	var d Decoder
	in := inputs()["json"][:60<<10]
	for _, level := range levels {
		for f, src := range map[Format][]byte{Raw: deflateAt(level, in), Zlib: zlibAt(level, in), Gzip: gzipAt(level, in)} {
			for cut := 0; cut < len(src); cut += 1 + cut/50 {
				out, err := d.Decode(f, nil, src[:cut], 1<<20, nil)
				if err == nil || !bytes.HasPrefix(in, out) {
					t.Fatalf("level %d format %d cut at %d of %d: err %v, output a prefix: %v", level, f, cut, len(src), err, bytes.HasPrefix(in, out))
				}
			}
		}
	}
	// Cut inside the last block, a truncated stream still gives most of it.
	src := deflateAt(flate.BestSpeed, in)
	out, err := d.Decode(Raw, nil, src[:len(src)-10], 1<<20, nil)
	if !errors.Is(err, ErrTruncated) || len(out) < len(in)/2 {
		t.Fatalf("cut 10 bytes short: %d of %d bytes, %v", len(out), len(in), err)
	}
}

func zlibAt(level int, b []byte) []byte {
	var buf bytes.Buffer
	w, _ := zlib.NewWriterLevel(&buf, level)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func gzipAt(level int, b []byte) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, level)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestLimitStopsOutput(t *testing.T) {
	var d Decoder
	in := inputs()["text 300k"]
	for _, level := range levels {
		src := deflateAt(level, in)
		for _, limit := range []int{0, 1, 1000, 65536, len(in) - 1} {
			out, err := d.Decode(Raw, nil, src, limit, nil)
			if !errors.Is(err, ErrLimit) || !bytes.Equal(out, in[:limit]) {
				t.Fatalf("level %d limit %d: %d bytes, %v", level, limit, len(out), err)
			}
		}
		if out, err := d.Decode(Raw, nil, src, len(in), nil); err != nil || !bytes.Equal(out, in) {
			t.Fatalf("level %d exact limit: %d bytes, %v", level, len(out), err)
		}
	}
}

// A gzip bomb costs the limit, not its size.
func TestBombStopsAtLimit(t *testing.T) {
	bomb := gzipAt(flate.BestCompression, make([]byte, 64<<20))
	var d Decoder
	out, err := d.Decode(Gzip, make([]byte, 0, 1<<20), bomb, 1<<20, nil)
	if !errors.Is(err, ErrLimit) || len(out) != 1<<20 {
		t.Fatalf("bomb: %d bytes, %v", len(out), err)
	}
}

// Output starts in the caller's buffer and moves to what grow returns.
func TestGrowKeepsOutput(t *testing.T) {
	var d Decoder
	in := inputs()["long runs 1M"]
	src := deflateAt(flate.DefaultCompression, in)
	calls := 0
	grow := func(b []byte) []byte {
		calls++
		nb := make([]byte, len(b), 2*len(b)+100)
		copy(nb, b)
		return nb
	}
	out, err := d.Decode(Raw, make([]byte, 0, 100), src, len(in), grow)
	if err != nil || !bytes.Equal(out, in) || calls == 0 {
		t.Fatalf("%d bytes, %v, %d grows", len(out), err, calls)
	}
	small := make([]byte, 0, 4096)
	out, _ = d.Decode(Raw, small, deflateAt(flate.BestSpeed, in[:1000]), 1<<20, grow)
	if &out[0] != &small[:1][0] {
		t.Error("output that fits was not decoded into the caller's buffer")
	}
}

func TestCorruptBlocks(t *testing.T) {
	var d Decoder
	for name, src := range map[string][]byte{
		"reserved block type": {0x07},
		"stored length check": {0x01, 0x05, 0x00, 0xfa, 0xfe, 'a'},
		"copy before start":   copyBlock(),
		"too many lengths":    {0xfd, 0xff, 0xff, 0xff, 0xff},
	} {
		if _, err := d.Decode(Raw, nil, src, 1<<20, nil); !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTruncated) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzDecode checks arbitrary input against compress/flate: the same output
// when it decodes, an error when it fails (after at least what it gave),
// and never a panic.
func FuzzDecode(f *testing.F) {
	for _, in := range inputs() {
		for _, level := range levels {
			src := deflateAt(level, in[:min(len(in), 4096)])
			f.Add(src)
		}
	}
	var d Decoder
	f.Fuzz(func(t *testing.T, src []byte) {
		want, werr := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(src)), 1<<20+1))
		got, err := d.Decode(Raw, nil, src, 1<<20, nil)
		switch {
		case len(want) > 1<<20:
			if !errors.Is(err, ErrLimit) || !bytes.Equal(got, want[:1<<20]) {
				t.Fatalf("past the limit: %d bytes, %v", len(got), err)
			}
		case werr == nil:
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("compress/flate decodes %d bytes; got %d, %v", len(want), len(got), err)
			}
		default:
			if err == nil || !bytes.HasPrefix(got, want) {
				t.Fatalf("compress/flate fails (%v) after %d bytes; got %d, %v", werr, len(want), len(got), err)
			}
		}
	})
}
