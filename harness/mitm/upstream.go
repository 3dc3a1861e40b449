package mitm

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"time"

	"telltale.dev/harness/capture"
	"telltale.dev/protocols"
)

// upConn is an upstream HTTP/1.1 connection owned by one client connection.
// Forwarding HTTP/1 requests over it directly, instead of through
// net/http's Transport, saves the Transport's goroutine hand-offs and header
// maps per request (about half the forward-mode CPU in bench/proxy.sh), and
// keeps the upstream's header order.
type upConn struct {
	key  string
	conn net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	stop func() bool // unhooks the close on the handler's ctx
}

func (u *upConn) close() {
	u.stop()
	u.conn.Close()
	putReader(u.br)
	u.bw.Reset(nil)
	writerPool.Put(u.bw)
}

const upstreamHeaderTimeout = 60 * time.Second

// forwardH1 forwards a request whose whole body is held in body (Content-Length
// within the body limit), so a reused connection that turns out closed can be
// retried on a fresh one.
func (h *h1conn) forwardH1(ctx context.Context, req *h1req, u, authority string, body *bodyCapture) *outbound {
	if _, err := copyPooled(io.Discard, body); err != nil {
		return proxyError(http.StatusBadRequest, "reading request body: "+err.Error())
	}
	payload := body.buf.Bytes()
	_, path := protocols.SplitURL(u)
	key := h.scheme + "://" + authority
	for attempt := 0; ; attempt++ {
		reused := h.up != nil && h.up.key == key
		if !reused {
			if h.up != nil {
				h.up.close()
				h.up = nil
			}
			up, err := h.s.dialUpstream(ctx, h.scheme, authority)
			if err != nil {
				return proxyError(http.StatusBadGateway, "upstream: "+err.Error())
			}
			up.key = key
			h.up = up
		}
		out, err := h.exchangeUpstream(req, path, authority, payload)
		if err == nil {
			return out
		}
		h.up.close()
		h.up = nil
		// A kept-alive connection the upstream closed meanwhile fails
		// before any reply: that, and only that, is worth a retry.
		if !reused || attempt > 0 {
			return proxyError(http.StatusBadGateway, "upstream: "+err.Error())
		}
	}
}

// dialUpstream connects to authority's upstream. The connection closes when
// ctx ends, which is how a forced stop cuts a request the upstream is
// sitting on.
func (s *Server) dialUpstream(ctx context.Context, scheme, authority string) (*upConn, error) {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	d := net.Dialer{KeepAlive: 30 * time.Second}
	c, err := d.DialContext(dctx, "tcp", s.upstreamAddr(authority))
	if err != nil {
		return nil, err
	}
	if scheme == "https" {
		host, _, _ := net.SplitHostPort(authority)
		tc := tls.Client(c, &tls.Config{ServerName: host, InsecureSkipVerify: s.cfg.UpstreamInsecure, NextProtos: []string{"http/1.1"}}) //nolint:gosec // opt-in for test upstreams
		if err := tc.HandshakeContext(dctx); err != nil {
			c.Close()
			return nil, fmt.Errorf("TLS with %s: %w", authority, err)
		}
		c = tc
	}
	bw := writerPool.Get().(*bufio.Writer)
	bw.Reset(c)
	return &upConn{conn: c, br: getReader(c), bw: bw, stop: context.AfterFunc(ctx, func() { c.Close() })}, nil
}

// exchangeUpstream sends one request on h.up and reads the response head.
func (h *h1conn) exchangeUpstream(req *h1req, path, authority string, payload []byte) (*outbound, error) {
	up := h.up
	bw := up.bw
	up.conn.SetWriteDeadline(time.Now().Add(upstreamHeaderTimeout))
	bw.WriteString(req.method)
	bw.WriteByte(' ')
	bw.WriteString(path)
	bw.WriteString(" HTTP/1.1\r\n")
	if req.host == "" {
		writeHeader(bw, "Host", stripDefaultPort(authority, h.scheme))
	}
	for _, hd := range req.headers {
		if !isHopByHop(hd.Name) {
			writeHeader(bw, hd.Name, hd.Value)
		}
	}
	bw.WriteString("\r\n")
	bw.Write(payload)
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	up.conn.SetReadDeadline(time.Now().Add(upstreamHeaderTimeout))
	budget := maxHeaderBytes
	var (
		status  int
		headers []capture.Header
		err     error
	)
	for {
		if status, err = readStatusLine(up.br, &budget); err != nil {
			return nil, err
		}
		if headers, err = readHeaders(up.br, &budget); err != nil {
			return nil, err
		}
		// Interim 1xx replies (other than 101, not sent without Upgrade)
		// are dropped: the client did not ask for them.
		if status >= 200 {
			break
		}
	}
	up.conn.SetReadDeadline(time.Now().Add(idleTimeout))
	out := &outbound{status: status, contentLength: -1}
	var chunked, closing bool
	for _, hd := range headers {
		switch {
		case strings.EqualFold(hd.Name, "Content-Length"):
			n, err := strconv.ParseInt(hd.Value, 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("upstream sent a bad Content-Length %q", hd.Value)
			}
			out.contentLength = n
		case strings.EqualFold(hd.Name, "Transfer-Encoding"):
			chunked = strings.EqualFold(lastToken(hd.Value), "chunked")
		case strings.EqualFold(hd.Name, "Connection"):
			closing = hasToken(hd.Value, "close")
		}
		if !isHopByHop(hd.Name) {
			out.headers = append(out.headers, hd)
		}
	}
	noBody := req.method == http.MethodHead || status == 204 || status == 304
	var done func() bool
	switch {
	case noBody:
		out.body, out.contentLength = http.NoBody, 0
		done = func() bool { return true }
	case chunked:
		out.contentLength = -1
		cb := &chunkedBody{r: httputil.NewChunkedReader(up.br), br: up.br}
		out.body, done = cb, func() bool { return cb.done }
	case out.contentLength >= 0:
		fb := &fixedBody{r: up.br, left: out.contentLength}
		out.body, done = fb, func() bool { return fb.left == 0 }
	default:
		// Delimited by the upstream closing: never reusable.
		out.body, closing = up.br, true
		done = func() bool { return false }
	}
	out.closeFn = func() {
		if closing || !done() {
			if h.up == up {
				h.up = nil
			}
			up.close()
		}
	}
	return out, nil
}

func readStatusLine(br *bufio.Reader, budget *int) (int, error) {
	line, err := readLine(br, budget)
	if err != nil {
		return 0, err
	}
	proto, rest, _ := strings.Cut(string(line), " ")
	code, _, _ := strings.Cut(rest, " ")
	status, err := strconv.Atoi(code)
	if !strings.HasPrefix(proto, "HTTP/1.") || err != nil || status < 100 || status > 999 {
		return 0, errors.New("malformed status line from upstream: " + truncate(line, 80))
	}
	return status, nil
}
