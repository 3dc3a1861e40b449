package mitm

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"golang.org/x/net/websocket"

	"telltale.dev/harness/ca"
	"telltale.dev/harness/capture"
)

func TestCurlThroughSinkholeHTTP1AndHTTP2(t *testing.T) {
	p := startProxy(t, Config{})
	for i, tc := range []struct{ flag, proto, alpn string }{
		{"--http1.1", "HTTP/1.1", "http/1.1"},
		{"--http2", "HTTP/2.0", "h2"},
	} {
		body := fmt.Sprintf(`{"canary":"c-%d","bin":"\u00ff"}`, i)
		out, code := curl(t, tc.flag, "-x", p.addr, "--cacert", p.caFile,
			"-H", "X-Zeta: 1", "-H", "X-Alpha: 2", "-H", "Content-Type: application/json",
			"--data-binary", body, "https://telemetry.test/track/v4?device=d1")
		if code != 0 || out != `{"code":0}` {
			t.Fatalf("%s: curl exit %d, output %q", tc.flag, code, out)
		}
		f := p.waitFlows(t, i+1)[i]
		r := f.Request
		if f.Kind != capture.KindHTTP || r.Method != "POST" || r.URL != "https://telemetry.test/track/v4?device=d1" || r.Proto != tc.proto {
			t.Errorf("%s: flow %s %s %s %s", tc.flag, f.Kind, r.Method, r.URL, r.Proto)
		}
		if string(r.Body) != body || r.BodySize != int64(len(body)) || r.Truncated {
			t.Errorf("%s: body %q (size %d), sent %q", tc.flag, r.Body, r.BodySize, body)
		}
		if f.TLS == nil || !f.TLS.Decrypted || f.TLS.SNI != "telemetry.test" || f.TLS.ALPN != tc.alpn || f.TLS.Version == "" {
			t.Errorf("%s: TLS %+v", tc.flag, f.TLS)
		}
		if header(r.Headers, "X-Zeta") != "1" || header(r.Headers, "X-Alpha") != "2" {
			t.Errorf("%s: headers %v", tc.flag, r.Headers)
		}
		if f.Response == nil || f.Response.Status != 200 || string(f.Response.Body) != `{"code":0}` {
			t.Errorf("%s: response %+v", tc.flag, f.Response)
		}
		if tc.proto == "HTTP/1.1" {
			// HTTP/1 keeps the order the client sent.
			var names []string
			for _, h := range r.Headers {
				names = append(names, h.Name)
			}
			if got := strings.Join(names, ","); !strings.Contains(got, "X-Zeta,X-Alpha") {
				t.Errorf("header order %s", got)
			}
		}
		if !f.Start.Before(f.End) || f.Client == "" {
			t.Errorf("%s: times %v..%v client %q", tc.flag, f.Start, f.End, f.Client)
		}
	}
	// The HAR holds the same bytes.
	var har bytes.Buffer
	if err := capture.WriteHAR(&har, p.flows(t)); err != nil {
		t.Fatal(err)
	}
	back, err := capture.ReadHAR(&har)
	if err != nil || len(back) != 2 || string(back[1].Request.Body) != `{"canary":"c-1","bin":"\u00ff"}` {
		t.Fatalf("HAR round trip: %v %d", err, len(back))
	}
}

func TestCurlWithoutTheCAIsATLSFailureWithItsSNI(t *testing.T) {
	p := startProxy(t, Config{})
	for i, extra := range [][]string{{"--tls-max", "1.2"}, {}} {
		_, code := curl(t, append(extra, "-x", p.addr, "https://no-ca.test/x")...)
		if code != 60 {
			t.Fatalf("curl exit %d, want 60 (peer certificate cannot be authenticated)", code)
		}
		f := p.waitFlows(t, i+1)[i]
		if f.Kind != capture.KindTLSFailure || f.TLS == nil || f.TLS.SNI != "no-ca.test" || f.TLS.Decrypted || f.TLS.Alert == "" {
			t.Errorf("flow %+v tls %+v", f, f.TLS)
		}
		if f.Request != nil || f.Client == "" {
			t.Errorf("a TLS failure must not claim a request: %+v", f)
		}
	}
	// curl says why it refused, under either version.
	for _, f := range p.flows(t) {
		if !strings.Contains(f.TLS.Alert, "unknown certificate authority") {
			t.Errorf("alert = %q, want curl's unknown CA alert", f.TLS.Alert)
		}
	}
}

// A pinning client trusts only its own root, so our certificate fails.
func TestPinnedClientShowsAsTLSFailure(t *testing.T) {
	p := startProxy(t, Config{})
	other, err := ca.New("the app's pinned root")
	if err != nil {
		t.Fatal(err)
	}
	tunnel := connectTunnel(t, p.addr, "pinned.test:443")
	defer tunnel.Close()
	tc := tls.Client(tunnel, &tls.Config{ServerName: "pinned.test", RootCAs: pool(other)})
	if err := tc.Handshake(); err == nil {
		t.Fatal("pinned client accepted the proxy's certificate")
	}
	f := p.waitFlows(t, 1)[0]
	if f.Kind != capture.KindTLSFailure || f.TLS.SNI != "pinned.test" || !strings.Contains(f.TLS.Alert, "bad certificate") && !strings.Contains(f.TLS.Alert, "unknown certificate authority") {
		t.Errorf("flow %+v, tls %+v", f, f.TLS)
	}
}

func TestCurlForwardToLocalUpstream(t *testing.T) {
	var mu sync.Mutex
	var got [][]byte
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, b)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"upstream":true,"proto":%q,"path":%q}`, r.Proto, r.URL.Path)
	}))
	up.EnableHTTP2 = true
	up.StartTLS()
	defer up.Close()
	p := startProxy(t, Config{Mode: Forward, UpstreamInsecure: true,
		UpstreamMap: map[string]string{"api.test": up.Listener.Addr().String()}})
	for i, flag := range []string{"--http1.1", "--http2"} {
		out, code := curl(t, flag, "-x", p.addr, "--cacert", p.caFile, "--data-binary", "payload-"+flag, "https://api.test/v1/e")
		if code != 0 || !strings.Contains(out, `"upstream":true`) {
			t.Fatalf("%s: exit %d out %q", flag, code, out)
		}
		f := p.waitFlows(t, i+1)[i]
		if string(f.Request.Body) != "payload-"+flag || string(f.Response.Body) != out || f.Response.Status != 200 {
			t.Errorf("%s: recorded %q -> %q, client saw %q", flag, f.Request.Body, f.Response.Body, out)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || string(got[0]) != "payload---http1.1" || string(got[1]) != "payload---http2" {
		t.Errorf("upstream received %q", got)
	}
	// An unreachable upstream is a 502 and a flow saying why.
	p2 := startProxy(t, Config{Mode: Forward, UpstreamMap: map[string]string{"down.test": "127.0.0.1:1"}})
	out, _ := curl(t, "-x", p2.addr, "--cacert", p2.caFile, "-o", "/dev/null", "-w", "%{http_code}", "https://down.test/")
	if out != "502" {
		t.Errorf("unreachable upstream gave %q", out)
	}
	if f := p2.waitFlows(t, 1)[0]; !strings.Contains(f.Error, "upstream") {
		t.Errorf("flow error %q", f.Error)
	}
}

func TestPlainHTTPAndOneTrackKeyExchange(t *testing.T) {
	p := startProxy(t, Config{})
	out, code := curl(t, "-x", p.addr, "-o", "/dev/null", "-w", "%{http_code}", "http://connectivitycheck.test/generate_204")
	if code != 0 || out != "204" {
		t.Fatalf("generate_204: %d %q", code, out)
	}
	out, code = curl(t, "-x", p.addr, "--cacert", p.caFile, "-d", "secretKey=abc&sign=def", "https://tracking.rus.miui.com/track/key_get")
	var reply struct {
		Code int `json:"code"`
		Data struct{ Key, Sid string }
	}
	if code != 0 || json.Unmarshal([]byte(out), &reply) != nil || reply.Code != 0 || len(reply.Data.Key) != 24 || reply.Data.Sid == "" {
		t.Fatalf("key_get reply %q", out)
	}
	fl := p.waitFlows(t, 2)
	if fl[0].Request.URL != "http://connectivitycheck.test/generate_204" || fl[0].TLS != nil {
		t.Errorf("plain flow %+v", fl[0].Request)
	}
	if string(fl[1].Response.Body) != out {
		t.Errorf("recorded key reply %q, client got %q", fl[1].Response.Body, out)
	}
}

func TestWebSocketFramesAreRecorded(t *testing.T) {
	p := startProxy(t, Config{})
	tunnel := connectTunnel(t, p.addr, "push.test:443")
	defer tunnel.Close()
	tc := tls.Client(tunnel, &tls.Config{ServerName: "push.test", RootCAs: pool(p.ca), NextProtos: []string{"http/1.1"}})
	cfg, _ := websocket.NewConfig("wss://push.test/socket", "https://push.test")
	ws, err := websocket.NewClient(cfg, tc)
	if err != nil {
		t.Fatal(err)
	}
	websocket.Message.Send(ws, "hello canary")
	websocket.Message.Send(ws, []byte{0, 1, 2})
	ws.Close()
	f := p.waitFlows(t, 1)[0]
	if f.Kind != capture.KindWebSocket || f.Request.URL != "https://push.test/socket" || f.Response.Status != 101 {
		t.Fatalf("flow %s %+v", f.Kind, f.Request)
	}
	if len(f.WebSocket) < 2 || string(f.WebSocket[0].Data) != "hello canary" || f.WebSocket[0].Opcode != 1 ||
		!bytes.Equal(f.WebSocket[1].Data, []byte{0, 1, 2}) || !f.WebSocket[1].FromClient {
		t.Errorf("frames %+v", f.WebSocket)
	}
}

func TestTransparentModeRoutesBySNI(t *testing.T) {
	p := startProxy(t, Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go p.srv.ServeTransparent(ln)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	out, code := curl(t, "--cacert", p.caFile, "--resolve", "redirected.test:"+port+":127.0.0.1",
		"https://redirected.test:"+port+"/a")
	if code != 0 || out != `{"code":0}` {
		t.Fatalf("exit %d out %q", code, out)
	}
	f := p.waitFlows(t, 1)[0]
	if f.Request.URL != "https://redirected.test:"+port+"/a" || f.TLS.SNI != "redirected.test" {
		t.Errorf("url %s sni %s", f.Request.URL, f.TLS.SNI)
	}
	// Plain HTTP redirected the same way is routed by its Host header.
	if out, code := curl(t, "--resolve", "plain.test:"+port+":127.0.0.1", "http://plain.test:"+port+"/b"); code != 0 || out != `{"code":0}` {
		t.Fatalf("plain: exit %d out %q", code, out)
	}
	if f := p.waitFlows(t, 2)[1]; f.Request.URL != "http://plain.test:"+port+"/b" || f.TLS != nil {
		t.Errorf("plain url %s tls %+v", f.Request.URL, f.TLS)
	}
}

func TestBodyOverTheLimitIsTruncatedWithFlag(t *testing.T) {
	p := startProxy(t, Config{BodyLimit: 100})
	body := strings.Repeat("x", 1000)
	if _, code := curl(t, "-x", p.addr, "--cacert", p.caFile, "--data-binary", body, "https://big.test/"); code != 0 {
		t.Fatal(code)
	}
	r := p.waitFlows(t, 1)[0].Request
	if !r.Truncated || r.BodySize != 1000 || len(r.Body) != 100 {
		t.Errorf("truncated=%v size=%d kept=%d", r.Truncated, r.BodySize, len(r.Body))
	}
}

// 10,000 requests from 32 keep-alive clients: every one is a flow, once.
func TestManyConcurrentClientsAllRecorded(t *testing.T) {
	p := startProxy(t, Config{})
	const clients, per = 32, 10000 / 32
	total := clients * per
	extra := 10000 - total
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := range clients {
		n := per
		if c < extra {
			n++
		}
		wg.Go(func() {
			hc := proxiedClient(p.addr, pool(p.ca), c%2 == 0)
			for i := range n {
				id := fmt.Sprintf("c%02d-%04d", c, i)
				resp, err := hc.Post("https://load.test/track/v4", "application/json", strings.NewReader(`{"id":"`+id+`"}`))
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	flows := p.waitFlows(t, 10000)
	seen := map[string]bool{}
	for _, f := range flows {
		seen[string(f.Request.Body)] = true
	}
	if len(seen) != 10000 {
		t.Errorf("%d distinct bodies in 10000 flows", len(seen))
	}
}

func TestControlAPI(t *testing.T) {
	p := startProxy(t, Config{})
	if code := getJSON(t, p.controlURL+"/healthz", nil); code != 200 {
		t.Fatal(code)
	}
	caResp, err := http.Get(p.controlURL + "/ca.pem")
	if err != nil {
		t.Fatal(err)
	}
	pem, _ := io.ReadAll(caResp.Body)
	caResp.Body.Close()
	if !bytes.Equal(pem, p.ca.CertPEM()) {
		t.Error("/ca.pem is not the CA")
	}
	mark := func(body string) (int, capture.Flow) {
		resp, err := http.Post(p.controlURL+"/marks", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var f capture.Flow
		json.NewDecoder(resp.Body).Decode(&f)
		return resp.StatusCode, f
	}
	if code, f := mark(`{"name":"start:browse"}`); code != 200 || f.Seq != 1 || f.Kind != capture.KindMark {
		t.Fatalf("mark: %d %+v", code, f)
	}
	for _, bad := range []string{`{}`, `nope`, `{"name":""}`} {
		if code, _ := mark(bad); code != 400 {
			t.Errorf("mark %s: %d, want 400", bad, code)
		}
	}
	// The flows after the mark (the long-poll is TestFlowsLongPoll's).
	curl(t, "-x", p.addr, "http://poll.test/")
	resp, err := http.Get(p.controlURL + "/flows?since=1")
	if err != nil {
		t.Fatal(err)
	}
	fl, err := capture.ReadLog(resp.Body)
	resp.Body.Close()
	if err != nil || len(fl) != 1 || fl[0].Seq != 2 || fl[0].Request.URL != "http://poll.test/" {
		t.Errorf("flows since 1: %+v (%v)", fl, err)
	}
	if code := getJSON(t, p.controlURL+"/flows?since=-3", nil); code != 400 {
		t.Errorf("since=-3: %d", code)
	}
	var st Stats
	getJSON(t, p.controlURL+"/stats", &st)
	if st.LastSeq != 2 || st.Flows != 1 || st.Marks != 1 || st.Mode != Sinkhole {
		t.Errorf("stats %+v", st)
	}
}

func TestWebSocketForwardRecordsBothDirections(t *testing.T) {
	up := httptest.NewTLSServer(websocket.Handler(func(ws *websocket.Conn) {
		var msg string
		for websocket.Message.Receive(ws, &msg) == nil {
			websocket.Message.Send(ws, "echo:"+msg)
		}
	}))
	defer up.Close()
	p := startProxy(t, Config{Mode: Forward, UpstreamInsecure: true,
		UpstreamMap: map[string]string{"ws.test": up.Listener.Addr().String()}})
	tunnel := connectTunnel(t, p.addr, "ws.test:443")
	defer tunnel.Close()
	tc := tls.Client(tunnel, &tls.Config{ServerName: "ws.test", RootCAs: pool(p.ca), NextProtos: []string{"http/1.1"}})
	cfg, _ := websocket.NewConfig("wss://ws.test/chat", "https://ws.test")
	ws, err := websocket.NewClient(cfg, tc)
	if err != nil {
		t.Fatal(err)
	}
	websocket.Message.Send(ws, "canary-ws")
	var reply string
	if err := websocket.Message.Receive(ws, &reply); err != nil || reply != "echo:canary-ws" {
		t.Fatalf("reply %q, %v", reply, err)
	}
	ws.Close()
	f := p.waitFlows(t, 1)[0]
	var sent, got bool
	for _, fr := range f.WebSocket {
		sent = sent || fr.FromClient && string(fr.Data) == "canary-ws"
		got = got || !fr.FromClient && string(fr.Data) == "echo:canary-ws"
	}
	if f.Kind != capture.KindWebSocket || f.Response.Status != 101 || !sent || !got {
		t.Errorf("flow %s status %d frames %+v", f.Kind, f.Response.Status, f.WebSocket)
	}
}

func TestWebSocketUpgradeRefusedUpstreamIsPassedOn(t *testing.T) {
	up := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no sockets here", http.StatusForbidden)
	}))
	defer up.Close()
	p := startProxy(t, Config{Mode: Forward, UpstreamInsecure: true,
		UpstreamMap: map[string]string{"deny.test": up.Listener.Addr().String()}})
	tunnel := connectTunnel(t, p.addr, "deny.test:443")
	defer tunnel.Close()
	tc := tls.Client(tunnel, &tls.Config{ServerName: "deny.test", RootCAs: pool(p.ca), NextProtos: []string{"http/1.1"}})
	cfg, _ := websocket.NewConfig("wss://deny.test/chat", "https://deny.test")
	if _, err := websocket.NewClient(cfg, tc); err == nil {
		t.Fatal("upgrade succeeded through a refusing upstream")
	}
	f := p.waitFlows(t, 1)[0]
	if f.Response.Status != 403 || !strings.Contains(string(f.Response.Body), "no sockets here") || f.Error == "" {
		t.Errorf("status %d body %q error %q", f.Response.Status, f.Response.Body, f.Error)
	}
}

// A long-poll on /flows blocks while nothing is new, returns with the flow
// that ends the wait, and returns with what there is when the proxy stops.
// synctest.Wait returns only once every goroutine of the bubble is blocked:
// the poll is known to be waiting inside the handler, not on its way there,
// when the flow is appended or the proxy stopped.
func TestFlowsLongPoll(t *testing.T) {
	authority, err := ca.New("long-poll test CA")
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		lw, err := capture.NewLogWriter(filepath.Join(t.TempDir(), "flows.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		defer lw.Close()
		srv, err := New(Config{CA: authority, Log: lw})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel() // ends a poll left blocked by a failure
		poll := func(query string) <-chan *httptest.ResponseRecorder {
			got := make(chan *httptest.ResponseRecorder, 1)
			req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/flows?"+query, nil)
			go func() {
				rec := httptest.NewRecorder()
				srv.ControlHandler().ServeHTTP(rec, req)
				got <- rec
			}()
			return got
		}
		answered := func(got <-chan *httptest.ResponseRecorder) *httptest.ResponseRecorder {
			synctest.Wait()
			select {
			case rec := <-got:
				return rec
			default:
				return nil
			}
		}

		first := poll("since=0&wait=20s")
		if rec := answered(first); rec != nil {
			t.Fatalf("long-poll answered %q before any flow", rec.Body)
		}
		mark, err := srv.Mark("start:browse")
		if err != nil {
			t.Fatal(err)
		}
		rec := answered(first)
		if rec == nil {
			t.Fatal("long-poll still blocked after a flow was recorded")
		}
		fl, err := capture.ReadLog(rec.Body)
		if err != nil || len(fl) != 1 || fl[0].Seq != mark.Seq || fl[0].Mark != "start:browse" {
			t.Errorf("long-poll answered %+v (%v), want the mark", fl, err)
		}

		second := poll("since=1&wait=5m")
		if rec := answered(second); rec != nil {
			t.Fatalf("long-poll since 1 answered %q with nothing new", rec.Body)
		}
		srv.Close()
		rec = answered(second)
		if rec == nil {
			t.Fatal("long-poll still blocked after the proxy stopped")
		}
		if rec.Code != 200 || rec.Body.Len() != 0 {
			t.Errorf("long-poll after stop: %d %q, want 200 and no flows", rec.Code, rec.Body)
		}
	})
}
