package mitm

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/http2"

	"telltale.dev/harness/capture"
)

// intercept terminates the client's TLS with a certificate for its SNI (or
// the CONNECT target when it sends none) and serves what comes inside. A
// failed handshake is recorded as a flow of its own.
func (s *Server) intercept(ctx context.Context, cc *clientConn, c net.Conn, target string) {
	start := time.Now()
	targetHost := target
	if h, _, err := net.SplitHostPort(target); err == nil {
		targetHost = h
	}
	var sni string
	cfg := &tls.Config{
		NextProtos: []string{"h2", "http/1.1"},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			sni = hello.ServerName
			host := sni
			if host == "" {
				host = targetHost
			}
			if host == "" {
				return nil, errors.New("no SNI and no CONNECT target: cannot choose a certificate")
			}
			return s.cfg.CA.Leaf(host)
		},
	}
	tail := &tailConn{Conn: c}
	tc := tls.Server(tail, cfg)
	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	err := tc.HandshakeContext(hctx)
	cancel()
	tail.off = true
	if err != nil {
		if sni == "" && targetHost == "" && !strings.Contains(err.Error(), "SNI") {
			// Not even a ClientHello: garbage or a vanished client, not
			// a client that refused us.
			s.stats.badInput.Add(1)
			return
		}
		f := cc.flow(capture.KindTLSFailure, start, &capture.TLSInfo{SNI: sni, Decrypted: false, Alert: tail.alert(err)})
		f.End = time.Now()
		if target != "" {
			f.Error = "CONNECT " + target
		}
		s.record(f)
		return
	}
	cs := tc.ConnectionState()
	info := &capture.TLSInfo{
		SNI: sni, Version: tls.VersionName(cs.Version), Cipher: tls.CipherSuiteName(cs.CipherSuite),
		ALPN: cs.NegotiatedProtocol, Decrypted: true,
	}
	authority := target
	if sni != "" {
		authority = net.JoinHostPort(sni, "443")
		if _, port, err := net.SplitHostPort(target); err == nil {
			authority = net.JoinHostPort(sni, port)
		}
	}
	if cs.NegotiatedProtocol == "h2" {
		cc.state.Store(connH2)
		tc.SetReadDeadline(time.Time{})
		h := &h2handler{s: s, cc: cc, tls: info, authority: authority}
		s.h2.ServeConn(&h2conn{Conn: tc, s: s}, &http2.ServeConnOpts{Context: ctx, Handler: h})
		// Stream handlers can outlive ServeConn; they record flows too.
		<-h.streams.wait()
		return
	}
	h := &h1conn{s: s, cc: cc, conn: tc, br: getReader(tc), scheme: "https", authority: authority, tls: info}
	defer putReader(h.br)
	h.serve(ctx, nil)
}

// h2handler records HTTP/2 streams. HPACK hands headers to net/http as a
// map, so their order on the wire is lost: they are recorded sorted, after
// the pseudo-headers.
type h2handler struct {
	s         *Server
	cc        *clientConn
	tls       *capture.TLSInfo
	authority string
	streams   group
}

func (h *h2handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.streams.enter() {
		return // the connection is gone and its handlers accounted for
	}
	defer h.streams.exit()
	start := time.Now()
	host := r.Host
	if host == "" {
		host = h.authority
	}
	u := "https://" + stripDefaultPort(host, "https") + r.URL.RequestURI()
	headers := []capture.Header{
		{Name: ":method", Value: r.Method}, {Name: ":scheme", Value: "https"},
		{Name: ":authority", Value: r.Host}, {Name: ":path", Value: r.URL.RequestURI()},
	}
	names := make([]string, 0, len(r.Header))
	for k := range r.Header {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		for _, v := range r.Header[k] {
			headers = append(headers, capture.Header{Name: strings.ToLower(k), Value: v})
		}
	}
	flow := h.cc.flow(capture.KindHTTP, start, h.tls)
	creq := &capture.Request{Method: r.Method, URL: u, Proto: "HTTP/2.0", Headers: headers}
	flow.Request = creq
	body := newBodyCapture(r.Body, h.s.cfg.BodyLimit)
	defer body.release()
	out := h.s.respond(r.Context(), &inbound{
		method: r.Method, url: u, headers: headers,
		body: body, contentLength: r.ContentLength,
	})
	defer out.close()
	if _, err := io.Copy(io.Discard, body); err != nil {
		flow.Error = "reading request body: " + err.Error()
	}
	body.fill(creq)
	if out.err != "" && flow.Error == "" {
		flow.Error = out.err
	}
	resp := &capture.Response{Status: out.status, Proto: "HTTP/2.0", Headers: out.headers}
	flow.Response = resp
	for _, hd := range out.headers {
		w.Header().Add(hd.Name, hd.Value)
	}
	w.WriteHeader(out.status)
	// As in HTTP/1: the stream cannot end (nor its last byte go out) before
	// the flow is in the log.
	hb := &holdback{w: w}
	if r.Method != http.MethodHead && out.status != 204 && out.status != 304 {
		rb := newBodyCapture(out.body, h.s.cfg.BodyLimit)
		defer rb.release()
		if _, err := copyPooled(hb, rb); err != nil && flow.Error == "" {
			flow.Error = "writing response: " + err.Error()
		}
		resp.Body, resp.BodySize, resp.Truncated = rb.view()
	}
	flow.End = time.Now()
	h.s.record(flow)
	hb.release()
}

// tailConn keeps the last bytes a client sent during the handshake. OpenSSL
// clients (curl) that reject our certificate under TLS 1.3 send their alert
// unencrypted, which Go's server can only report as "bad record MAC"; the
// alert itself is in those bytes.
type tailConn struct {
	net.Conn
	off  bool
	last [7]byte
	n    int
}

func (t *tailConn) Read(p []byte) (int, error) {
	n, err := t.Conn.Read(p)
	if !t.off && n > 0 {
		if n >= len(t.last) {
			copy(t.last[:], p[n-len(t.last):n])
		} else {
			copy(t.last[:], t.last[n:])
			copy(t.last[len(t.last)-n:], p[:n])
		}
		t.n += n
	}
	return n, err
}

// alert describes a failed handshake, with the client's plaintext alert
// when its last record was one.
func (t *tailConn) alert(err error) string {
	l := t.last
	if t.n >= len(l) && l[0] == 21 && l[1] == 3 && l[3] == 0 && l[4] == 2 && l[5] == 2 {
		return "remote error: " + tls.AlertError(l[6]).Error() + " (unencrypted alert; Go reported: " + err.Error() + ")"
	}
	return err.Error()
}
