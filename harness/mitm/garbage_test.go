package mitm

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// send writes raw bytes to the proxy and returns what it answers before
// closing (or until the deadline).
func send(t *testing.T, addr string, raw []byte, closeWrite bool) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write(raw)
	if closeWrite {
		c.(*net.TCPConn).CloseWrite()
	}
	b, _ := io.ReadAll(c)
	return string(b)
}

func TestBadInputNeverCrashesTheProxy(t *testing.T) {
	p := startProxy(t, Config{})
	cases := []struct {
		name, raw, want string
	}{
		{"garbage line", "\x00\x01\x02 nonsense\r\n\r\n", "400"},
		{"lower-case method", "get http://a.test/ HTTP/1.1\r\n\r\n", "400"},
		{"no version", "GET http://a.test/\r\n\r\n", "400"},
		{"header without colon", "GET http://a.test/ HTTP/1.1\r\nHost a.test\r\n\r\n", "400"},
		{"two lengths", "POST http://a.test/ HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", "400"},
		{"gzip transfer coding", "POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", "400"},
		{"CONNECT without port", "CONNECT a.test HTTP/1.1\r\n\r\n", "400"},
		{"huge header", "GET http://a.test/ HTTP/1.1\r\nX-Big: " + strings.Repeat("a", 300<<10) + "\r\n\r\n", "431"},
		{"many headers", "GET http://a.test/ HTTP/1.1\r\n" + strings.Repeat("X-A: b\r\n", 40000) + "\r\n", "431"},
		{"garbage in tunnel", "CONNECT a.test:443 HTTP/1.1\r\n\r\n\xde\xad\xbe\xef\r\n\r\n", "400"},
		{"bad TLS in tunnel", "CONNECT a.test:443 HTTP/1.1\r\n\r\n\x16\x03\x01\x00\x05hello", ""},
		{"bad chunk", "POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", ""},
		{"vanishing mid-body", "POST http://a.test/ HTTP/1.1\r\nContent-Length: 100000\r\n\r\npartial", ""},
		{"absolute URL with no host", "GET http:/// HTTP/1.1\r\n\r\n", "400"},
	}
	for _, tc := range cases {
		got := send(t, p.addr, []byte(tc.raw), true)
		// After CONNECT the answer to the garbage follows "200 Connection
		// Established".
		if tc.want != "" && !strings.Contains(lastStatus(got), tc.want) {
			t.Errorf("%s: answered %q, want %s", tc.name, lastStatus(got), tc.want)
		}
	}
	// A client that disconnects in the middle of its headers.
	c, _ := net.Dial("tcp", p.addr)
	c.Write([]byte("GET http://a.test/ HTTP/1.1\r\nHost: a"))
	c.Close()

	// Still serving, and only the chunked and vanished posts became flows
	// (with the error that cut them short).
	out, code := curl(t, "-x", p.addr, "http://after.test/ok")
	if code != 0 || out != `{"code":0}` {
		t.Fatalf("proxy no longer serves after bad input: %d %q", code, out)
	}
	// Shutdown returns once every connection's handler has, the one that
	// saw half a header included: what they recorded and counted is final.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	flows := p.flows(t)
	var kinds []string
	for _, f := range flows {
		kinds = append(kinds, string(f.Kind))
	}
	// The TLS failure in the tunnel, the bad chunk, the vanished body, and
	// the request after them.
	if got := strings.Join(kinds, ","); got != "tls-failure,http,http,http" {
		t.Fatalf("flows %s, want tls-failure,http,http,http", got)
	}
	if last := flows[len(flows)-1]; last.Request.URL != "http://after.test/ok" || last.Error != "" {
		t.Errorf("last flow %s (error %q)", last.Request.URL, last.Error)
	}
	for _, f := range flows[1:3] {
		if f.Error == "" {
			t.Errorf("flow from bad input without an error: %+v", f.Request)
		}
	}
	// Every case answered 400 or 431, and the half header.
	if st := p.srv.Stats(); st.BadInput != 12 {
		t.Errorf("badInput = %d, want 12", st.BadInput)
	}
}

func lastStatus(s string) string {
	i := strings.LastIndex(s, "HTTP/1.1 ")
	if i < 0 {
		return ""
	}
	l, _, _ := strings.Cut(s[i:], "\r\n")
	return l
}

// Chunked bodies with trailers, pipelined requests and Expect: 100-continue
// are all legal and must not desynchronise the connection.
func TestHTTP1EdgeCasesKeepTheConnectionInSync(t *testing.T) {
	p := startProxy(t, Config{})
	raw := "POST http://e.test/a HTTP/1.1\r\nHost: e.test\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"5\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n" +
		"POST http://e.test/b HTTP/1.1\r\nHost: e.test\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc" +
		"HEAD http://e.test/c HTTP/1.1\r\nHost: e.test\r\nConnection: close\r\n\r\n"
	got := send(t, p.addr, []byte(raw), false)
	if n := strings.Count(got, "HTTP/1.1 200 OK"); n != 3 || !strings.Contains(got, "100 Continue") {
		t.Fatalf("answers:\n%s", got)
	}
	fl := p.waitFlows(t, 3)
	if string(fl[0].Request.Body) != "hello world" || string(fl[1].Request.Body) != "abc" || fl[2].Request.Method != "HEAD" {
		t.Errorf("bodies %q %q, method %s", fl[0].Request.Body, fl[1].Request.Body, fl[2].Request.Method)
	}
}

func FuzzReadRequest(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	f.Add([]byte("POST http://a/ HTTP/1.0\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nabc"))
	f.Add([]byte("\r\n\r\nCONNECT a:443 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(b), 16)
		r, err := readRequest(br)
		if err == nil && (r.method == "" || r.target == "") {
			t.Fatalf("accepted %q as %+v", b, r)
		}
		_ = fmt.Sprint(r)
	})
}
