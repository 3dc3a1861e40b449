package run

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"telltale.dev/harness/capture"
)

// File names inside a run directory.
const (
	ManifestFile = "run.json"
	FindingsFile = "findings.json"
	IndexFile    = "index.html"
	SpecsDir     = "specs"
	FlowsDir     = "flows"
	LogsDir      = "logs"
	DevicesDir   = "devices"
	lockFile     = ".lock"
)

// Writer adds to a run directory. It is safe for concurrent use, and several
// processes may hold a Writer on the same directory (see Join).
type Writer struct {
	dir string
	mu  sync.Mutex // serialises this process; the file lock serialises processes
}

// Create makes the run directory (it may exist but must not hold a run.json)
// and writes run.json at once with status "running", so even a run killed in
// its first second leaves a record of what it was.
func Create(dir string, m Manifest) (*Writer, error) {
	for _, sub := range []string{SpecsDir, FlowsDir, LogsDir} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("run: create run directory: %w", err)
		}
	}
	w := &Writer{dir: dir}
	err := w.locked(func() error {
		if _, err := os.Stat(filepath.Join(dir, ManifestFile)); err == nil {
			return fmt.Errorf("run: %s already holds a run (run.json exists); choose a new --out directory or use Join", dir)
		}
		m.SchemaVersion = SchemaVersion
		if m.Status == "" {
			m.Status = StatusRunning
		}
		if m.Start.IsZero() {
			m.Start = time.Now().UTC()
		}
		if m.RunID == "" {
			m.RunID = NewRunID(m.Start)
		}
		if err := writeJSON(filepath.Join(dir, ManifestFile), m); err != nil {
			return err
		}
		return writeJSON(filepath.Join(dir, FindingsFile), Findings{SchemaVersion: SchemaVersion, RunID: m.RunID, Specs: []SpecResult{}})
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// Join returns a Writer on a run directory another process created, for
// parallel suite processes that all record into one run.
func Join(dir string) (*Writer, error) {
	if _, err := readManifest(dir); err != nil {
		return nil, err
	}
	return &Writer{dir: dir}, nil
}

// NewRunID makes a sortable, readable run id from the start time.
func NewRunID(start time.Time) string {
	return start.UTC().Format("20060102-150405") + fmt.Sprintf("-%04x", start.Nanosecond()>>16&0xffff)
}

// Dir is the run directory.
func (w *Writer) Dir() string { return w.dir }

// LogPath returns the path of a log file under logs/, for the suite to write
// proxy, adb and device logs into.
func (w *Writer) LogPath(name string) string { return filepath.Join(w.dir, LogsDir, Slug(name)+".log") }

// DeviceDir is the directory of a device's own files: devices/<device-slug>.
func (w *Writer) DeviceDir(serial string) string {
	return filepath.Join(w.dir, DevicesDir, Slug(serial))
}

// EvidencePath is where evidence of a recorded spec goes (logcat, a
// screenshot): logs/<NNN>-<device-slug><suffix>, next to the spec's number.
func (w *Writer) EvidencePath(spec SpecResult, suffix string) string {
	return filepath.Join(w.dir, LogsDir, fmt.Sprintf("%03d-%s%s", spec.ID, Slug(spec.Device), suffix))
}

// Manifest reads the current run.json.
func (w *Writer) Manifest() (Manifest, error) { return readManifest(w.dir) }

// AddDevice adds a device to run.json, or replaces the one with the same serial.
func (w *Writer) AddDevice(d Device) error {
	if d.Serial == "" {
		return errors.New("run: AddDevice: device has no serial")
	}
	return w.updateManifest(func(m *Manifest) {
		for i := range m.Devices {
			if m.Devices[i].Serial == d.Serial {
				m.Devices[i] = d
				return
			}
		}
		m.Devices = append(m.Devices, d)
	})
}

// SetGinkgoFlags records the suite's flags in run.json.
func (w *Writer) SetGinkgoFlags(flags []string) error {
	return w.updateManifest(func(m *Manifest) { m.GinkgoFlags = flags })
}

// RecordSpec stores one spec's result: it writes the window's flows as
// specs/<NNN>-<slug>.har, summarises them into r (Flows, Hosts, Histogram,
// and TLSFailures when r has none), and appends r to findings.json. It
// returns r as stored, with its id and HAR path. flows may be nil (a spec
// that failed before capturing), in which case no HAR is written.
func (w *Writer) RecordSpec(r SpecResult, flows []capture.Flow) (SpecResult, error) {
	if r.Device == "" || r.Action == "" {
		return r, fmt.Errorf("run: RecordSpec %q: device and action are required", r.Name)
	}
	if r.State == "" {
		r.State = StatePassed
	}
	summarise(&r, flows)
	err := w.locked(func() error {
		f, err := readFindings(w.dir)
		if err != nil {
			return err
		}
		if r.ID == 0 {
			for _, s := range f.Specs {
				r.ID = max(r.ID, s.ID)
			}
			r.ID++
		} else {
			for _, s := range f.Specs {
				if s.ID == r.ID {
					return fmt.Errorf("run: RecordSpec: spec id %d is already recorded in %s; leave ID 0 to have one assigned", r.ID, w.dir)
				}
			}
		}
		if flows != nil {
			r.HAR = filepath.ToSlash(filepath.Join(SpecsDir, fmt.Sprintf("%03d-%s.har", r.ID, Slug(r.Device+"-"+r.Key()))))
			if err := atomicWrite(filepath.Join(w.dir, r.HAR), func(out io.Writer) error { return capture.WriteHAR(out, flows) }); err != nil {
				return err
			}
		}
		f.Specs = append(f.Specs, r)
		return writeJSON(filepath.Join(w.dir, FindingsFile), f)
	})
	return r, err
}

// UpdateSpec changes a recorded spec in findings.json: what came after a
// spec's window (a late leak, a failure the sweep found) belongs to it.
func (w *Writer) UpdateSpec(id int, change func(*SpecResult)) error {
	return w.locked(func() error {
		f, err := readFindings(w.dir)
		if err != nil {
			return err
		}
		for i := range f.Specs {
			if f.Specs[i].ID == id {
				change(&f.Specs[i])
				f.Specs[i].ID = id
				return writeJSON(filepath.Join(w.dir, FindingsFile), f)
			}
		}
		return fmt.Errorf("run: UpdateSpec: no spec %d in %s", id, w.dir)
	})
}

// WriteFlows stores a device's whole flow log as flows/<device-slug>.jsonl,
// one capture.Flow per line.
func (w *Writer) WriteFlows(serial string, flows []capture.Flow) error {
	path := filepath.Join(w.dir, FlowsDir, Slug(serial)+".jsonl")
	return atomicWrite(path, func(out io.Writer) error {
		enc := json.NewEncoder(out)
		for i := range flows {
			if err := enc.Encode(&flows[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// Finish records the end time, final status and, for a run that did not
// pass, the reason in run.json, and renders index.html. Call it with
// StatusInterrupted from a signal or timeout path.
func (w *Writer) Finish(status, reason string) error {
	switch status {
	case StatusPassed, StatusFailed, StatusInterrupted:
	default:
		return fmt.Errorf("run: Finish: status %q is not one of passed, failed, interrupted", status)
	}
	if err := w.updateManifest(func(m *Manifest) {
		m.Status, m.Reason = status, reason
		m.End = time.Now().UTC()
	}); err != nil {
		return err
	}
	return w.locked(func() error { return Render(w.dir) })
}

func (w *Writer) updateManifest(change func(*Manifest)) error {
	return w.locked(func() error {
		m, err := readManifest(w.dir)
		if err != nil {
			return err
		}
		change(&m)
		return writeJSON(filepath.Join(w.dir, ManifestFile), m)
	})
}

// locked runs fn holding both the in-process mutex and an exclusive flock on
// the run directory, so parallel Ginkgo processes never interleave a
// read-modify-write of run.json or findings.json.
func (w *Writer) locked(fn func() error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	lf, err := os.OpenFile(filepath.Join(w.dir, lockFile), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("run: lock %s: %w", w.dir, err)
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("run: lock %s: %w", w.dir, err)
	}
	defer syscall.Flock(int(lf.Fd()), syscall.LOCK_UN)
	return fn()
}

// Open reads a run directory back. A run that was never finished reads with
// status "running" and a zero End.
func Open(dir string) (*Run, error) {
	m, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	f, err := readFindings(dir)
	if err != nil {
		return nil, err
	}
	return &Run{Dir: dir, Manifest: m, Specs: f.Specs}, nil
}

func readManifest(dir string) (Manifest, error) {
	var m Manifest
	if err := readJSON(filepath.Join(dir, ManifestFile), &m); err != nil {
		return m, err
	}
	if m.SchemaVersion > SchemaVersion {
		return m, fmt.Errorf("run: %s has schema version %d, newer than this telltale understands (%d): upgrade telltale", dir, m.SchemaVersion, SchemaVersion)
	}
	return m, nil
}

func readFindings(dir string) (Findings, error) {
	var f Findings
	err := readJSON(filepath.Join(dir, FindingsFile), &f)
	if errors.Is(err, fs.ErrNotExist) {
		return Findings{SchemaVersion: SchemaVersion}, nil
	}
	if err != nil {
		return f, err
	}
	if f.SchemaVersion > SchemaVersion {
		return f, fmt.Errorf("run: %s/%s has schema version %d, newer than this telltale understands (%d): upgrade telltale", dir, FindingsFile, f.SchemaVersion, SchemaVersion)
	}
	return f, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("run: %s not found; is this a telltale run directory? %w", path, err)
		}
		return fmt.Errorf("run: read %s: %w", path, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("run: %s is not valid JSON (a damaged or foreign file): %w", path, err)
	}
	return nil
}

func writeJSON(path string, v any) error {
	return atomicWrite(path, func(out io.Writer) error {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
}

// atomicWrite writes to a temporary file beside path and renames it over
// path, so readers (and a run killed mid-write) only ever see whole files.
func atomicWrite(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("run: write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	bw := bufio.NewWriterSize(tmp, 64<<10)
	if err := write(bw); err != nil {
		tmp.Close()
		return fmt.Errorf("run: write %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("run: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("run: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("run: write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("run: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("run: write %s: %w", path, err)
	}
	return nil
}

// summarise fills the flow summary of r from the window's flows.
func summarise(r *SpecResult, flows []capture.Flow) {
	if len(flows) == 0 {
		return
	}
	counts := map[string]int{}
	var first, last time.Time
	collectTLS := len(r.TLSFailures) == 0
	r.Flows = 0
	for i := range flows {
		f := &flows[i]
		if f.Kind == capture.KindMark {
			continue
		}
		r.Flows++
		counts[FlowHost(f)]++
		if first.IsZero() || f.Start.Before(first) {
			first = f.Start
		}
		if f.Start.After(last) {
			last = f.Start
		}
		if collectTLS && f.Kind == capture.KindTLSFailure && f.TLS != nil {
			r.TLSFailures = append(r.TLSFailures, TLSFailure{SNI: f.TLS.SNI, Alert: f.TLS.Alert, Client: f.Client})
		}
	}
	if r.Window.Start.IsZero() {
		r.Window.Start, r.Window.End = first, last
	}
	if r.Window.StartSeq == 0 && r.Window.EndSeq == 0 {
		r.Window.StartSeq, r.Window.EndSeq = flows[0].Seq, flows[len(flows)-1].Seq
	}
	r.Hosts = r.Hosts[:0]
	for h, n := range counts {
		r.Hosts = append(r.Hosts, HostCount{Host: h, Flows: n})
	}
	sort.Slice(r.Hosts, func(i, j int) bool {
		if r.Hosts[i].Flows != r.Hosts[j].Flows {
			return r.Hosts[i].Flows > r.Hosts[j].Flows
		}
		return r.Hosts[i].Host < r.Hosts[j].Host
	})
	r.Histogram = make([]int, HistogramBuckets)
	span := r.Window.End.Sub(r.Window.Start)
	for i := range flows {
		f := &flows[i]
		if f.Kind == capture.KindMark {
			continue
		}
		b := 0
		if span > 0 {
			b = int(int64(HistogramBuckets) * int64(f.Start.Sub(r.Window.Start)) / int64(span))
		}
		r.Histogram[min(max(b, 0), HistogramBuckets-1)]++
	}
}

// FlowHost is the host a flow went to: the request URL's host, or the SNI of
// a connection that was never decrypted.
func FlowHost(f *capture.Flow) string {
	if f.Request != nil {
		if u, err := url.Parse(f.Request.URL); err == nil && u.Hostname() != "" {
			return u.Hostname()
		}
	}
	if f.TLS != nil && f.TLS.SNI != "" {
		return f.TLS.SNI
	}
	return "(unknown)"
}

// Slug turns free text (a serial, a spec name) into a file-name-safe word.
func Slug(s string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(s) {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.'
		if ok {
			b.WriteRune(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 60 {
			break
		}
	}
	out := strings.Trim(b.String(), "-.")
	if out == "" {
		return "x"
	}
	return out
}
