package journal

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestJournalSurvivesTornLineAndTracksUndone(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir, 2_000_000)
	if err != nil {
		t.Fatal(err)
	}
	old := "127.0.0.1:3128"
	a, err := j.Append(Entry{Op: OpSetting, Namespace: "global", Key: "http_proxy", Old: &old, Value: "127.0.0.1:8080"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := j.Append(Entry{Op: OpReverse, Local: "tcp:8080"})
	c, _ := j.Append(Entry{Op: OpInstall, Package: "com.example.tabc"})
	if a.Seq != 2_000_001 || b.Seq != 2_000_002 || c.Seq != 2_000_003 {
		t.Fatalf("seqs %d %d %d, want 2000001..3", a.Seq, b.Seq, c.Seq)
	}
	if _, err := j.Append(c.Undone()); err != nil {
		t.Fatal(err)
	}
	j.Close()
	// A crash mid-write leaves a line without its newline: it must be
	// ignored, since its change was never made.
	f, _ := os.OpenFile(filepath.Join(dir, File), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"seq":9,"op":"file","path":"/sdcard/x`)
	f.Close()

	entries, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 4 {
		t.Fatalf("read %d entries, want 4 (torn line dropped)", len(entries))
	}
	var got []Op
	for _, e := range Pending(entries) {
		got = append(got, e.Op)
	}
	// Newest first, the undone install left out.
	if want := []Op{OpReverse, OpSetting}; !reflect.DeepEqual(got, want) {
		t.Fatalf("pending %v, want %v", got, want)
	}
	if p := Pending(entries); *p[1].Old != old {
		t.Fatalf("old value %q lost", *p[1].Old)
	}
}

func TestReadNamesTheProblem(t *testing.T) {
	if _, err := Read(t.TempDir()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a directory without a journal: %v, want an error wrapping os.ErrNotExist", err)
	}
}

// A damaged line (not a torn last one) is reported, also by Open: a session
// that numbered its entries past it would reuse sequence numbers.
func TestDamagedJournalIsReported(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, File), []byte("{\"seq\":1,\"op\":\"file\"}\nnot json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(dir); err == nil {
		t.Fatal("Read: no error for a damaged line")
	}
	if _, err := Open(dir, 0); err == nil {
		t.Fatal("Open: no error for a damaged journal")
	}
}

// A device leased twice in one run (or restored twice) must not reuse
// sequence numbers that earlier undone marks refer to.
func TestReopenContinuesSequence(t *testing.T) {
	dir := t.TempDir()
	j, _ := Open(dir, 0)
	a, _ := j.Append(Entry{Serial: "s", Op: OpReverse, Local: "tcp:8080"})
	j.Append(a.Undone())
	j.Close()
	j, _ = Open(dir, 0)
	b, _ := j.Append(Entry{Serial: "s", Op: OpReverse, Local: "tcp:8080"})
	j.Close()
	if b.Seq <= a.Seq+1 {
		t.Fatalf("reopened journal reused seq %d (first entry %d)", b.Seq, a.Seq)
	}
	entries, _ := Read(dir)
	if p := Pending(entries); len(p) != 1 || p[0].Seq != b.Seq {
		t.Fatalf("pending %+v, want only the second session's entry", p)
	}
}
