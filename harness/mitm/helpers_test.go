package mitm

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"telltale.dev/harness/ca"
	"telltale.dev/harness/capture"
)

// testProxy is a Server on loopback listeners with its CA on disk for curl.
type testProxy struct {
	srv        *Server
	ca         *ca.CA
	caFile     string
	addr       string
	controlURL string
	log        *capture.LogWriter
}

func startProxy(t testing.TB, cfg Config) *testProxy {
	t.Helper()
	p := newTestServer(t, cfg)
	ln := listen(t)
	cln := listen(t)
	hs := &http.Server{Handler: p.srv.ControlHandler()}
	go hs.Serve(cln)
	go p.srv.ServeProxy(ln)
	t.Cleanup(func() { hs.Close() })
	p.addr, p.controlURL = ln.Addr().String(), "http://"+cln.Addr().String()
	return p
}

// newTestServer makes a Server, not yet serving, with a new CA and log; the
// test's cleanup closes both.
func newTestServer(t testing.TB, cfg Config) *testProxy {
	t.Helper()
	dir := t.TempDir()
	authority, err := ca.LoadOrCreate(filepath.Join(dir, "ca"))
	if err != nil {
		t.Fatal(err)
	}
	lw, err := capture.NewLogWriter(filepath.Join(dir, "flows.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.CA, cfg.Log = authority, lw
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Close returns once every handler has, so the log can close.
		srv.Close()
		lw.Close()
	})
	return &testProxy{srv: srv, ca: authority, caFile: filepath.Join(dir, "ca", "ca.pem"), log: lw}
}

func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// flows reads the log file itself, which is what survives the proxy.
func (p *testProxy) flows(t *testing.T) []capture.Flow {
	t.Helper()
	f, err := capture.ReadFile(p.log.Path())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// waitFlows waits until the log holds n records (a TLS failure is recorded
// when the proxy reads the client's alert, which can come after the client
// has given up), then checks it holds no more.
func (p *testProxy) waitFlows(t *testing.T, n int) []capture.Flow {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p.log.Wait(ctx, int64(n-1))
	fl := p.flows(t)
	if len(fl) != n {
		t.Fatalf("flow log holds %d records, want %d", len(fl), n)
	}
	return fl
}

// curl runs the real curl; it fails the test if curl is missing.
func curl(t *testing.T, args ...string) (stdout string, exit int) {
	t.Helper()
	bin, err := exec.LookPath("curl")
	if err != nil {
		t.Fatal("curl is needed as the real client: apt-get install curl")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, append([]string{"-sS", "--max-time", "20", "--noproxy", ""}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), "http_proxy=", "https_proxy=", "HTTPS_PROXY=", "ALL_PROXY=")
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String() + errb.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), 0
}

// proxiedClient is a Go HTTP client using the proxy and trusting roots.
func proxiedClient(proxyAddr string, roots *x509.CertPool, h2 bool) *http.Client {
	pu, _ := url.Parse("http://" + proxyAddr)
	tr := &http.Transport{
		Proxy:               http.ProxyURL(pu),
		TLSClientConfig:     &tls.Config{RootCAs: roots},
		ForceAttemptHTTP2:   h2,
		MaxIdleConnsPerHost: 64,
		// Requests sending Expect: 100-continue wait for the proxy's
		// answer, not for a timer.
		ExpectContinueTimeout: time.Minute,
	}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func pool(c *ca.CA) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.Certificate())
	return p
}

// connectTLS opens a CONNECT tunnel to target and returns the raw tunnel.
func connectTunnel(t *testing.T, proxyAddr, target string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", proxyAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	buf := make([]byte, 0, 128)
	one := make([]byte, 1)
	for !bytes.HasSuffix(buf, []byte("\r\n\r\n")) {
		if _, err := c.Read(one); err != nil {
			t.Fatalf("CONNECT reply: %v", err)
		}
		buf = append(buf, one[0])
	}
	if !strings.HasPrefix(string(buf), "HTTP/1.1 200") {
		t.Fatalf("CONNECT reply %q", buf)
	}
	return c
}

func getJSON(t *testing.T, u string, v any) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v: %s", u, err, b)
		}
	}
	return resp.StatusCode
}

func header(hs []capture.Header, name string) string {
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}
