package mitm

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"time"

	"telltale.dev/harness/capture"
)

var errHeaderTooLarge = errors.New("request header too large")

// h1req is a parsed HTTP/1 request head. Headers keep their order and
// spelling, which net/http's map would lose.
type h1req struct {
	method, target, proto string
	headers               []capture.Header
	contentLength         int64 // -1 when not given
	chunked               bool
	close                 bool
	host                  string
	expectContinue        bool
	upgrade               string
}

// readLine reads one line of a request head without its CRLF, refusing to
// buffer more than the remaining budget.
func readLine(br *bufio.Reader, budget *int) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err == nil {
		*budget -= len(line)
		if *budget < 0 {
			return nil, errHeaderTooLarge
		}
		return trimEOL(line), nil
	}
	if !errors.Is(err, bufio.ErrBufferFull) {
		if len(line) > 0 && errors.Is(err, io.EOF) {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	long := append([]byte(nil), line...)
	for errors.Is(err, bufio.ErrBufferFull) {
		if len(long) > *budget {
			return nil, errHeaderTooLarge
		}
		line, err = br.ReadSlice('\n')
		long = append(long, line...)
	}
	if err != nil {
		return nil, err
	}
	*budget -= len(long)
	if *budget < 0 {
		return nil, errHeaderTooLarge
	}
	return trimEOL(long), nil
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// readRequest parses a request head (RFC 9112), leaving br at the body.
func readRequest(br *bufio.Reader) (*h1req, error) {
	budget := maxHeaderBytes
	var line []byte
	var err error
	// RFC 9112 2.2: ignore empty lines before the request line.
	for {
		if line, err = readLine(br, &budget); err != nil {
			return nil, err
		}
		if len(line) > 0 {
			break
		}
	}
	parts := strings.SplitN(string(line), " ", 3)
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || !strings.HasPrefix(parts[2], "HTTP/1.") {
		return nil, fmt.Errorf("malformed request line %q", truncate(line, 80))
	}
	for _, c := range parts[0] {
		if c < 'A' || c > 'Z' {
			return nil, fmt.Errorf("malformed method %q", truncate([]byte(parts[0]), 40))
		}
	}
	r := &h1req{method: parts[0], target: parts[1], proto: parts[2], contentLength: -1}
	r.close = r.proto == "HTTP/1.0"
	if r.headers, err = readHeaders(br, &budget); err != nil {
		return nil, err
	}
	for _, h := range r.headers {
		switch {
		case strings.EqualFold(h.Name, "Content-Length"):
			n, err := strconv.ParseInt(h.Value, 10, 64)
			if err != nil || n < 0 || (r.contentLength >= 0 && n != r.contentLength) {
				return nil, fmt.Errorf("bad Content-Length %q", h.Value)
			}
			r.contentLength = n
		case strings.EqualFold(h.Name, "Transfer-Encoding"):
			if strings.EqualFold(lastToken(h.Value), "chunked") {
				r.chunked = true
			} else {
				return nil, fmt.Errorf("unsupported Transfer-Encoding %q", h.Value)
			}
		case strings.EqualFold(h.Name, "Host"):
			r.host = h.Value
		case strings.EqualFold(h.Name, "Connection"), strings.EqualFold(h.Name, "Proxy-Connection"):
			if hasToken(h.Value, "close") {
				r.close = true
			} else if hasToken(h.Value, "keep-alive") && r.proto == "HTTP/1.0" {
				r.close = false
			}
		case strings.EqualFold(h.Name, "Expect"):
			r.expectContinue = strings.EqualFold(h.Value, "100-continue")
		case strings.EqualFold(h.Name, "Upgrade"):
			r.upgrade = h.Value
		}
	}
	if r.chunked {
		r.contentLength = -1
	}
	return r, nil
}

// readHeaders reads header lines up to the blank line, in order.
func readHeaders(br *bufio.Reader, budget *int) ([]capture.Header, error) {
	var hs []capture.Header
	for {
		line, err := readLine(br, budget)
		if err != nil {
			return nil, err
		}
		if len(line) == 0 {
			return hs, nil
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || len(name) == 0 || bytes.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("malformed header line %q", truncate(line, 80))
		}
		hs = append(hs, capture.Header{Name: string(name), Value: string(bytes.TrimSpace(value))})
	}
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}

func hasToken(v, tok string) bool {
	for _, t := range strings.Split(v, ",") {
		if strings.EqualFold(strings.TrimSpace(t), tok) {
			return true
		}
	}
	return false
}

func lastToken(v string) string {
	i := strings.LastIndexByte(v, ',')
	return strings.TrimSpace(v[i+1:])
}

// h1conn serves HTTP/1 requests on one client connection: plain proxy
// requests, requests inside a CONNECT tunnel, or decrypted TLS.
type h1conn struct {
	s         *Server
	cc        *clientConn // the accepted connection, for Shutdown
	conn      net.Conn    // cc, or the TLS connection over it
	br        *bufio.Reader
	bw        *bufio.Writer
	scheme    string
	authority string // CONNECT target or SNI, used when there is no Host
	tls       *capture.TLSInfo
	up        *upConn // forward mode: this client's upstream connection
}

var writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 16<<10) }}

// serve handles first (already read, may be nil) and then every following
// request until the client closes or asks to.
func (h *h1conn) serve(ctx context.Context, first *h1req) {
	h.bw = writerPool.Get().(*bufio.Writer)
	h.bw.Reset(h.conn)
	defer func() {
		h.bw.Reset(nil)
		writerPool.Put(h.bw)
		if h.up != nil {
			h.up.close()
		}
	}()
	req := first
	for {
		if req == nil {
			if !h.cc.await(h.br) {
				return
			}
			var err error
			if req, err = readRequest(h.br); err != nil {
				h.s.rejectRequest(h.conn, err)
				return
			}
		}
		if ctx.Err() != nil {
			return
		}
		if !h.exchange(ctx, req) || req.close {
			return
		}
		req = nil
	}
}

// exchange handles one request and records its flow. It reports whether the
// connection can carry another request.
func (h *h1conn) exchange(ctx context.Context, req *h1req) bool {
	start := time.Now()
	u, authority, err := h.requestURL(req)
	if err != nil {
		h.s.stats.badInput.Add(1)
		h.writeSimple(400, err.Error())
		return false
	}
	if req.upgrade != "" && strings.EqualFold(req.upgrade, "websocket") {
		h.websocket(ctx, req, u, authority, start)
		return false
	}
	if req.expectContinue {
		h.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
		if h.bw.Flush() != nil {
			return false
		}
	}
	flow := h.cc.flow(capture.KindHTTP, start, h.tls)
	creq := &capture.Request{Method: req.method, URL: u, Proto: req.proto, Headers: req.headers}
	flow.Request = creq
	body := newBodyCapture(h.requestBody(req), h.s.cfg.BodyLimit)
	defer body.release()

	var out *outbound
	if h.s.cfg.Mode == Forward && req.contentLength <= h.s.cfg.BodyLimit && !req.chunked {
		out = h.forwardH1(ctx, req, u, authority, body)
	} else {
		out = h.s.respond(ctx, &inbound{
			method: req.method, url: u, headers: req.headers,
			body: body, contentLength: req.contentLength,
		})
	}
	defer out.close()
	// A sinkhole reply does not read the body; drain it so the next
	// request on this connection starts where it should.
	if _, err := io.Copy(io.Discard, body); err != nil {
		flow.Error = "reading request body: " + err.Error()
		body.fill(creq)
		h.s.record(flow)
		return false
	}
	body.fill(creq)
	if out.err != "" {
		flow.Error = out.err
	}
	return h.writeResponse(req, out, flow)
}

// requestURL makes the absolute URL of a request, from an absolute-form
// target (proxy requests) or the Host header and the tunnel's target.
func (h *h1conn) requestURL(req *h1req) (u, authority string, err error) {
	t := req.target
	if strings.HasPrefix(t, "http://") || strings.HasPrefix(t, "https://") {
		scheme, rest, _ := strings.Cut(t, "://")
		authority, _, found := strings.Cut(rest, "/")
		if authority == "" {
			return "", "", fmt.Errorf("no host in %q", t)
		}
		if !found {
			t = scheme + "://" + authority + "/"
		}
		return t, withPort(authority, scheme), nil
	}
	if !strings.HasPrefix(t, "/") && t != "*" {
		return "", "", fmt.Errorf("request target %q is not origin or absolute form", truncate([]byte(t), 80))
	}
	authority = req.host
	if authority == "" {
		authority = h.authority
	}
	if authority == "" {
		return "", "", errors.New("no Host header and no tunnel target")
	}
	return h.scheme + "://" + stripDefaultPort(authority, h.scheme) + t, withPort(authority, h.scheme), nil
}

func withPort(authority, scheme string) string {
	if _, _, err := net.SplitHostPort(authority); err == nil {
		return authority
	}
	if scheme == "https" {
		return net.JoinHostPort(strings.Trim(authority, "[]"), "443")
	}
	return net.JoinHostPort(strings.Trim(authority, "[]"), "80")
}

func stripDefaultPort(authority, scheme string) string {
	if scheme == "https" {
		return strings.TrimSuffix(authority, ":443")
	}
	return strings.TrimSuffix(authority, ":80")
}

func (h *h1conn) requestBody(req *h1req) io.Reader {
	switch {
	case req.chunked:
		return &chunkedBody{r: httputil.NewChunkedReader(h.br), br: h.br}
	case req.contentLength > 0:
		return &fixedBody{r: h.br, left: req.contentLength}
	}
	return http.NoBody
}

// fixedBody reads a Content-Length body, and unlike io.LimitReader calls a
// client that leaves before sending all of it an error.
type fixedBody struct {
	r    io.Reader
	left int64
}

func (b *fixedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	n, err := b.r.Read(p[:min(int64(len(p)), b.left)])
	b.left -= int64(n)
	if errors.Is(err, io.EOF) && b.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// chunkedBody reads a chunked body and then the trailer section, which
// httputil's reader leaves in the stream.
type chunkedBody struct {
	r    io.Reader
	br   *bufio.Reader
	done bool
}

func (c *chunkedBody) Read(p []byte) (int, error) {
	if c.done {
		return 0, io.EOF
	}
	n, err := c.r.Read(p)
	if errors.Is(err, io.EOF) {
		budget := maxHeaderBytes
		for {
			line, lerr := readLine(c.br, &budget)
			if lerr != nil {
				return n, lerr
			}
			if len(line) == 0 {
				break
			}
		}
		c.done = true
	}
	return n, err
}

func (h *h1conn) writeSimple(status int, msg string) {
	fmt.Fprintf(h.bw, "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s",
		status, http.StatusText(status), len(msg), msg)
	h.bw.Flush()
}

// writeResponse sends out to the client, filling flow.Response, and records
// the flow. The last byte of the response is held back until the flow is in
// the log, so a client never has a complete response whose flow a crash
// could lose. It reports whether the connection may carry another request.
func (h *h1conn) writeResponse(req *h1req, out *outbound, flow *capture.Flow) bool {
	h.conn.SetWriteDeadline(time.Now().Add(idleTimeout))
	hb := &holdback{w: h.bw}
	var head []byte
	head = append(head, "HTTP/1.1 "...)
	head = strconv.AppendInt(head, int64(out.status), 10)
	head = append(head, ' ')
	head = append(head, http.StatusText(out.status)...)
	head = append(head, "\r\n"...)
	noBody := req.method == http.MethodHead || out.status == 204 || out.status == 304 || out.status < 200
	chunked := !noBody && out.contentLength < 0
	for _, hd := range out.headers {
		head = appendHeader(head, hd.Name, hd.Value)
	}
	if chunked {
		head = appendHeader(head, "Transfer-Encoding", "chunked")
	}
	// Once stop has begun this is the connection's last response, and the
	// client is told so, as net/http does while shutting down.
	closing := req.close || h.s.inShutdown.Load()
	if closing {
		head = appendHeader(head, "Connection", "close")
	}
	head = append(head, "\r\n"...)
	resp := &capture.Response{Status: out.status, Proto: "HTTP/1.1", Headers: out.headers}
	flow.Response = resp
	_, err := hb.Write(head)
	if err == nil && !noBody {
		body := newBodyCapture(out.body, h.s.cfg.BodyLimit)
		defer body.release()
		var w io.Writer = hb
		var cw io.WriteCloser
		if chunked {
			cw = httputil.NewChunkedWriter(hb)
			w = cw
		}
		_, err = copyPooled(w, body)
		if err == nil && cw != nil {
			if err = cw.Close(); err == nil {
				_, err = hb.Write([]byte("\r\n"))
			}
		}
		resp.Body, resp.BodySize, resp.Truncated = body.view()
	}
	if err != nil {
		flow.Error = "writing response: " + err.Error()
	}
	flow.End = time.Now()
	h.s.record(flow)
	if err != nil {
		return false
	}
	if err := hb.release(); err != nil {
		return false
	}
	return h.bw.Flush() == nil && !closing
}

// holdback passes writes through except the last byte so far, which goes
// out on release.
type holdback struct {
	w    io.Writer
	last [1]byte
	has  bool
}

func (h *holdback) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if h.has {
		if _, err := h.w.Write(h.last[:]); err != nil {
			return 0, err
		}
	}
	if _, err := h.w.Write(p[:len(p)-1]); err != nil {
		h.has = false
		return 0, err
	}
	h.last[0], h.has = p[len(p)-1], true
	return len(p), nil
}

func (h *holdback) release() error {
	if !h.has {
		return nil
	}
	h.has = false
	_, err := h.w.Write(h.last[:])
	return err
}

func appendHeader(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, ": "...)
	b = append(b, value...)
	return append(b, "\r\n"...)
}

func writeHeader(bw *bufio.Writer, name, value string) {
	bw.WriteString(name)
	bw.WriteString(": ")
	bw.WriteString(value)
	bw.WriteString("\r\n")
}
