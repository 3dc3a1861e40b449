package mitm

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/net/http2"
	"golang.org/x/net/websocket"

	"telltale.dev/harness/capture"
	"telltale.dev/harness/mitm/mitmtest"
)

// directClient talks to a transparent listener as a redirected app does:
// no proxy setting, every connection dialled to addr.
func directClient(addr string, roots *x509.CertPool) *http.Client {
	var d net.Dialer
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "tcp", addr)
		},
		TLSClientConfig:       &tls.Config{RootCAs: roots},
		TLSNextProto:          map[string]func(string, *tls.Conn) http.RoundTripper{},
		ExpectContinueTimeout: time.Minute,
	}}
}

// idleH2 is an HTTP/2 connection through a CONNECT tunnel that has settled
// its SETTINGS and opened no stream.
func idleH2(t *testing.T, proxyAddr string, roots *x509.CertPool) *http2.Framer {
	t.Helper()
	tunnel := connectTunnel(t, proxyAddr, "idle-h2.test:443")
	t.Cleanup(func() { tunnel.Close() })
	tunnel.SetDeadline(time.Now().Add(time.Minute))
	tc := tls.Client(tunnel, &tls.Config{ServerName: "idle-h2.test", RootCAs: roots, NextProtos: []string{"h2"}})
	if err := tc.Handshake(); err != nil || tc.ConnectionState().NegotiatedProtocol != "h2" {
		t.Fatalf("h2 handshake: %v, ALPN %q", err, tc.ConnectionState().NegotiatedProtocol)
	}
	io.WriteString(tc, http2.ClientPreface)
	fr := http2.NewFramer(tc, tc)
	fr.WriteSettings()
	// The server writes its SETTINGS once http2 serves the connection.
	f, err := fr.ReadFrame()
	if _, ok := f.(*http2.SettingsFrame); err != nil || !ok {
		t.Fatalf("first frame from the proxy: %v %v", f, err)
	}
	fr.WriteSettingsAck()
	return fr
}

// waitGoAway reads frames until a GOAWAY and returns its error code.
func waitGoAway(t *testing.T, fr *http2.Framer) http2.ErrCode {
	t.Helper()
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("idle HTTP/2 connection ended without a GOAWAY: %v", err)
		}
		if g, ok := f.(*http2.GoAwayFrame); ok {
			return g.ErrCode
		}
	}
}

// wsClient opens a WebSocket through a CONNECT tunnel, framing by hand so
// the test sees exactly what the proxy sends.
func wsClient(t *testing.T, proxyAddr string, roots *x509.CertPool, host string) (net.Conn, *bufio.Reader) {
	t.Helper()
	tunnel := connectTunnel(t, proxyAddr, host+":443")
	t.Cleanup(func() { tunnel.Close() })
	tunnel.SetDeadline(time.Now().Add(time.Minute))
	tc := tls.Client(tunnel, &tls.Config{ServerName: host, RootCAs: roots, NextProtos: []string{"http/1.1"}})
	fmt.Fprintf(tc, "GET /socket HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: https://%s\r\n\r\n", host, host)
	br := bufio.NewReader(tc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("WebSocket upgrade: %v %v", resp, err)
	}
	return tc, br
}

// expectGoingAway reads the proxy's next frame, which must be a close frame
// with status 1001, answers it as a client does, and checks the proxy then
// closes the connection.
func expectGoingAway(t *testing.T, name string, c net.Conn, br *bufio.Reader) {
	t.Helper()
	fr, err := readFrame(br, nil)
	if err != nil || fr.opcode != 0x8 || len(fr.payload) < 2 || binary.BigEndian.Uint16(fr.payload) != 1001 {
		t.Fatalf("%s: want a close frame with status 1001 (going away), got opcode %d payload %q (%v)", name, fr.opcode, fr.payload, err)
	}
	c.Write(appendFrame(nil, 0x8, fr.payload[:2], true))
	if fr, err := readFrame(br, nil); err == nil {
		t.Errorf("%s: after the close handshake the proxy sent opcode %d", name, fr.opcode)
	}
}

type stopResult struct {
	err   error
	flows []capture.Flow
}

// stopAndSnapshot runs Shutdown and reads the log the moment it returns,
// which is when a caller closes the log: whatever is not there by then is
// lost.
func stopAndSnapshot(p *testProxy) <-chan stopResult {
	stopped := make(chan stopResult, 1)
	go func() {
		err := p.srv.Shutdown(context.Background())
		flows, rerr := capture.ReadFile(p.log.Path())
		stopped <- stopResult{errors.Join(err, rerr), flows}
	}()
	return stopped
}

// Stop with an exchange of every kind in flight: idle connections close at
// once (HTTP/2 ones with a GOAWAY), WebSockets get a close frame, and every
// upload in flight is answered, recorded and told the connection closes.
// Nothing is left running afterwards.
func TestShutdownDrainsEveryKindOfExchange(t *testing.T) {
	before := goleak.IgnoreCurrent()
	p := newTestServer(t, Config{})
	ln, tln := listen(t), listen(t)
	go p.srv.ServeProxy(ln)
	go p.srv.ServeTransparent(tln)
	addr, roots := ln.Addr().String(), pool(p.ca)

	clients := []*http.Client{
		proxiedClient(addr, roots, false), proxiedClient(addr, roots, true),
		directClient(tln.Addr().String(), roots),
	}
	defer func() {
		for _, hc := range clients {
			hc.CloseIdleConnections()
		}
	}()
	uploads := []*mitmtest.Upload{
		mitmtest.StartUpload(clients[0], "http://plain.test/up", "plain", false),
		mitmtest.StartUpload(clients[0], "http://plain.test/up", "plain-chunked", true),
		mitmtest.StartUpload(clients[0], "https://h1.test/up", "connect-h1", false),
		mitmtest.StartUpload(clients[1], "https://h2.test/up", "connect-h2", false),
		mitmtest.StartUpload(clients[2], "https://transparent.test/up", "transparent-tls", false),
		mitmtest.StartUpload(clients[2], "http://transparent-plain.test/up", "transparent-plain", false),
	}
	for _, u := range uploads {
		u.WaitInFlight(t)
	}
	idle := mitmtest.IdleConn(t, addr)
	h2idle := idleH2(t, addr, roots)
	ws, wsr := wsClient(t, addr, roots, "push.test")
	ws.Write(appendFrame(nil, 0x1, []byte("before stop"), true))

	stopped := stopAndSnapshot(p)

	// The idle connection closes while the uploads are still held: stop
	// does not wait for the drain to close it.
	mitmtest.WaitClosed(t, idle)
	// Listeners close before idle connections do.
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Error("the proxy still accepts connections after stop began")
	}
	if code := waitGoAway(t, h2idle); code != http2.ErrCodeNo {
		t.Errorf("idle HTTP/2 connection got GOAWAY %v, want NO_ERROR (graceful)", code)
	}
	expectGoingAway(t, "sinkhole WebSocket", ws, wsr)

	for _, u := range uploads {
		u.Release()
	}
	for _, u := range uploads {
		r := u.Result()
		if r.Err != nil || r.Status != 200 || r.Body != `{"code":0}` {
			t.Errorf("%s: %+v, want 200 {\"code\":0}", u.Name, r)
		}
		if u.Name != "connect-h2" && !r.Close {
			t.Errorf("%s: the last response before stop lacks Connection: close", u.Name)
		}
	}
	st := <-stopped
	if st.err != nil {
		t.Fatalf("Shutdown: %v", st.err)
	}
	flows := st.flows
	recorded := map[string]capture.Flow{}
	for _, f := range flows {
		if f.Kind == capture.KindWebSocket {
			recorded["websocket"] = f
		} else {
			recorded[string(f.Request.Body)] = f
		}
	}
	if len(flows) != len(uploads)+2 || recorded[""].Request == nil {
		t.Errorf("%d flows %v, want the idle GET, the WebSocket and %d uploads", len(flows), keys(recorded), len(uploads))
	}
	for _, u := range uploads {
		if f, ok := recorded[u.Payload()]; !ok || f.Error != "" || f.Response == nil || f.Response.Status != 200 {
			t.Errorf("%s: flow %+v", u.Name, f)
		}
	}
	if f := recorded["websocket"]; len(f.WebSocket) != 2 || string(f.WebSocket[0].Data) != "before stop" || f.WebSocket[1].Opcode != 0x8 || f.Error != "" {
		t.Errorf("WebSocket flow: frames %+v, error %q", f.WebSocket, f.Error)
	}
	for _, hc := range clients {
		hc.CloseIdleConnections()
	}
	mitmtest.VerifyNoLeaks(t, before)
}

func keys(m map[string]capture.Flow) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}

// A drain that runs out of time closes what is left: the uploads still
// waiting for their bodies end with an error in their flows, the WebSocket
// that never answers is recorded, and Shutdown says it had to force.
func TestShutdownPastItsDeadlineClosesWhatIsLeft(t *testing.T) {
	before := goleak.IgnoreCurrent()
	p := newTestServer(t, Config{})
	ln := listen(t)
	go p.srv.ServeProxy(ln)
	addr, roots := ln.Addr().String(), pool(p.ca)
	hc := proxiedClient(addr, roots, true)
	defer hc.CloseIdleConnections()
	held := []*mitmtest.Upload{
		mitmtest.StartUpload(hc, "https://stuck.test/up", "stuck-h2", false),
		mitmtest.StartUpload(hc, "http://stuck.test/up", "stuck-plain", false),
	}
	for _, u := range held {
		u.WaitInFlight(t)
	}
	_, wsr := wsClient(t, addr, roots, "silent.test")

	expired, cancel := context.WithCancel(context.Background())
	cancel()
	err := p.srv.Shutdown(expired)
	if err == nil || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "drain timeout") {
		t.Fatalf("Shutdown with its time run out = %v, want an error saying connections were cut", err)
	}
	for _, u := range held {
		u.Abandon()
		if r := u.Result(); r.Err == nil {
			t.Errorf("%s: completed (%+v) though its body was never sent", u.Name, r)
		}
	}
	// The proxy's close frame went out before the connection was cut.
	if fr, err := readFrame(wsr, nil); err != nil || fr.opcode != 0x8 {
		t.Errorf("silent WebSocket: opcode %d (%v), want a close frame", fr.opcode, err)
	}
	flows, err := capture.ReadFile(p.log.Path())
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[capture.Kind]int{}
	for _, f := range flows {
		kinds[f.Kind]++
		if f.Kind == capture.KindHTTP && (f.Error == "" || f.Request == nil || !strings.Contains(f.Request.URL, "stuck.test")) {
			t.Errorf("cut upload recorded as %+v, want its request with the error that cut it", f)
		}
	}
	if kinds[capture.KindHTTP] != 2 || kinds[capture.KindWebSocket] != 1 {
		t.Errorf("flows by kind %v, want the 2 cut uploads and the WebSocket", kinds)
	}
	hc.CloseIdleConnections()
	mitmtest.VerifyNoLeaks(t, before)
}

// In forward mode the exchanges in flight are the upstream's to finish:
// HTTP/1 (the proxy's own upstream connection), chunked and HTTP/2 (through
// net/http's Transport) all complete after stop began, and a relayed
// WebSocket is closed towards both peers.
func TestShutdownDrainsForwardedExchanges(t *testing.T) {
	before := goleak.IgnoreCurrent()
	arrived := make(chan string)
	release := make(chan struct{})
	wsClosed := make(chan error, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("/up", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		arrived <- string(b)
		<-release
		fmt.Fprintf(w, "upstream took %s", b)
	})
	mux.Handle("/socket", websocket.Handler(func(ws *websocket.Conn) {
		var msg string
		var err error
		for err == nil {
			err = websocket.Message.Receive(ws, &msg)
		}
		wsClosed <- err
	}))
	up := httptest.NewUnstartedServer(mux)
	up.EnableHTTP2 = true
	up.StartTLS()
	defer up.Close()
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "idle") }))
	defer plain.Close()

	p := newTestServer(t, Config{Mode: Forward, UpstreamInsecure: true, UpstreamMap: map[string]string{
		"api.test": up.Listener.Addr().String(), "push.test": up.Listener.Addr().String(),
		"idle.test": plain.Listener.Addr().String(),
	}})
	ln := listen(t)
	go p.srv.ServeProxy(ln)
	addr, roots := ln.Addr().String(), pool(p.ca)
	h1, h2 := proxiedClient(addr, roots, false), proxiedClient(addr, roots, true)
	defer h1.CloseIdleConnections()
	defer h2.CloseIdleConnections()
	uploads := []*mitmtest.Upload{
		mitmtest.StartUpload(h1, "https://api.test/up", "forward-h1", false),
		mitmtest.StartUpload(h1, "https://api.test/up", "forward-chunked", true),
		mitmtest.StartUpload(h2, "https://api.test/up", "forward-h2", false),
	}
	for _, u := range uploads {
		u.WaitInFlight(t)
		u.Release()
	}
	got := map[string]bool{}
	for range uploads {
		got[<-arrived] = true
	}
	idle := mitmtest.IdleConn(t, addr)
	ws, wsr := wsClient(t, addr, roots, "push.test")
	ws.Write(appendFrame(nil, 0x1, []byte("relayed before stop"), true))

	stopped := stopAndSnapshot(p)
	mitmtest.WaitClosed(t, idle)
	expectGoingAway(t, "relayed WebSocket, client side", ws, wsr)
	if err := <-wsClosed; !errors.Is(err, io.EOF) {
		t.Errorf("upstream WebSocket ended with %v, want the close frame (io.EOF)", err)
	}
	close(release)
	for _, u := range uploads {
		if r := u.Result(); r.Err != nil || r.Status != 200 || r.Body != "upstream took "+u.Payload() {
			t.Errorf("%s: %+v", u.Name, r)
		}
		if !got[u.Payload()] {
			t.Errorf("%s never reached the upstream", u.Name)
		}
	}
	st := <-stopped
	if st.err != nil {
		t.Fatalf("Shutdown: %v", st.err)
	}
	flows := st.flows
	var bodies []string
	var wsFlow capture.Flow
	for _, f := range flows {
		if f.Kind == capture.KindWebSocket {
			wsFlow = f
		} else if f.Response != nil && strings.HasPrefix(string(f.Response.Body), "upstream took") && f.Error == "" {
			bodies = append(bodies, string(f.Request.Body))
		}
	}
	if len(flows) != len(uploads)+2 || len(bodies) != len(uploads) {
		t.Errorf("%d flows, %d forwarded uploads recorded (%q); want %d uploads, the idle GET and the WebSocket", len(flows), len(bodies), bodies, len(uploads))
	}
	var sent bool
	for _, fr := range wsFlow.WebSocket {
		sent = sent || fr.FromClient && string(fr.Data) == "relayed before stop"
	}
	if !sent {
		t.Errorf("WebSocket flow frames %+v error %q flows %d", wsFlow.WebSocket, wsFlow.Error, len(flows))
	}
	h1.CloseIdleConnections()
	h2.CloseIdleConnections()
	up.Close()
	plain.Close()
	mitmtest.VerifyNoLeaks(t, before)
}
