package capture

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// indexEvery is the spacing of the seq->offset index a LogWriter keeps, so
// serving "flows since N" costs a seek and a short scan, while the index
// stays small (8 bytes per indexEvery flows) however long the run.
const indexEvery = 64

// LogWriter appends flows to a JSON-lines log. Each flow is one line written
// with a single write(2) on a file opened O_APPEND, so after a crash or
// kill -9 the file is valid up to its last complete line and every Append that
// returned is on disk (in the page cache, which survives a process kill).
type LogWriter struct {
	path string
	mu   sync.Mutex
	f    *os.File
	r    *os.File // separate handle for readers: ReadAt needs no lock
	seq  int64
	size int64
	line []byte
	// index[k] is the offset of the line with seq k*indexEvery+1, relative
	// to base (the first seq this writer knows the offset of).
	index   []int64
	base    int64
	waiters chan struct{} // closed and replaced on the next append
}

// NewLogWriter opens (or creates) the log at path and continues its sequence.
// A partial last line, left by a crash mid-write, is cut off first so new
// lines do not run into it.
func NewLogWriter(path string) (*LogWriter, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("capture: flow log directory: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("capture: open flow log: %w", err)
	}
	w := &LogWriter{path: path, f: f, waiters: make(chan struct{})}
	if err := w.recover(); err != nil {
		f.Close()
		return nil, err
	}
	r, err := os.Open(path)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("capture: open flow log for reading: %w", err)
	}
	w.r = r
	return w, nil
}

// recover scans an existing log for its last seq, rebuilds the index and
// truncates a trailing partial line.
func (w *LogWriter) recover() error {
	br := bufio.NewReaderSize(w.f, 1<<16)
	var off, good, last int64
	for {
		line, err := br.ReadSlice('\n')
		// Only the first chunk of a long line holds its seq.
		seq, hasSeq := lineSeq(line)
		for errors.Is(err, bufio.ErrBufferFull) {
			off += int64(len(line))
			line, err = br.ReadSlice('\n')
		}
		off += int64(len(line))
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("capture: read existing flow log: %w", err)
		}
		if hasSeq {
			last = seq
		}
		good = off
	}
	// The rebuilt index starts fresh: old lines are found by scanning from
	// the top (rare: only after a restart on the same file).
	if good != off {
		if err := w.f.Truncate(good); err != nil {
			return fmt.Errorf("capture: cut partial last line of flow log: %w", err)
		}
	}
	w.seq, w.size, w.base = last, good, last
	return nil
}

// lineSeq reads the seq at the start of a log line, which Append always
// writes first.
func lineSeq(line []byte) (int64, bool) {
	const prefix = `{"seq":`
	if !bytes.HasPrefix(line, []byte(prefix)) {
		return 0, false
	}
	rest := line[len(prefix):]
	end := bytes.IndexByte(rest, ',')
	if end < 0 {
		end = bytes.IndexByte(rest, '}')
	}
	if end < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(rest[:end]), 10, 64)
	return n, err == nil
}

// Path is the log's file name.
func (w *LogWriter) Path() string { return w.path }

// encodeBufs holds the JSON of one flow between encoding and writing, so a
// flow costs no fresh allocation the size of its line (several KB with
// bodies, at tens of thousands of flows a second).
var encodeBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Append assigns f the next seq and writes it as one line. The JSON is built
// outside the lock; only the seq splice and the write are serialised.
func (w *LogWriter) Append(f *Flow) error {
	f.Seq = 0
	buf := encodeBufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 1<<20 { // do not pool one huge flow's buffer
			encodeBufs.Put(buf)
		}
	}()
	// Encode writes the same JSON as Marshal, with the line's newline.
	if err := json.NewEncoder(buf).Encode(f); err != nil {
		return fmt.Errorf("capture: encode flow: %w", err)
	}
	b := buf.Bytes()
	const zero = `{"seq":0`
	if !bytes.HasPrefix(b, []byte(zero)) {
		return errors.New("capture: flow JSON does not start with seq")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	seq := w.seq + 1
	w.line = append(w.line[:0], `{"seq":`...)
	w.line = strconv.AppendInt(w.line, seq, 10)
	w.line = append(w.line, b[len(zero):]...)
	if _, err := w.f.Write(w.line); err != nil {
		return fmt.Errorf("capture: append flow: %w", err)
	}
	if (seq-w.base-1)%indexEvery == 0 {
		w.index = append(w.index, w.size)
	}
	w.seq = seq
	w.size += int64(len(w.line))
	f.Seq = seq
	if cap(w.line) > 1<<20 {
		w.line = nil // do not pin one huge flow's buffer for the whole run
	}
	close(w.waiters)
	w.waiters = make(chan struct{})
	return nil
}

// Seq is the seq of the last record written.
func (w *LogWriter) Seq() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seq
}

// Wait blocks until a record with a seq above since exists or ctx ends.
func (w *LogWriter) Wait(ctx context.Context, since int64) error {
	for {
		w.mu.Lock()
		seq, ch := w.seq, w.waiters
		w.mu.Unlock()
		if seq > since {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// CopySince writes the log lines with seq above since to dst, exactly as
// stored, and returns the last seq it copied (since when none).
func (w *LogWriter) CopySince(dst io.Writer, since int64) (int64, error) {
	w.mu.Lock()
	size, last := w.size, w.seq
	var off int64
	if k := (since - w.base) / indexEvery; since >= w.base && k < int64(len(w.index)) {
		off = w.index[k]
	} else if since >= w.seq {
		off = size
	}
	w.mu.Unlock()
	if off >= size {
		return since, nil
	}
	br := bufio.NewReaderSize(io.NewSectionReader(w.r, off, size-off), 1<<16)
	copied := since
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			if seq, ok := lineSeq(line); ok && seq > since {
				if _, werr := dst.Write(line); werr != nil {
					return copied, werr
				}
				copied = seq
			}
		}
		if err == io.EOF || copied >= last {
			return copied, nil
		}
		if err != nil {
			return copied, fmt.Errorf("capture: read flow log: %w", err)
		}
	}
}

// Close closes the log.
func (w *LogWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return errors.Join(w.f.Close(), w.r.Close())
}

// ReadLog parses a JSON-lines flow log. A last line without its newline is a
// write cut short by a crash and is dropped; any other bad line is an error.
func ReadLog(r io.Reader) ([]Flow, error) {
	var st readState
	return collect(logFlows(bufio.NewReaderSize(r, 1<<16), &st))
}

// ReadFile reads every flow of a capture file in any format telltale reads
// (see NewReader); an empty file is no flows.
func ReadFile(path string) ([]Flow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	defer f.Close()
	flows, err := ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("%w (reading %s)", err, path)
	}
	return flows, nil
}
