package capture

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
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

type harFile struct {
	Log harLog `json:"log"`
}

type harLog struct {
	Version string     `json:"version"`
	Creator harCreator `json:"creator"`
	Pages   []harPage  `json:"pages"`
	Entries []harEntry `json:"entries"`
	Marks   []harMark  `json:"_marks,omitempty"`
}

type harCreator struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type harPage struct {
	StartedDateTime string             `json:"startedDateTime"`
	ID              string             `json:"id"`
	Title           string             `json:"title"`
	PageTimings     map[string]float64 `json:"pageTimings"`
}

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
}

// harExtra carries what HAR cannot say, so our HAR round-trips.
type harExtra struct {
	Seq               int64    `json:"seq"`
	Kind              Kind     `json:"kind"`
	Client            string   `json:"client,omitempty"`
	TLS               *TLSInfo `json:"tls,omitempty"`
	Error             string   `json:"error,omitempty"`
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
	doc := harFile{Log: harLog{
		Version: "1.2",
		Creator: harCreator{Name: "telltale", Version: "1"},
		Pages:   []harPage{},
		Entries: make([]harEntry, 0, len(flows)),
	}}
	for i := range flows {
		f := &flows[i]
		if f.Kind == KindMark {
			doc.Log.Marks = append(doc.Log.Marks, harMark{Seq: f.Seq, Name: f.Mark, Time: f.Start})
			continue
		}
		doc.Log.Entries = append(doc.Log.Entries, harEntryFor(f))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	if err := enc.Encode(&doc); err != nil {
		return fmt.Errorf("capture: write HAR: %w", err)
	}
	return nil
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
		Telltale:        &harExtra{Seq: f.Seq, Kind: f.Kind, Client: f.Client, TLS: f.TLS, Error: f.Error},
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

// ReadHAR reads a HAR 1.2 document (ours, Chrome's, mitmproxy's, HTTP
// Toolkit's) into flows. Without our _telltale fields, seqs are assigned in
// entry order. Bodies that a tool stored decoded stay as the tool stored them.
func ReadHAR(r io.Reader) ([]Flow, error) {
	var doc harFile
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return nil, fmt.Errorf("capture: parse HAR: %w", err)
	}
	if doc.Log.Entries == nil && doc.Log.Version == "" {
		return nil, fmt.Errorf("capture: not a HAR document: no log.version or log.entries")
	}
	flows := make([]Flow, 0, len(doc.Log.Entries)+len(doc.Log.Marks))
	for i, e := range doc.Log.Entries {
		f, err := flowFromHAR(&e)
		if err != nil {
			return nil, fmt.Errorf("capture: HAR entry %d: %w", i, err)
		}
		if f.Seq == 0 {
			f.Seq = int64(i + 1)
		}
		flows = append(flows, f)
	}
	for _, m := range doc.Log.Marks {
		flows = append(flows, Flow{Seq: m.Seq, Kind: KindMark, Start: m.Time, Mark: m.Name})
	}
	sortBySeq(flows)
	return flows, nil
}

func flowFromHAR(e *harEntry) (Flow, error) {
	start, err := time.Parse(time.RFC3339Nano, e.StartedDateTime)
	if err != nil {
		return Flow{}, fmt.Errorf("startedDateTime %q: %w", e.StartedDateTime, err)
	}
	f := Flow{Kind: KindHTTP, Start: start}
	if e.Time > 0 {
		f.End = start.Add(time.Duration(e.Time * float64(time.Millisecond)))
	}
	x := e.Telltale
	if x != nil {
		f.Seq, f.Kind, f.Client, f.TLS, f.Error = x.Seq, x.Kind, x.Client, x.TLS, x.Error
	}
	if f.Kind == KindTLSFailure {
		return f, nil
	}
	req := &Request{
		Method: e.Request.Method, URL: e.Request.URL, Proto: e.Request.HTTPVersion,
		Headers: headersFromHAR(e.Request.Headers), BodySize: e.Request.BodySize,
	}
	if pd := e.Request.PostData; pd != nil {
		switch {
		case pd.Text != "":
			req.Body, err = bodyFromHAR(pd.Text, pd.Encoding+pd.XEncoding)
			if err != nil {
				return Flow{}, fmt.Errorf("request body: %w", err)
			}
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
		resp.Body, err = bodyFromHAR(e.Response.Content.Text, e.Response.Content.Encoding)
		if err != nil {
			return Flow{}, fmt.Errorf("response content: %w", err)
		}
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

func bodyFromHAR(text, encoding string) ([]byte, error) {
	if text == "" {
		return nil, nil
	}
	if strings.EqualFold(encoding, "base64") {
		return base64.StdEncoding.DecodeString(text)
	}
	return []byte(text), nil
}

func headersFromHAR(nvs []harNV) []Header {
	out := make([]Header, len(nvs))
	for i, nv := range nvs {
		out[i] = Header(nv)
	}
	return out
}
