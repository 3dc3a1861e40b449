package mitm

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// BenchmarkProxy measures one keep-alive HTTP/1.1 client per goroutine
// posting 2 KB through the proxy, in both modes, recording every flow,
// reached both ways: through CONNECT (the proxy setting) and redirected
// (transparent capture: TLS straight to the proxy's port, routed by SNI).
// bench/proxy.sh gives the pinned, cross-process figures; this one is for
// profiling (-cpuprofile) and for comparing the routes with -count.
func BenchmarkProxy(b *testing.B) {
	up := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write([]byte(`{"code":0}`))
	}))
	defer up.Close()
	const target = "https://upstream.bench/track/v4"
	body := bytes.Repeat([]byte("x"), 2048)
	for _, mode := range []Mode{Sinkhole, Forward} {
		for _, route := range []string{"connect", "redirected"} {
			b.Run(string(mode)+"/"+route, func(b *testing.B) {
				p := startProxy(b, Config{Mode: mode, UpstreamInsecure: true,
					UpstreamMap: map[string]string{"upstream.bench:443": up.Listener.Addr().String()}})
				pu, _ := url.Parse("http://" + p.addr)
				b.SetParallelism(4)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
						TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}
					if route == "connect" {
						tr.Proxy = http.ProxyURL(pu)
					} else {
						var d net.Dialer
						tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
							return d.DialContext(ctx, network, p.addr)
						}
					}
					defer tr.CloseIdleConnections()
					hc := &http.Client{Transport: tr}
					for pb.Next() {
						resp, err := hc.Post(target, "application/json", bytes.NewReader(body))
						if err != nil {
							b.Error(err)
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK {
							b.Errorf("%s: %s", route, resp.Status)
							return
						}
					}
				})
			})
		}
	}
}
