package capture

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/). Fields that HAR
// has no place for go in underscore-prefixed custom fields, as the spec
// allows, so our own HAR reads back into the same flows. WebSocket frames use
// Chrome's _webSocketMessages, which DevTools shows.

type harMark struct {
	Seq  int64     `json:"seq"`
	Name string    `json:"name"`
	Time time.Time `json:"time"`
}

type harEntry struct {
	StartedDateTime string         `json:"startedDateTime"`
	Time            float64        `json:"time"`
	Request         harRequest     `json:"request"`
	Response        harResponse    `json:"response"`
	Cache           struct{}       `json:"cache"`
	Timings         harTimings     `json:"timings"`
	ServerIPAddress string         `json:"serverIPAddress,omitempty"`
	WebSocket       []harWSMessage `json:"_webSocketMessages,omitempty"`
	Telltale        *harExtra      `json:"_telltale,omitempty"`
	// App is the app on the phone that sent the request, when known: a
	// custom field (HAR 1.2 allows those with a leading underscore).
	App *App `json:"_app,omitempty"`
}

// harExtra carries what HAR cannot say, so our HAR round-trips.
type harExtra struct {
	Seq               int64    `json:"seq"`
	Kind              Kind     `json:"kind"`
	Client            string   `json:"client,omitempty"`
	TLS               *TLSInfo `json:"tls,omitempty"`
	Error             string   `json:"error,omitempty"`
	Route             string   `json:"route,omitempty"`
	RequestTruncated  bool     `json:"requestTruncated,omitempty"`
	ResponseTruncated bool     `json:"responseTruncated,omitempty"`
	NoResponse        bool     `json:"noResponse,omitempty"`
}

type harNV struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type harRequest struct {
	Method      string       `json:"method"`
	URL         string       `json:"url"`
	HTTPVersion string       `json:"httpVersion"`
	Cookies     []harNV      `json:"cookies"`
	Headers     []harNV      `json:"headers"`
	QueryString []harNV      `json:"queryString"`
	PostData    *harPostData `json:"postData,omitempty"`
	HeadersSize int64        `json:"headersSize"`
	BodySize    int64        `json:"bodySize"`
}

type harPostData struct {
	MimeType string  `json:"mimeType"`
	Text     string  `json:"text"`
	Params   []harNV `json:"params,omitempty"`
	// Encoding is not in HAR 1.2 for postData; several tools write it
	// anyway (and _encoding), so both are read.
	Encoding  string `json:"encoding,omitempty"`
	XEncoding string `json:"_encoding,omitempty"`
}

type harResponse struct {
	Status      int        `json:"status"`
	StatusText  string     `json:"statusText"`
	HTTPVersion string     `json:"httpVersion"`
	Cookies     []harNV    `json:"cookies"`
	Headers     []harNV    `json:"headers"`
	Content     harContent `json:"content"`
	RedirectURL string     `json:"redirectURL"`
	HeadersSize int64      `json:"headersSize"`
	BodySize    int64      `json:"bodySize"`
}

type harContent struct {
	Size     int64  `json:"size"`
	MimeType string `json:"mimeType"`
	Text     string `json:"text,omitempty"`
	Encoding string `json:"encoding,omitempty"`
}

type harTimings struct {
	Blocked float64 `json:"blocked"`
	DNS     float64 `json:"dns"`
	Connect float64 `json:"connect"`
	SSL     float64 `json:"ssl"`
	Send    float64 `json:"send"`
	Wait    float64 `json:"wait"`
	Receive float64 `json:"receive"`
}

type harWSMessage struct {
	Type   string  `json:"type"` // "send" (client to server) or "receive"
	Time   float64 `json:"time"` // Unix seconds
	Opcode int     `json:"opcode"`
	Data   string  `json:"data"`
}

// WriteHAR writes flows as a HAR 1.2 document. HTTP and WebSocket flows are
// entries; TLS failures are entries with status 0 (shown as failed by
// viewers); marks go in log._marks.
func WriteHAR(w io.Writer, flows []Flow) error {
	hw := NewHARWriter(w)
	for i := range flows {
		if err := hw.Write(&flows[i]); err != nil {
			return err
		}
	}
	return hw.Close()
}

// HARWriter writes a HAR document one flow at a time, so a capture of any
// size converts in the memory of one entry. Marks are held until Close,
// which writes them after the entries (in log._marks).
type HARWriter struct {
	w       io.Writer
	enc     *json.Encoder
	entries int
	marks   []harMark
	err     error
}

// NewHARWriter starts a HAR document on w.
func NewHARWriter(w io.Writer) *HARWriter {
	enc := json.NewEncoder(w)
	enc.SetIndent("   ", " ")
	return &HARWriter{w: w, enc: enc}
}

const harHead = `{
 "log": {
  "version": "1.2",
  "creator": {"name": "telltale", "version": "1"},
  "pages": [],
  "entries": [`

// Write adds one flow.
func (h *HARWriter) Write(f *Flow) error {
	if h.err != nil {
		return h.err
	}
	if f.Kind == KindMark {
		h.marks = append(h.marks, harMark{Seq: f.Seq, Name: f.Mark, Time: f.Start})
		return nil
	}
	sep := ",\n   "
	if h.entries == 0 {
		sep = harHead + "\n   "
	}
	if _, h.err = io.WriteString(h.w, sep); h.err == nil {
		h.err = h.enc.Encode(harEntryFor(f))
	}
	h.entries++
	if h.err != nil {
		h.err = fmt.Errorf("capture: write HAR: %w", h.err)
	}
	return h.err
}

// Close ends the document. It does not close the underlying writer.
func (h *HARWriter) Close() error {
	if h.err != nil {
		return h.err
	}
	var b bytes.Buffer
	if h.entries == 0 {
		b.WriteString(harHead)
	}
	b.WriteString("]")
	if len(h.marks) > 0 {
		b.WriteString(",\n  \"_marks\": ")
		m, err := json.Marshal(h.marks)
		if err != nil {
			return fmt.Errorf("capture: write HAR marks: %w", err)
		}
		b.Write(m)
	}
	b.WriteString("\n }\n}\n")
	if _, err := h.w.Write(b.Bytes()); err != nil {
		h.err = fmt.Errorf("capture: write HAR: %w", err)
	}
	return h.err
}

func harEntryFor(f *Flow) harEntry {
	elapsed := 0.0
	if !f.End.IsZero() {
		elapsed = float64(f.End.Sub(f.Start)) / float64(time.Millisecond)
	}
	e := harEntry{
		StartedDateTime: f.Start.UTC().Format(time.RFC3339Nano),
		Time:            elapsed,
		Timings:         harTimings{Blocked: -1, DNS: -1, Connect: -1, SSL: -1, Wait: elapsed},
		Telltale:        &harExtra{Seq: f.Seq, Kind: f.Kind, Client: f.Client, TLS: f.TLS, Error: f.Error, Route: f.Route},
		App:             f.App,
	}
	req := f.Request
	if req == nil {
		// A TLS failure: all that is known is where the client meant to go.
		host := ""
		if f.TLS != nil {
			host = f.TLS.SNI
		}
		req = &Request{Method: "CONNECT", URL: "https://" + host + "/", Proto: "HTTP/1.1"}
	}
	e.Request = harRequest{
		Method: req.Method, URL: req.URL, HTTPVersion: req.Proto,
		Cookies: []harNV{}, Headers: harHeaders(req.Headers), QueryString: harQuery(req.URL),
		HeadersSize: -1, BodySize: req.BodySize,
	}
	if len(req.Body) > 0 || req.BodySize > 0 {
		text, enc := harBody(req.Body)
		e.Request.PostData = &harPostData{MimeType: headerValue(req.Headers, "Content-Type"), Text: text, XEncoding: enc}
	}
	e.Telltale.RequestTruncated = req.Truncated
	if resp := f.Response; resp != nil {
		text, enc := harBody(resp.Body)
		e.Response = harResponse{
			Status: resp.Status, StatusText: http.StatusText(resp.Status), HTTPVersion: resp.Proto,
			Cookies: []harNV{}, Headers: harHeaders(resp.Headers),
			Content: harContent{
				Size: resp.BodySize, MimeType: headerValue(resp.Headers, "Content-Type"),
				Text: text, Encoding: enc,
			},
			RedirectURL: headerValue(resp.Headers, "Location"), HeadersSize: -1, BodySize: resp.BodySize,
		}
		e.Telltale.ResponseTruncated = resp.Truncated
	} else {
		e.Telltale.NoResponse = true
		e.Response = harResponse{Cookies: []harNV{}, Headers: []harNV{}, HeadersSize: -1, BodySize: -1,
			HTTPVersion: req.Proto, StatusText: f.Error}
	}
	for _, fr := range f.WebSocket {
		typ := "receive"
		if fr.FromClient {
			typ = "send"
		}
		data, enc := harBody(fr.Data)
		if enc != "" {
			// Chrome shows binary frames as base64 text too.
			data = base64.StdEncoding.EncodeToString(fr.Data)
		}
		e.WebSocket = append(e.WebSocket, harWSMessage{
			Type: typ, Time: float64(fr.Time.UnixNano()) / 1e9, Opcode: fr.Opcode, Data: data,
		})
	}
	return e
}

// harBody returns text as is when it is valid UTF-8 and base64 otherwise.
func harBody(b []byte) (text, encoding string) {
	if utf8.Valid(b) {
		return string(b), ""
	}
	return base64.StdEncoding.EncodeToString(b), "base64"
}

func harHeaders(hs []Header) []harNV {
	out := make([]harNV, len(hs))
	for i, h := range hs {
		out[i] = harNV(h)
	}
	return out
}

func harQuery(raw string) []harNV {
	out := []harNV{}
	u, err := url.Parse(raw)
	if err != nil || u.RawQuery == "" {
		return out
	}
	for _, kv := range strings.Split(u.RawQuery, "&") {
		k, v, _ := strings.Cut(kv, "=")
		ku, err1 := url.QueryUnescape(k)
		vu, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			ku, vu = k, v
		}
		out = append(out, harNV{Name: ku, Value: vu})
	}
	return out
}

func headerValue(hs []Header, name string) string {
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// ReadHAR reads a HAR 1.2 document (ours, Chrome's, Firefox's, mitmproxy's,
// HTTP Toolkit's, Charles', Fiddler's) into flows, in seq order. Without our
// _telltale fields, seqs are the entries' positions. Bodies that a tool
// stored decoded stay as the tool stored them.
func ReadHAR(r io.Reader) ([]Flow, error) {
	var st readState
	flows, err := collect(harFlows(r, &st))
	if err != nil {
		return nil, err
	}
	sortBySeq(flows)
	return flows, nil
}

// harStream walks a HAR document token by token and decodes one entry at a
// time, so memory is bounded by the largest entry, not the file.
type harStream struct {
	d       *json.Decoder
	st      *readState
	entries int
}

func harFlows(r io.Reader, st *readState) iter.Seq2[Flow, error] {
	return func(yield func(Flow, error) bool) {
		br := bufio.NewReader(r)
		if bom, _ := br.Peek(3); string(bom) == "\xef\xbb\xbf" {
			br.Discard(3) // Windows tools (Fiddler, Charles) start with a BOM
		}
		h := &harStream{d: json.NewDecoder(br), st: st}
		if err := h.document(yield); err != nil {
			yield(Flow{}, err)
		}
	}
}

// errStop ends the walk when the consumer stops ranging.
var errStop = errors.New("stop")

func (h *harStream) document(yield func(Flow, error) bool) error {
	if err := h.delim('{', "a HAR document"); err != nil {
		return err
	}
	sawLog := false
	for h.d.More() {
		key, err := h.key()
		if err != nil {
			return err
		}
		if key != "log" {
			if err := h.skip(); err != nil {
				return err
			}
			continue
		}
		sawLog = true
		if err := h.log(yield); err == errStop {
			return nil
		} else if err != nil {
			return err
		}
	}
	if err := h.delim('}', "the end of the HAR document"); err != nil {
		return err
	}
	if !sawLog {
		return errors.New(`capture: not a HAR document: no "log"`)
	}
	if _, err := h.d.Token(); err != io.EOF {
		return fmt.Errorf("capture: HAR: data after the end of the document (byte %d)", h.d.InputOffset())
	}
	return nil
}

func (h *harStream) log(yield func(Flow, error) bool) error {
	if err := h.delim('{', `"log" as an object`); err != nil {
		return err
	}
	sawEntries := false
	var marks []harMark
	for h.d.More() {
		key, err := h.key()
		if err != nil {
			return err
		}
		switch key {
		case "entries":
			sawEntries = true
			if err := h.entryList(yield); err != nil {
				return err
			}
		case "_marks":
			if err := h.d.Decode(&marks); err != nil {
				return h.fail("log._marks", err)
			}
		default:
			if err := h.skip(); err != nil {
				return err
			}
		}
	}
	if err := h.delim('}', `the end of "log"`); err != nil {
		return err
	}
	if !sawEntries {
		return errors.New("capture: not a HAR document: log has no entries")
	}
	for _, m := range marks {
		if !yield(Flow{Seq: m.Seq, Kind: KindMark, Start: m.Time, Mark: m.Name}, nil) {
			return errStop
		}
	}
	return nil
}

func (h *harStream) entryList(yield func(Flow, error) bool) error {
	if err := h.delim('[', "log.entries as an array"); err != nil {
		return err
	}
	for h.d.More() {
		var e harEntry
		where := fmt.Sprintf("entry %d", h.entries)
		if err := h.d.Decode(&e); err != nil {
			var te *json.UnmarshalTypeError
			if !errors.As(err, &te) {
				return h.fail(where, err)
			}
			// The rest of the entry was decoded; a size written as a
			// string must not hide the body from the detector.
			h.st.badField(where, err)
		}
		f, err := flowFromHAR(&e, func(err error) { h.st.badField(where, err) })
		if err != nil {
			return fmt.Errorf("capture: HAR %s: %w", where, err)
		}
		h.entries++
		if f.Seq == 0 {
			f.Seq = int64(h.entries)
		}
		if !yield(f, nil) {
			return errStop
		}
	}
	return h.delim(']', "the end of log.entries")
}

func (h *harStream) key() (string, error) {
	t, err := h.d.Token()
	if err != nil {
		return "", h.fail("a key", err)
	}
	k, _ := t.(string)
	return k, nil
}

func (h *harStream) skip() error {
	var v json.RawMessage
	if err := h.d.Decode(&v); err != nil {
		return h.fail("a value", err)
	}
	return nil
}

func (h *harStream) delim(want json.Delim, what string) error {
	t, err := h.d.Token()
	if err != nil {
		return h.fail(what, err)
	}
	if t != want {
		return fmt.Errorf("capture: not a HAR document: expected %s at byte %d, found %v", what, h.d.InputOffset(), t)
	}
	return nil
}

// fail says where reading stopped and whether the file was cut short.
func (h *harStream) fail(where string, err error) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("capture: the HAR ends inside %s after %d complete entries (byte %d): %w; was it copied or written completely?",
			where, h.entries, h.d.InputOffset(), ErrTruncated)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("capture: HAR is not valid JSON at byte %d (in %s, after %d complete entries): %w", se.Offset, where, h.entries, err)
	}
	return fmt.Errorf("capture: HAR %s: %w", where, err)
}

// flowFromHAR converts one entry. A body whose base64 does not decode is
// kept as the text the tool wrote, with a note: the detector still sees it.
func flowFromHAR(e *harEntry, note func(error)) (Flow, error) {
	start, err := harTime(e.StartedDateTime)
	if err != nil {
		return Flow{}, err
	}
	f := Flow{Kind: KindHTTP, Start: start}
	if e.Time > 0 {
		f.End = start.Add(time.Duration(e.Time * float64(time.Millisecond)))
	}
	x := e.Telltale
	if x != nil {
		f.Seq, f.Kind, f.Client, f.TLS, f.Error, f.Route = x.Seq, x.Kind, x.Client, x.TLS, x.Error, x.Route
	}
	f.App = e.App
	if f.Kind == KindTLSFailure {
		return f, nil
	}
	if e.Request.URL == "" {
		return Flow{}, errors.New("no request.url")
	}
	req := &Request{
		Method: e.Request.Method, URL: e.Request.URL, Proto: e.Request.HTTPVersion,
		Headers: headersFromHAR(e.Request.Headers), BodySize: e.Request.BodySize,
	}
	if pd := e.Request.PostData; pd != nil {
		switch {
		case pd.Text != "":
			req.Body = bodyFromHAR(pd.Text, pd.Encoding+pd.XEncoding, "request.postData", note)
		case len(pd.Params) > 0:
			// mitmproxy and Chrome may give a form as params only.
			v := url.Values{}
			for _, p := range pd.Params {
				v.Add(p.Name, p.Value)
			}
			req.Body = []byte(v.Encode())
		}
	}
	if req.BodySize < 0 {
		req.BodySize = int64(len(req.Body))
	}
	f.Request = req
	if x != nil {
		req.Truncated = x.RequestTruncated
	}
	if x == nil || !x.NoResponse {
		resp := &Response{
			Status: e.Response.Status, Proto: e.Response.HTTPVersion,
			Headers: headersFromHAR(e.Response.Headers), BodySize: e.Response.BodySize,
		}
		resp.Body = bodyFromHAR(e.Response.Content.Text, e.Response.Content.Encoding, "response.content", note)
		if resp.BodySize < 0 {
			resp.BodySize = int64(len(resp.Body))
		}
		if x != nil {
			resp.Truncated = x.ResponseTruncated
		}
		f.Response = resp
	}
	for _, m := range e.WebSocket {
		data := []byte(m.Data)
		if m.Opcode == 2 {
			if b, err := base64.StdEncoding.DecodeString(m.Data); err == nil {
				data = b
			}
		}
		sec := int64(m.Time)
		f.WebSocket = append(f.WebSocket, Frame{
			Time:       time.Unix(sec, int64((m.Time-float64(sec))*1e9)),
			FromClient: m.Type == "send", Opcode: m.Opcode, Data: data,
		})
	}
	if len(f.WebSocket) > 0 && (x == nil || x.Kind == "") {
		f.Kind = KindWebSocket
	}
	return f, nil
}

// harTimeLayouts are the startedDateTime forms tools write: RFC 3339 with
// 0 to 9 fraction digits (Chrome 3, mitmproxy 6, Fiddler 7), an offset
// without a colon, or no offset at all (read as UTC).
var harTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05.999999999"}

// harTime parses startedDateTime. A missing one is the zero time: a tool
// that left it out still recorded the request.
func harTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, l := range harTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("startedDateTime %q is not an ISO 8601 date and time", s)
}

func bodyFromHAR(text, encoding, where string, note func(error)) []byte {
	if text == "" {
		return nil
	}
	if strings.EqualFold(encoding, "base64") {
		b, err := base64.StdEncoding.DecodeString(text)
		if err == nil {
			return b
		}
		note(fmt.Errorf("%s: text marked base64 does not decode (%w); read as text", where, err))
	}
	return []byte(text)
}

func headersFromHAR(nvs []harNV) []Header {
	out := make([]Header, len(nvs))
	for i, nv := range nvs {
		out[i] = Header(nv)
	}
	return out
}
