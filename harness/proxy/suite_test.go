package proxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"telltale.dev/harness/ca"
	"telltale.dev/harness/capture"
	"telltale.dev/harness/mitm/mitmtest"
)

// exerciseAppListener opens an app's own listener and sends through it what
// adb reverse would carry there: a connection redirected without a proxy
// setting, which the flow must attribute to the app.
func exerciseAppListener(ctx context.Context, t *testing.T, r Recorder, caFile string) {
	t.Helper()
	app := capture.App{UID: 10211, Package: "com.example.quic"}
	target, err := r.OpenApp(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	sock, ok := strings.CutPrefix(target, "localfilesystem:")
	if !ok {
		t.Fatalf("OpenApp answered %q, want an adb reverse target localfilesystem:PATH", target)
	}
	mark, err := r.Mark(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	if out, code := curl(t, "--unix-socket", sock, "--cacert", caFile, "https://quic.test/collect?e=1"); code != 0 || out != `{"code":0}` {
		t.Fatalf("curl through the app's socket %s: exit %d: %s", sock, code, out)
	}
	flows, err := WaitFlows(ctx, r, mark.Seq, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(flows) != 1 || flows[0].App == nil || *flows[0].App != app || flows[0].Route != capture.RouteRedirect ||
		flows[0].Request.URL != "https://quic.test/collect?e=1" {
		t.Fatalf("flows through the app's socket: %+v, want one from %s", flows, &app)
	}
}

// exerciseRecorder is what every kind of Recorder must do, with curl as the
// real client: both HTTP versions decrypted with exactly the bytes sent, a
// client without the CA and a pinned client as TLS failures, marks that
// bracket them, and 10,000 requests from 32 clients as 10,000 flows.
func exerciseRecorder(t *testing.T, r Recorder, authority *ca.CA) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	addr, err := r.ProxyAddr(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Errorf("ProxyAddr %s is not on 127.0.0.1", addr)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, authority.CertPEM(), 0o644)
	served, err := CACert(ctx, r)
	if err != nil || !bytes.Equal(served, authority.CertPEM()) {
		t.Fatalf("the proxy serves a different CA (%v)", err)
	}

	start, err := r.Mark(ctx, "start:curl")
	if err != nil {
		t.Fatal(err)
	}
	bodies := map[string]string{"--http1.1": `{"q":"canary one"}`, "--http2": "canary=two&x=\x01"}
	for _, flag := range []string{"--http1.1", "--http2"} {
		out, code := curl(t, flag, "-x", addr, "--cacert", caFile, "-H", "X-Test: "+flag,
			"--data-binary", bodies[flag], "https://tele.test/track/v4?x="+flag[2:])
		if code != 0 || out != `{"code":0}` {
			t.Fatalf("%s: curl exit %d: %s", flag, code, out)
		}
	}
	if _, code := curl(t, "-x", addr, "https://no-ca.test/"); code != 60 {
		t.Errorf("curl without the CA: exit %d, want 60", code)
	}
	pinned(t, addr)
	// A refused handshake is recorded when the proxy reads the client's
	// alert, which can be just after the client gave up.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if fl, err := WaitFlows(ctx, r, start.Seq+3, time.Second); err == nil && len(fl) > 0 {
			break
		}
	}
	end, err := r.Mark(ctx, "end:curl")
	if err != nil {
		t.Fatal(err)
	}
	if end.Seq != start.Seq+5 {
		t.Errorf("marks at %d and %d, want 4 records between them", start.Seq, end.Seq)
	}
	flows, err := r.Flows(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	ws := capture.Windows(flows)
	if len(ws) != 1 || ws[0].Name != "curl" {
		t.Fatalf("windows %+v", ws)
	}
	in := capture.Between(flows, ws[0])
	if len(in) != 4 {
		t.Fatalf("%d flows in the window, want 4", len(in))
	}
	for i, flag := range []string{"--http1.1", "--http2"} {
		f := in[i]
		if f.Kind != capture.KindHTTP || string(f.Request.Body) != bodies[flag] || f.Request.URL != "https://tele.test/track/v4?x="+flag[2:] || !f.TLS.Decrypted {
			t.Errorf("%s: flow %+v request %+v", flag, f, f.Request)
		}
		found := false
		for _, h := range f.Request.Headers {
			found = found || strings.EqualFold(h.Name, "X-Test") && h.Value == flag
		}
		if !found {
			t.Errorf("%s: header X-Test missing from %v", flag, f.Request.Headers)
		}
	}
	// Which refusal the proxy noticed first is up to the clients' timing.
	refused := map[string]bool{}
	for _, f := range in[2:] {
		if f.Kind != capture.KindTLSFailure || f.TLS == nil || f.TLS.Decrypted || f.TLS.Alert == "" {
			t.Errorf("want a TLS failure, got %+v", f)
			continue
		}
		refused[f.TLS.SNI] = true
	}
	if !refused["no-ca.test"] || !refused["pinned.test"] {
		t.Errorf("TLS failures for %v, want no-ca.test and pinned.test", refused)
	}
	var har bytes.Buffer
	if err := capture.WriteHAR(&har, flows); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(har.Bytes(), []byte(`canary one`)) {
		t.Error("HAR lacks the HTTP/1.1 body")
	}

	// Load: every request is a flow, exactly once.
	const total, clients = 10000, 32
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := range clients {
		wg.Go(func() {
			hc := proxiedClient(addr, authority.Certificate(), c%2 == 1)
			defer hc.CloseIdleConnections()
			for {
				i := next.Add(1)
				if i > total {
					return
				}
				if _, err := post(ctx, hc, i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	loaded, err := r.Flows(ctx, end.Seq)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, f := range loaded {
		ids[string(f.Request.Body)] = true
	}
	if len(loaded) != total || len(ids) != total {
		t.Errorf("%d flows with %d distinct bodies after %d requests", len(loaded), len(ids), total)
	}
	exerciseAppListener(ctx, t, r, caFile)
}

// pinned is a client that trusts only its own root, as a pinning app does.
func pinned(t *testing.T, proxyAddr string) {
	t.Helper()
	other, err := ca.New("pinned root")
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", proxyAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(c, "CONNECT pinned.test:443 HTTP/1.1\r\nHost: pinned.test:443\r\n\r\n")
	resp, err := http.ReadResponse(bufioReader(c), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %v", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(other.Certificate())
	if err := tls.Client(c, &tls.Config{ServerName: "pinned.test", RootCAs: roots}).Handshake(); err == nil {
		t.Fatal("pinned client accepted the proxy's certificate")
	}
}

func proxiedClient(proxyAddr string, root *x509.Certificate, h2 bool) *http.Client {
	pu, _ := url.Parse("http://" + proxyAddr)
	roots := x509.NewCertPool()
	roots.AddCert(root)
	tr := &http.Transport{Proxy: http.ProxyURL(pu), TLSClientConfig: &tls.Config{RootCAs: roots},
		ForceAttemptHTTP2: h2, MaxIdleConnsPerHost: 4,
		// Uploads sending Expect: 100-continue wait for the proxy's
		// answer, not for a timer.
		ExpectContinueTimeout: time.Minute}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// post sends request i with a body naming it; it succeeds only once the
// whole response has arrived.
func post(ctx context.Context, hc *http.Client, i int64) (string, error) {
	id := fmt.Sprintf(`{"id":%d}`, i)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "https://load.test/track/v4", strings.NewReader(id))
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != 200 || string(b) != `{"code":0}` {
		return "", fmt.Errorf("request %d: %s %q", i, resp.Status, b)
	}
	return id, nil
}

// killMidLoad runs 32 clients, kills the proxy once some requests have
// completed, and checks that every response a client completed has its flow
// in the log read back afterwards.
func killMidLoad(t *testing.T, addr string, root *x509.Certificate, kill func(), readLog func() ([]capture.Flow, error)) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var next, done atomic.Int64
	var mu sync.Mutex
	completed := map[string]bool{}
	enough := make(chan struct{})
	var wg sync.WaitGroup
	for c := range 32 {
		wg.Go(func() {
			hc := proxiedClient(addr, root, c%2 == 1)
			defer hc.CloseIdleConnections()
			for ctx.Err() == nil {
				id, err := post(ctx, hc, next.Add(1))
				if err != nil {
					return // the proxy is gone
				}
				mu.Lock()
				completed[id] = true
				mu.Unlock()
				if done.Add(1) == 3000 {
					close(enough)
				}
			}
		})
	}
	select {
	case <-enough:
	case <-ctx.Done():
	}
	kill()
	wg.Wait()
	flows, err := readLog()
	if err != nil {
		t.Fatalf("log unreadable after kill -9: %v", err)
	}
	logged := map[string]bool{}
	for _, f := range flows {
		if f.Request != nil {
			logged[string(f.Request.Body)] = true
		}
	}
	lost := 0
	for id := range completed {
		if !logged[id] {
			lost++
		}
	}
	t.Logf("killed after %d completed responses; %d flows in the log", len(completed), len(flows))
	if len(completed) < 3000 || lost > 0 {
		t.Errorf("%d completed, %d of them missing from the log", len(completed), lost)
	}
}

func curl(t *testing.T, args ...string) (string, int) {
	t.Helper()
	bin, err := exec.LookPath("curl")
	if err != nil {
		t.Fatal("curl is needed as the real client: apt-get install curl")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, append([]string{"-sS", "--max-time", "20", "--noproxy", ""}, args...)...)
	cmd.Stdout = &out
	cmd.Env = append(os.Environ(), "http_proxy=", "https_proxy=", "HTTPS_PROXY=", "ALL_PROXY=")
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), 0
}

// stopWithUploadsInFlight starts n uploads through the proxy at addr (HTTP/1.1
// and HTTP/2 in turn, through CONNECT) and holds each in flight by holding
// its body; then it calls stop, waits for the sign that stop has begun (an
// idle keep-alive connection closed), sends the bodies, and checks that
// every upload is answered and, once stop returned, is in the log readLog
// reads with the exchange that opened the idle connection.
func stopWithUploadsInFlight(t *testing.T, addr string, root *x509.Certificate, n int, stop func() error, readLog func() ([]capture.Flow, error)) {
	t.Helper()
	clients := []*http.Client{proxiedClient(addr, root, false), proxiedClient(addr, root, true)}
	defer func() {
		for _, hc := range clients {
			hc.CloseIdleConnections()
		}
	}()
	uploads := make([]*mitmtest.Upload, n)
	for i := range uploads {
		uploads[i] = mitmtest.StartUpload(clients[i%2], "https://upload.test/v1/batch", fmt.Sprintf("%02d", i), false)
	}
	for _, u := range uploads {
		u.WaitInFlight(t)
	}
	idle := mitmtest.IdleConn(t, addr)
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	mitmtest.WaitClosed(t, idle)
	for _, u := range uploads {
		u.Release()
	}
	for _, u := range uploads {
		if r := u.Result(); r.Err != nil || r.Status != 200 || r.Body != `{"code":0}` {
			t.Errorf("upload %s after stop began: %+v, want 200 {\"code\":0}", u.Name, r)
		}
	}
	if err := <-stopped; err != nil {
		t.Fatalf("stop: %v", err)
	}
	flows, err := readLog()
	if err != nil {
		t.Fatalf("flow log after stop: %v", err)
	}
	recordedOnce(t, flows, uploads)
}

// recordedOnce checks that flows hold each upload once, answered 200
// without error, and besides them only the idle connection's GET.
func recordedOnce(t *testing.T, flows []capture.Flow, uploads []*mitmtest.Upload) {
	t.Helper()
	recorded := map[string]int{}
	for _, f := range flows {
		if f.Request != nil && f.Error == "" && f.Response != nil && f.Response.Status == 200 {
			recorded[string(f.Request.Body)]++
		}
	}
	for _, u := range uploads {
		if recorded[u.Payload()] != 1 {
			t.Errorf("upload %s is recorded %d times, want once", u.Name, recorded[u.Payload()])
		}
	}
	if len(flows) != len(uploads)+1 || recorded[""] != 1 {
		t.Errorf("%d records, want the %d uploads and the idle connection's GET", len(flows), len(uploads))
	}
}
