package mitmdumptest

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"
)

// callTimeout bounds each client exchange through mitmdump.
const callTimeout = 30 * time.Second

// Upstream is an HTTPS server on 127.0.0.1 standing in for a telemetry
// host: every path answers {"code":0}, and /ws echoes WebSocket messages.
// mitmdump must run with --ssl-insecure to accept its certificate.
func Upstream(t testing.TB) *httptest.Server {
	mux := http.NewServeMux()
	mux.Handle("/ws", websocket.Handler(func(c *websocket.Conn) {
		for {
			var fr wsFrame
			if frameCodec.Receive(c, &fr) != nil || frameCodec.Send(c, fr) != nil {
				return
			}
		}
	}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"code":0}`)
	})
	s := httptest.NewTLSServer(mux)
	t.Cleanup(s.Close)
	return s
}

// wsFrame is a WebSocket message with its frame type, so an echo keeps
// text as text and binary as binary.
type wsFrame struct {
	typ  byte
	data []byte
}

var frameCodec = websocket.Codec{
	Marshal: func(v any) ([]byte, byte, error) { f := v.(wsFrame); return f.data, f.typ, nil },
	Unmarshal: func(data []byte, typ byte, v any) error {
		f := v.(*wsFrame)
		f.typ, f.data = typ, data
		return nil
	},
}

// Curl runs Debian's curl through the proxy, trusting its CA, and returns
// the response body.
func (p *Proxy) Curl(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "curl", append([]string{"-sS", "--fail", "--max-time", "20", "--noproxy", "",
		"--proxy", "http://" + p.Addr, "--cacert", p.CAFile}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("curl %v through %s: %v %s\nmitmdump:\n%s", args, p, err, stderr, p.Output())
	}
	return string(out)
}

// Frame is one WebSocket message to send.
type Frame struct {
	Binary bool
	Data   []byte
}

// WebSocket opens wss://host/ws of the upstream through the proxy (CONNECT,
// then TLS to mitmdump's certificate), sends each frame and reads its echo,
// closes, and waits until mitmdump logged the close, after which the flow
// is in its dump.
func (p *Proxy) WebSocket(t testing.TB, upstream *httptest.Server, frames []Frame) {
	t.Helper()
	host := strings.TrimPrefix(upstream.URL, "https://")
	conn, err := net.DialTimeout("tcp", p.Addr, callTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(callTimeout))
	fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", host, host)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("CONNECT through %s: %v %v", p, err, resp)
	}
	pem, err := os.ReadFile(p.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	h, _, _ := net.SplitHostPort(host)
	tc := tls.Client(conn, &tls.Config{RootCAs: roots, ServerName: h, NextProtos: []string{"http/1.1"}})
	cfg, err := websocket.NewConfig("wss://"+host+"/ws", "https://"+host)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := websocket.NewClient(cfg, tc)
	if err != nil {
		t.Fatalf("WebSocket handshake through %s: %v\nmitmdump:\n%s", p, err, p.Output())
	}
	for _, fr := range frames {
		sent := wsFrame{typ: websocket.TextFrame, data: fr.Data}
		if fr.Binary {
			sent.typ = websocket.BinaryFrame
		}
		var got wsFrame
		if err := frameCodec.Send(ws, sent); err != nil {
			t.Fatalf("send WebSocket message: %v", err)
		}
		if err := frameCodec.Receive(ws, &got); err != nil || got.typ != sent.typ || string(got.data) != string(sent.data) {
			t.Fatalf("WebSocket echo: %v, got type %d %q", err, got.typ, got.data)
		}
	}
	ws.Close()
	p.waitOutput(t, "WebSocket connection closed")
}

// waitOutput waits until mitmdump printed s.
func (p *Proxy) waitOutput(t testing.TB, s string) {
	t.Helper()
	timeout := time.After(callTimeout)
	for {
		p.mu.Lock()
		found, changed := strings.Contains(p.out.String(), s), p.changed
		p.mu.Unlock()
		if found {
			return
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("mitmdump did not print %q within %v:\n%s", s, callTimeout, p.Output())
		}
	}
}
