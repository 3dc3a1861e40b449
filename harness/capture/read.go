package capture

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"os"
	"slices"
	"strings"
	"unicode/utf8"
)

// Format is a capture format telltale reads.
type Format string

const (
	FormatFlowLog   Format = "telltale flow log"
	FormatHAR       Format = "HAR"
	FormatMitmproxy Format = "mitmproxy dump"
)

var (
	// ErrEmpty is a file with no bytes at all: nothing was captured (mitmdump
	// -w leaves such a file when no flow completed).
	ErrEmpty = errors.New("the file is empty (0 bytes): nothing was captured")
	// ErrFormat is input that is none of the formats telltale reads.
	ErrFormat = errors.New("not a capture format telltale reads")
	// ErrTruncated is a capture that ends inside a flow or entry.
	ErrTruncated = errors.New("truncated capture")
)

// sniffLen is how much of the input the format is told from.
const sniffLen = 4096

// Reader streams the flows of a capture in any format telltale reads, told
// apart by content: a flow log, a HAR document, or a mitmproxy dump, each
// possibly gzip-compressed. Memory is bounded by the largest single flow,
// not by the file.
type Reader struct {
	format  Format
	gzipped bool
	in      *countingReader
	st      readState
	flows   iter.Seq2[Flow, error]
}

// NewReader tells the format of r from its first bytes. Input that is empty
// returns ErrEmpty; input of another format returns an error wrapping
// ErrFormat that says what it looks like and what to do instead.
func NewReader(r io.Reader) (*Reader, error) {
	rd := &Reader{in: &countingReader{r: r}}
	br := bufio.NewReaderSize(rd.in, 1<<16)
	head, err := br.Peek(sniffLen)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("capture: read: %w", err)
	}
	if len(head) == 0 {
		return nil, fmt.Errorf("capture: %w", ErrEmpty)
	}
	if bytes.HasPrefix(head, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("capture: gzip-compressed but unreadable: %w", err)
		}
		rd.gzipped = true
		br = bufio.NewReaderSize(zr, 1<<16)
		if head, err = br.Peek(sniffLen); err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("capture: gunzip: %w", truncation(err))
		}
		if len(head) == 0 {
			return nil, fmt.Errorf("capture: gzip-compressed, and %w", ErrEmpty)
		}
	}
	if rd.format, err = sniff(head); err != nil {
		if rd.gzipped {
			return nil, fmt.Errorf("capture: gzip-compressed %w", err)
		}
		return nil, fmt.Errorf("capture: %w", err)
	}
	switch rd.format {
	case FormatHAR:
		rd.flows = harFlows(br, &rd.st)
	case FormatMitmproxy:
		rd.flows = mitmFlows(br, &rd.st)
	default:
		rd.flows = logFlows(br, &rd.st)
	}
	return rd, nil
}

// Format is the format NewReader recognised.
func (r *Reader) Format() Format { return r.format }

// Describe names the format as a user would, e.g. "mitmproxy dump (flow
// format 17, gzip)". The flow-format version is known once flows were read.
func (r *Reader) Describe() string {
	var extra []string
	if r.st.minVersion > 0 {
		v := fmt.Sprint(r.st.minVersion)
		if r.st.maxVersion != r.st.minVersion {
			v += "-" + fmt.Sprint(r.st.maxVersion)
		}
		extra = append(extra, "flow format "+v)
	}
	if r.gzipped {
		extra = append(extra, "gzip")
	}
	if len(extra) == 0 {
		return string(r.format)
	}
	return string(r.format) + " (" + strings.Join(extra, ", ") + ")"
}

// Flows yields the flows in file order, once: the input is consumed as it
// is ranged over. An error ends the sequence; a truncated input's wraps
// ErrTruncated.
func (r *Reader) Flows() iter.Seq2[Flow, error] { return r.flows }

// Offset is how many bytes of the input were consumed so far (of the
// compressed input for gzip), for progress.
func (r *Reader) Offset() int64 { return r.in.n }

// Notes says what the reader skipped or tolerated, one sentence each, so a
// caller can tell the user; nothing is dropped without a note.
func (r *Reader) Notes() []string { return r.st.notes() }

// ReadAll reads every flow of a capture of any format, in file order. An
// empty input is no flows.
func ReadAll(r io.Reader) ([]Flow, error) {
	rd, err := NewReader(r)
	if errors.Is(err, ErrEmpty) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	flows, err := collect(rd.Flows())
	if err == nil && rd.format == FormatHAR {
		sortBySeq(flows) // marks come after the entries in a HAR
	}
	return flows, err
}

// collect gathers a flow sequence; on error it returns the flows before it.
func collect(seq iter.Seq2[Flow, error]) ([]Flow, error) {
	var flows []Flow
	for f, err := range seq {
		if err != nil {
			return flows, err
		}
		flows = append(flows, f)
	}
	return flows, nil
}

// File is a capture file open for streaming.
type File struct {
	*Reader
	Size int64 // bytes on disk, for progress against Offset
	f    *os.File
}

// OpenFile opens a capture file and tells its format.
func OpenFile(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	fi, err := f.Stat()
	if err == nil && fi.IsDir() {
		err = errors.New("a directory, not a capture file")
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("capture: %s: %w", path, err)
	}
	rd, err := NewReader(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &File{Reader: rd, Size: fi.Size(), f: f}, nil
}

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// truncation marks an unexpected end of input as ErrTruncated.
func truncation(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %w", ErrTruncated, err)
	}
	return err
}

// readState collects what a reader skipped or tolerated.
type readState struct {
	skipped                map[string]int // flow type -> count
	minVersion, maxVersion int64
	cutLastLine            bool
	// entries with fields that could not be read as HAR defines them
	badEntries        int
	lastBad, firstBad string
}

func (s *readState) skip(kind string) {
	if s.skipped == nil {
		s.skipped = map[string]int{}
	}
	s.skipped[kind]++
}

func (s *readState) noteVersion(v int64) {
	if s.minVersion == 0 || v < s.minVersion {
		s.minVersion = v
	}
	s.maxVersion = max(s.maxVersion, v)
}

func (s *readState) badField(where string, err error) {
	if where != s.lastBad {
		s.badEntries++
		s.lastBad = where
	}
	if s.firstBad == "" {
		s.firstBad = where + ": " + err.Error()
	}
}

func (s *readState) notes() []string {
	var out []string
	if len(s.skipped) > 0 {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(s.skipped)) {
			parts = append(parts, fmt.Sprintf("%d %s", s.skipped[k], k))
		}
		out = append(out, "skipped "+strings.Join(parts, ", ")+" flow(s): telltale analyses HTTP and WebSocket traffic only")
	}
	if s.maxVersion > mitmNewestVersion {
		out = append(out, fmt.Sprintf("flow format version %d is newer than the newest this reader knows (%d): read with the fields of %d",
			s.maxVersion, mitmNewestVersion, mitmNewestVersion))
	}
	if s.cutLastLine {
		out = append(out, "the last line was cut short (the writer stopped mid-line) and was skipped")
	}
	if s.badEntries > 0 {
		out = append(out, fmt.Sprintf("%d entry(ies) had fields that do not read as HAR defines them; the rest of each was analysed (first: %s)",
			s.badEntries, s.firstBad))
	}
	return out
}

// sniff tells the format from the first bytes, or says what they look like.
func sniff(head []byte) (Format, error) {
	text := bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(text) == 0 {
		return "", fmt.Errorf("only white space: %w", ErrFormat)
	}
	switch {
	case text[0] == '{':
		return sniffJSON(text)
	case text[0] == '[':
		return "", fmt.Errorf("a JSON array, which is %w (Charles' .chlsj sessions and Postman collections are arrays): export the session as HAR instead (Charles: File > Export Session > HTTP Archive)", ErrFormat)
	case text[0] >= '1' && text[0] <= '9' && looksTnet(text):
		return FormatMitmproxy, nil
	}
	for _, m := range magics {
		if bytes.HasPrefix(head, []byte(m.prefix)) {
			return "", fmt.Errorf("looks like %s: %w; %s", m.what, ErrFormat, m.hint)
		}
	}
	lower := bytes.ToLower(text[:min(len(text), 512)])
	switch {
	case bytes.HasPrefix(lower, []byte("<!doctype html")) || bytes.Contains(lower, []byte("<html")):
		return "", fmt.Errorf("looks like an HTML page (a download that returned an error page?): %w", ErrFormat)
	case bytes.HasPrefix(lower, []byte("<")):
		return "", fmt.Errorf("looks like XML (a Burp Suite items export?): %w; export the traffic as HAR, or record it with mitmdump -w or telltale proxy", ErrFormat)
	case bytes.HasPrefix(text, []byte("HTTP/")) || isRequestLine(text):
		return "", fmt.Errorf("looks like raw HTTP text (one request or response as sent): %w; record the traffic with mitmdump -w or telltale proxy", ErrFormat)
	}
	start := text[:min(len(text), 40)]
	if utf8.Valid(start) && bytes.IndexFunc(start, func(r rune) bool { return r < ' ' && r != '\n' && r != '\r' && r != '\t' }) < 0 {
		return "", fmt.Errorf("text starting %q: %w (a HAR file, a telltale flow log, or a mitmproxy dump)", start, ErrFormat)
	}
	return "", fmt.Errorf("binary data starting % x: %w (a HAR file, a telltale flow log, or a mitmproxy dump)", head[:min(len(head), 8)], ErrFormat)
}

var magics = []struct{ prefix, what, hint string }{
	{"\xd4\xc3\xb2\xa1", "a pcap packet capture (tcpdump, Wireshark)", pcapHint},
	{"\xa1\xb2\xc3\xd4", "a pcap packet capture (tcpdump, Wireshark)", pcapHint},
	{"\x4d\x3c\xb2\xa1", "a pcap packet capture (tcpdump, Wireshark)", pcapHint},
	{"\xa1\xb2\x3c\x4d", "a pcap packet capture (tcpdump, Wireshark)", pcapHint},
	{"\x0a\x0d\x0d\x0a", "a pcapng packet capture (Wireshark, tcpdump)", pcapHint},
	{"PK\x03\x04", "a zip archive (a Fiddler .saz session, or a zipped HAR)",
		"unzip a HAR from it, or export from Fiddler with File > Export Sessions > All Sessions > HTTPArchive v1.2"},
	{"\x28\xb5\x2f\xfd", "zstd-compressed data", "decompress it first (unzstd FILE)"},
	{"BZh", "bzip2-compressed data", "decompress it first (bunzip2 FILE)"},
	{"\xfd7zXZ\x00", "xz-compressed data", "decompress it first (unxz FILE)"},
	{"SQLite format 3\x00", "an SQLite database", "export the traffic as HAR from the tool that wrote it"},
	{"%PDF", "a PDF document", "give the capture file itself"},
}

const pcapHint = "packet captures hold the TLS-encrypted bytes, not the requests; " +
	"record through a proxy that decrypts (telltale proxy, mitmdump -w), or export HAR from a tool that decrypted the traffic"

func isRequestLine(b []byte) bool {
	for _, m := range []string{"GET ", "POST ", "PUT ", "HEAD ", "DELETE ", "OPTIONS ", "PATCH ", "CONNECT "} {
		if bytes.HasPrefix(b, []byte(m)) {
			return true
		}
	}
	return false
}

// looksTnet says whether b starts a tnetstring dict whose first key is a
// string, as every mitmproxy flow does: "1234:4:type;4:http;...".
func looksTnet(b []byte) bool {
	i := bytes.IndexByte(b, ':')
	if i < 1 || i > maxLengthDigits {
		return false
	}
	for _, c := range b[:i] {
		if c < '0' || c > '9' {
			return false
		}
	}
	k, _, err := popTnet(b[i+1:])
	return err == nil && k.isString()
}

// sniffJSON looks for the top-level key that names the format: "log" (HAR,
// usually first but not always) or "seq" (the first key of every flow-log
// line).
func sniffJSON(text []byte) (Format, error) {
	d := json.NewDecoder(bytes.NewReader(text))
	d.Token() // the '{'
	var keys []string
	for d.More() {
		t, err := d.Token()
		if err != nil {
			break
		}
		k, _ := t.(string)
		switch {
		case k == "log":
			return FormatHAR, nil
		case k == "seq" && len(keys) == 0:
			return FormatFlowLog, nil
		}
		keys = append(keys, k)
		var skip json.RawMessage
		if d.Decode(&skip) != nil {
			break
		}
	}
	if len(keys) == 0 {
		if !json.Valid(text) && !bytes.ContainsAny(text[1:min(len(text), 64)], `"}`) {
			return "", fmt.Errorf("text starting %q, which is not JSON: %w", text[:min(len(text), 40)], ErrFormat)
		}
	}
	return "", fmt.Errorf("a JSON object with keys %q, neither a HAR document (no \"log\") nor a telltale flow log (lines start with \"seq\"): %w", keys, ErrFormat)
}

// logFlows streams a JSON-lines flow log. A last line without its newline
// that does not parse is a write cut short by a crash: it is skipped (and
// noted); any other bad line is an error.
func logFlows(br *bufio.Reader, st *readState) iter.Seq2[Flow, error] {
	return func(yield func(Flow, error) bool) {
		for n := 1; ; n++ {
			line, err := br.ReadBytes('\n')
			if err != nil && err != io.EOF {
				yield(Flow{}, fmt.Errorf("capture: read flow log line %d: %w", n, truncation(err)))
				return
			}
			complete := len(line) > 0 && line[len(line)-1] == '\n'
			if len(bytes.TrimSpace(line)) > 0 {
				var f Flow
				if jerr := json.Unmarshal(line, &f); jerr != nil {
					if !complete && err == io.EOF {
						st.cutLastLine = true
						return
					}
					yield(Flow{}, fmt.Errorf("capture: flow log line %d: %w", n, jerr))
					return
				}
				if !yield(f, nil) {
					return
				}
			}
			if err == io.EOF {
				return
			}
		}
	}
}
