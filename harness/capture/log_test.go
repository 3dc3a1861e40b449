package capture

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func sampleFlow(i int) *Flow {
	return &Flow{
		Kind: KindHTTP, Start: time.Unix(1700000000, int64(i)).UTC(), Client: "127.0.0.1:1",
		Request: &Request{Method: "POST", URL: "https://h.test/p", Proto: "HTTP/1.1",
			Headers: []Header{{"B", "2"}, {"A", "1"}, {"B", "3"}}, Body: []byte{0, 1, 2, 0xff}, BodySize: 4},
		Response: &Response{Status: 200, Proto: "HTTP/1.1", Headers: []Header{}, Body: []byte(`{"code":0}`), BodySize: 10},
	}
}

func TestLogWriterAppendsConcurrentlyWithUniqueOrderedSeqs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.jsonl")
	w, err := NewLogWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				if err := w.Append(sampleFlow(g*1000 + i)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	w.Close()
	flows, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(flows) != 1600 {
		t.Fatalf("%d flows, want 1600", len(flows))
	}
	for i, f := range flows {
		if f.Seq != int64(i+1) {
			t.Fatalf("line %d has seq %d", i+1, f.Seq)
		}
	}
	got := flows[0].Request
	if got.Headers[0] != (Header{"B", "2"}) || got.Headers[2] != (Header{"B", "3"}) || !bytes.Equal(got.Body, []byte{0, 1, 2, 0xff}) {
		t.Errorf("round trip changed the request: %+v", got)
	}
}

// A kill -9 mid-write leaves a partial last line: readers drop it, and a
// restarted writer cuts it off and continues the sequence.
func TestPartialLastLineAfterCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.jsonl")
	w, _ := NewLogWriter(path)
	for i := range 3 {
		w.Append(sampleFlow(i))
	}
	w.Close()
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"seq":4,"kind":"ht`)
	f.Close()
	flows, err := ReadFile(path)
	if err != nil || len(flows) != 3 {
		t.Fatalf("ReadFile = %d flows, %v; want 3 and no error", len(flows), err)
	}
	w, err = NewLogWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	fl := sampleFlow(9)
	if err := w.Append(fl); err != nil || fl.Seq != 4 {
		t.Fatalf("append after restart: seq %d, err %v; want seq 4", fl.Seq, err)
	}
	w.Close()
	flows, err = ReadFile(path)
	if err != nil || len(flows) != 4 {
		t.Fatalf("after restart: %d flows, %v", len(flows), err)
	}
}

func TestReadLogRejectsACorruptCompleteLine(t *testing.T) {
	_, err := ReadLog(strings.NewReader("{\"seq\":1,\"kind\":\"http\"}\nnot json\n{\"seq\":3}\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("err = %v, want one naming line 2", err)
	}
}

func TestCopySinceUsesTheIndexAcrossManyFlows(t *testing.T) {
	w, _ := NewLogWriter(filepath.Join(t.TempDir(), "f.jsonl"))
	defer w.Close()
	for i := range 500 {
		w.Append(sampleFlow(i))
	}
	for _, since := range []int64{0, 1, 63, 64, 65, 128, 499, 500, 900} {
		var buf bytes.Buffer
		last, err := w.CopySince(&buf, since)
		if err != nil {
			t.Fatal(err)
		}
		flows, err := ReadLog(&buf)
		if err != nil {
			t.Fatal(err)
		}
		want := max(0, 500-since)
		if int64(len(flows)) != want {
			t.Fatalf("since %d: %d flows, want %d", since, len(flows), want)
		}
		if want > 0 && (flows[0].Seq != since+1 || last != 500) {
			t.Errorf("since %d: first seq %d, last %d", since, flows[0].Seq, last)
		}
	}
}

// Wait blocks while nothing is newer than since, and wakes on the Append
// that changes that. synctest.Wait returns only once every goroutine of the
// bubble is blocked, so the waiter is known to be inside Wait, not on its
// way there, when the flow is appended.
func TestWaitWakesOnAppend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, err := NewLogWriter(filepath.Join(t.TempDir(), "f.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		w.Append(sampleFlow(1))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel() // ends the waiter when the test fails
		done := make(chan error, 1)
		go func() { done <- w.Wait(ctx, 1) }()
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("Wait(since 1) returned %v with only seq 1 in the log", err)
		default:
		}
		w.Append(sampleFlow(2))
		synctest.Wait()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Wait after the append: %v", err)
			}
		default:
			t.Fatal("Wait still blocked after a flow with a newer seq was appended")
		}
	})
}

// Wait gives up when its context ends, with the context's error.
func TestWaitEndsWithItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, err := NewLogWriter(filepath.Join(t.TempDir(), "f.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := w.Wait(ctx, 0); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Wait on an empty log = %v, want the deadline", err)
		}
	})
}

func TestWindows(t *testing.T) {
	mk := func(seq int64, kind Kind, mark string) Flow { return Flow{Seq: seq, Kind: kind, Mark: mark} }
	flows := []Flow{
		mk(1, KindHTTP, ""), mk(2, KindMark, "start:browse"), mk(3, KindHTTP, ""),
		mk(4, KindMark, "start:search"), mk(5, KindTLSFailure, ""), mk(6, KindMark, "end:browse"),
		mk(7, KindHTTP, ""), mk(8, KindMark, "other"), mk(9, KindHTTP, ""),
	}
	ws := Windows(flows)
	if len(ws) != 2 || ws[0] != (Window{"browse", 2, 6}) || ws[1].Name != "search" || ws[1].Start != 4 {
		t.Fatalf("windows = %+v", ws)
	}
	var seqs []int64
	for _, f := range Between(flows, ws[0]) {
		seqs = append(seqs, f.Seq)
	}
	if len(seqs) != 2 || seqs[0] != 3 || seqs[1] != 5 {
		t.Errorf("browse holds %v, want [3 5]", seqs)
	}
	// search never ended: it runs to the end of the log.
	if n := len(Between(flows, ws[1])); n != 3 {
		t.Errorf("unclosed search window holds %d flows, want 3", n)
	}
}

// BenchmarkAppend is the cost of recording one flow with a 2 KB body, from
// concurrent goroutines as the proxy does.
func BenchmarkAppend(b *testing.B) {
	w, err := NewLogWriter(filepath.Join(b.TempDir(), "f.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	body := bytes.Repeat([]byte("x"), 2048)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			f := sampleFlow(1)
			f.Request.Body = body
			if err := w.Append(f); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
