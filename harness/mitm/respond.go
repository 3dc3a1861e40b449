package mitm

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"telltale.dev/harness/capture"
	"telltale.dev/protocols"
)

// inbound is a request as the responders need it, whatever its protocol.
type inbound struct {
	method, url   string
	headers       []capture.Header
	body          io.Reader
	contentLength int64 // -1 unknown
}

// outbound is a reply to write back. headers include Content-Length when
// contentLength is known.
type outbound struct {
	status        int
	headers       []capture.Header
	body          io.Reader
	contentLength int64
	err           string // why the reply is the proxy's own error
	closeFn       func()
}

func (o *outbound) close() {
	if o.closeFn != nil {
		o.closeFn()
	}
}

func (s *Server) respond(ctx context.Context, in *inbound) *outbound {
	if s.cfg.Mode == Forward {
		return s.forward(ctx, in)
	}
	return sinkhole(in)
}

// sinkhole answers like the telemetry endpoint would when it accepts the
// upload (protocols.SinkholeReply), so clients go on sending what they would
// send to the real one.
func sinkhole(in *inbound) *outbound {
	r := protocols.SinkholeReply(in.url)
	out := &outbound{status: r.Status, body: bytes.NewReader(r.Body), contentLength: int64(len(r.Body)),
		headers: []capture.Header{{Name: "Content-Length", Value: strconv.Itoa(len(r.Body))}}}
	if r.ContentType != "" {
		out.headers = append([]capture.Header{{Name: "Content-Type", Value: r.ContentType}}, out.headers...)
	}
	return out
}

// hopByHop headers belong to one connection and are not forwarded.
var hopByHop = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Expect"}

func isHopByHop(name string) bool {
	for _, h := range hopByHop {
		if strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}

func (s *Server) forward(ctx context.Context, in *inbound) *outbound {
	req, err := http.NewRequestWithContext(ctx, in.method, in.url, in.body)
	if err != nil {
		return proxyError(http.StatusBadRequest, "bad request for upstream: "+err.Error())
	}
	for _, h := range in.headers {
		if isHopByHop(h.Name) || strings.HasPrefix(h.Name, ":") {
			continue
		}
		if strings.EqualFold(h.Name, "Host") {
			req.Host = h.Value
			continue
		}
		req.Header.Add(h.Name, h.Value)
	}
	req.ContentLength = in.contentLength
	if in.contentLength == 0 {
		req.Body = http.NoBody
	}
	resp, err := s.transport.RoundTrip(req)
	if err != nil {
		return proxyError(http.StatusBadGateway, "upstream: "+err.Error())
	}
	out := &outbound{status: resp.StatusCode, body: resp.Body, contentLength: resp.ContentLength,
		closeFn: func() { resp.Body.Close() }}
	// net/http keeps headers in a map; sorted names at least make the
	// record stable.
	names := make([]string, 0, len(resp.Header))
	for k := range resp.Header {
		if !isHopByHop(k) && k != "Content-Length" {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	for _, k := range names {
		for _, v := range resp.Header[k] {
			out.headers = append(out.headers, capture.Header{Name: k, Value: v})
		}
	}
	if resp.ContentLength >= 0 {
		out.headers = append(out.headers, capture.Header{Name: "Content-Length", Value: strconv.FormatInt(resp.ContentLength, 10)})
	}
	return out
}

func proxyError(status int, msg string) *outbound {
	b := []byte(msg)
	return &outbound{
		status: status, body: bytes.NewReader(b), contentLength: int64(len(b)), err: msg,
		headers: []capture.Header{
			{Name: "Content-Type", Value: "text/plain; charset=utf-8"},
			{Name: "Content-Length", Value: strconv.Itoa(len(b))},
		},
	}
}

// bodyCapture passes a body through while keeping its first limit bytes
// and counting the rest.
//
// It is locked because net/http's Transport may go on reading a request
// body in its own goroutine after RoundTrip has returned (an upstream that
// answers before reading everything), while the exchange drains the same
// body and then records and releases it. A read after release passes the
// bytes through without keeping them.
type bodyCapture struct {
	mu    sync.Mutex
	src   io.Reader
	buf   *bytes.Buffer // nil once released
	limit int64
	n     int64
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func newBodyCapture(src io.Reader, limit int64) *bodyCapture {
	b := bufPool.Get().(*bytes.Buffer)
	b.Reset()
	return &bodyCapture{src: src, buf: b, limit: limit}
}

func (c *bodyCapture) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, err := c.src.Read(p)
	if n > 0 && c.buf != nil {
		if room := c.limit - int64(c.buf.Len()); room > 0 {
			c.buf.Write(p[:min(int64(n), room)])
		}
		c.n += int64(n)
	}
	return n, err
}

// result copies out what was kept, for flows recorded after release (the
// buffer goes back to the pool).
func (c *bodyCapture) result() (body []byte, size int64, truncated bool) {
	body, size, truncated = c.view()
	return bytes.Clone(body), size, truncated
}

// view is result without the copy: the body is valid until release. Flows
// recorded before their capture is released use it, which spares two
// body-sized allocations per exchange.
func (c *bodyCapture) view() (body []byte, size int64, truncated bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf.Len() > 0 {
		body = c.buf.Bytes()
	}
	return body, c.n, c.n > int64(c.buf.Len())
}

// fill sets r's body from view: r must be recorded before release.
func (c *bodyCapture) fill(r *capture.Request) {
	r.Body, r.BodySize, r.Truncated = c.view()
}

func (c *bodyCapture) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf.Cap() <= 1<<20 {
		bufPool.Put(c.buf)
	}
	c.buf = nil
}

var copyBufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// copyPooled is io.Copy without its 32 KB allocation per call, which
// showed up at tens of thousands of requests a second.
func copyPooled(dst io.Writer, src io.Reader) (int64, error) {
	b := copyBufPool.Get().(*[]byte)
	defer copyBufPool.Put(b)
	return io.CopyBuffer(dst, src, *b)
}
