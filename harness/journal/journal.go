// Package journal is the record of every change the harness makes to a
// phone, written before the change is made: what `telltale restore` and a
// session's teardown undo, newest first, after a clean end or a crash.
package journal

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// File is the journal's name inside a run directory.
const File = "journal.jsonl"

// Op names one kind of device change, each with its own undo.
type Op string

const (
	// OpSetting: a setting put; undone by putting Old back (deleting it when
	// Old is nil). global:http_proxy goes through ":0" first, since some
	// builds keep using a proxy whose setting was merely deleted.
	OpSetting Op = "setting"
	// OpReverse: an `adb reverse` rule for Local; undone by removing it.
	OpReverse Op = "reverse"
	// OpCASystem: mounts over the CA directories in Paths, also inside the
	// mount namespaces of the processes in Namespaces (pids); undone by
	// unmounting them there and then in adbd's namespace.
	OpCASystem Op = "ca-system"
	// OpFile: a file or directory at Path made by the harness; undone by rm -rf.
	OpFile Op = "file"
	// OpInstall: a test package installed; undone by uninstalling it.
	OpInstall Op = "install"
	// OpBattery: battery simulation changed; undone by the profile's reset command.
	OpBattery Op = "battery"
	// OpWifi: the connected network changed; undone by reconnecting Old
	// (or disconnecting when Old is nil).
	OpWifi Op = "wifi"
	// OpScreen: the screen was locked; undone by waking it.
	OpScreen Op = "screen"
	// OpUI: a change made on the phone's screen that no shell command
	// undoes (a switch inside an app, a network joined in the Settings
	// app); undone by the UI flow recorded in Flow (harness/flows).
	OpUI Op = "ui"
	// OpContainer: a proxy container (its name in Value, journaled before it
	// starts); undone by removing it. No such container counts as removed.
	OpContainer Op = "container"
	// OpIptables: an iptables or ip6tables rule (or chain) made as root, the
	// command in Value; undone by running Command, the same way (Su).
	// Undoing what is already gone counts as done.
	OpIptables Op = "iptables"
	// OpUndone marks entry Ref as put back, so a second restore skips it.
	OpUndone Op = "undone"
)

// Entry is one line of the journal. It holds everything its undo needs, so
// `telltale restore` works from the journal alone after a crash.
type Entry struct {
	Seq    int       `json:"seq"`
	Time   time.Time `json:"time"`
	Server string    `json:"server,omitempty"` // adb server host:port
	Serial string    `json:"serial,omitempty"`
	Op     Op        `json:"op"`

	Namespace string   `json:"ns,omitempty"`
	Key       string   `json:"key,omitempty"`
	Old       *string  `json:"old,omitempty"` // value before; nil: absent
	Value     string   `json:"value,omitempty"`
	Local     string   `json:"local,omitempty"`
	Path      string   `json:"path,omitempty"`
	Paths     []string `json:"paths,omitempty"`
	// Namespaces are pids whose mount namespaces got the mounts too.
	Namespaces []string `json:"namespaces,omitempty"`
	Package    string   `json:"package,omitempty"`
	Command    string   `json:"command,omitempty"` // undo command where the profile gives one
	Ref        int      `json:"ref,omitempty"`     // for OpUndone
	// Su is how the change was made as root through su ("-c" or "0"), so
	// its undo goes the same way; "" when adbd itself was root.
	Su string `json:"su,omitempty"`
	// Flow is an OpUI change's undo: a flow with everything it runs
	// (harness/flows.Recorded); Value says what was changed, for people.
	Flow json.RawMessage `json:"flow,omitempty"`
}

// Undone is the mark that says e was put back.
func (e Entry) Undone() Entry {
	return Entry{Op: OpUndone, Ref: e.Seq, Serial: e.Serial, Server: e.Server}
}

// Describe names the change for a person: "setting global:http_proxy".
func (e Entry) Describe() string {
	switch e.Op {
	case OpSetting:
		return fmt.Sprintf("setting %s:%s", e.Namespace, e.Key)
	case OpReverse:
		return "reverse " + e.Local
	case OpFile:
		return "file " + e.Path
	case OpInstall:
		return "package " + e.Package
	case OpContainer:
		return "container " + e.Value
	case OpCASystem:
		return "CA mounts " + strings.Join(e.Paths, ",")
	case OpIptables:
		return "rule " + e.Value
	}
	return string(e.Op)
}

// Journal appends entries to RUN_DIR/journal.jsonl, each synced to disk
// before Append returns: the change it describes is made only after that, so
// a crash at any point leaves a journal covering every change made.
// Several Ginkgo processes share one journal; O_APPEND keeps their lines whole
// and Seq is made unique per process by its base (and per device by Serial).
type Journal struct {
	mu   sync.Mutex
	f    *os.File
	dir  string
	next int
}

// SeqSpan is the room each process has for its sequence numbers: process N
// of a run numbers its entries from N*SeqSpan+1.
const SeqSpan = 1_000_000

// Open opens (creating) the journal in runDir. seqBase separates the
// sequence numbers of parallel processes (process N uses N*SeqSpan).
func Open(runDir string, seqBase int) (*Journal, error) {
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return nil, fmt.Errorf("journal: make run directory: %w", err)
	}
	// Continue after this base's last entry: a device leased again in the
	// same run (or a second restore) must not reuse sequence numbers that
	// undone marks already refer to.
	next := seqBase + 1
	old, err := Read(runDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	for _, e := range old {
		if e.Seq >= next && e.Seq < seqBase+SeqSpan {
			next = e.Seq + 1
		}
	}
	f, err := os.OpenFile(filepath.Join(runDir, File), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("journal: open: %w", err)
	}
	return &Journal{f: f, dir: runDir, next: next}, nil
}

// Dir is the run directory the journal is in.
func (j *Journal) Dir() string { return j.dir }

// Append writes e (assigning Seq and Time) and syncs it to disk. It returns
// the entry as written, so the caller can later mark it undone.
func (j *Journal) Append(e Entry) (Entry, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return e, errors.New("journal: closed")
	}
	e.Seq = j.next
	j.next++
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	line, err := json.Marshal(e)
	if err != nil {
		return e, fmt.Errorf("journal: encode: %w", err)
	}
	if _, err := j.f.Write(append(line, '\n')); err != nil {
		return e, fmt.Errorf("journal: write: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return e, fmt.Errorf("journal: sync: %w", err)
	}
	return e, nil
}

// Close closes the file.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}

// Read reads every complete line of runDir's journal. A torn last line (a
// crash mid-write) is ignored: its change was never made. A run directory
// without a journal is an error that wraps os.ErrNotExist.
func Read(runDir string) ([]Entry, error) {
	f, err := os.Open(filepath.Join(runDir, File))
	if err != nil {
		return nil, fmt.Errorf("journal: %w (is %s a telltale run directory?)", err, runDir)
	}
	defer f.Close()
	var out []Entry
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return out, nil // a line without '\n' is torn
		}
		if err != nil {
			return out, fmt.Errorf("journal: read: %w", err)
		}
		var e Entry
		if err := json.Unmarshal(line, &e); err != nil {
			return out, fmt.Errorf("journal: line %d of %s: %w", len(out)+1, filepath.Join(runDir, File), err)
		}
		out = append(out, e)
	}
}

// Pending returns the entries not yet marked undone, newest first: the order
// in which they must be put back. Sequence numbers are unique per device
// (sessions of one process share a base), so undone marks match on both.
func Pending(entries []Entry) []Entry {
	type key struct {
		serial string
		seq    int
	}
	undone := map[key]bool{}
	for _, e := range entries {
		if e.Op == OpUndone {
			undone[key{e.Serial, e.Ref}] = true
		}
	}
	var out []Entry
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		if e.Op != OpUndone && !undone[key{e.Serial, e.Seq}] {
			out = append(out, e)
		}
	}
	return out
}
