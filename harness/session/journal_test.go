package session

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestJournalSurvivesTornLineAndTracksUndone(t *testing.T) {
	dir := t.TempDir()
	j, err := OpenJournal(dir, 2_000_000)
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
	if _, err := j.Append(Entry{Op: OpUndone, Ref: c.Seq}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	// A crash mid-write leaves a line without its newline: it must be
	// ignored, since its change was never made.
	f, _ := os.OpenFile(filepath.Join(dir, JournalFile), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"seq":9,"op":"file","path":"/sdcard/x`)
	f.Close()

	entries, err := ReadJournal(dir)
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

func TestReadJournalNamesTheProblem(t *testing.T) {
	if _, err := ReadJournal(t.TempDir()); err == nil {
		t.Fatal("no error for a directory without a journal")
	}
}

func TestSnapshotDiff(t *testing.T) {
	a := Snapshot{"global": {"http_proxy": ":0", "wifi_on": "1"}, "secure": {"x": "1"}}
	b := Snapshot{"global": {"http_proxy": "127.0.0.1:8080", "wifi_on": "1"}, "secure": {}, "system": {"new": "v"}}
	got := a.Diff(b)
	want := []string{
		`global:http_proxy was ":0", now "127.0.0.1:8080"`,
		`secure:x was "1", now unset`,
		`system:new was unset, now "v"`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("diff\n%q\nwant\n%q", got, want)
	}
	if d := a.Diff(a); len(d) != 0 {
		t.Fatalf("a snapshot differs from itself: %v", d)
	}
}

func TestFirmwareMatches(t *testing.T) {
	for _, c := range []struct {
		full, want string
		ok         bool
	}{
		{"V11.0.3.0.PCOMIXM", "V11.0.3.0", true},
		{"V11.0.3.0.PCOMIXM", "v11.0.3.0.pcomixm", true},
		{"V11.0.3.0.PCOMIXM", "V11.0.3", false}, // a short form is four parts
		{"V11.0.30.0.PCOMIXM", "V11.0.3.0", false},
		{"V12.0.2.0.QCOMIXM", "V11.0.3.0", false},
	} {
		if got := FirmwareMatches(c.full, c.want); got != c.ok {
			t.Errorf("FirmwareMatches(%q, %q) = %v, want %v", c.full, c.want, got, c.ok)
		}
	}
}

// A device leased twice in one run (or restored twice) must not reuse
// sequence numbers that earlier undone marks refer to.
func TestJournalReopenContinuesSequence(t *testing.T) {
	dir := t.TempDir()
	j, _ := OpenJournal(dir, 0)
	a, _ := j.Append(Entry{Serial: "s", Op: OpReverse, Local: "tcp:8080"})
	j.Append(Entry{Serial: "s", Op: OpUndone, Ref: a.Seq})
	j.Close()
	j, _ = OpenJournal(dir, 0)
	b, _ := j.Append(Entry{Serial: "s", Op: OpReverse, Local: "tcp:8080"})
	j.Close()
	if b.Seq <= a.Seq+1 {
		t.Fatalf("reopened journal reused seq %d (first entry %d)", b.Seq, a.Seq)
	}
	entries, _ := ReadJournal(dir)
	if p := Pending(entries); len(p) != 1 || p[0].Seq != b.Seq {
		t.Fatalf("pending %+v, want only the second session's entry", p)
	}
}
