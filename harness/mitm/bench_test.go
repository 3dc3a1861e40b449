package mitm

import (
	"bytes"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// BenchmarkProxy measures one keep-alive HTTP/1.1 client per goroutine
// posting 2 KB through the proxy, in both modes, recording every flow.
// bench/proxy.sh gives the pinned, cross-process figures; this one is for
// profiling (-cpuprofile).
func BenchmarkProxy(b *testing.B) {
	up := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write([]byte(`{"code":0}`))
	}))
	defer up.Close()
	body := bytes.Repeat([]byte("x"), 2048)
	for _, mode := range []Mode{Sinkhole, Forward} {
		b.Run(string(mode), func(b *testing.B) {
			p := startProxy(b, Config{Mode: mode, UpstreamInsecure: true})
			pu, _ := url.Parse("http://" + p.addr)
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				tr := &http.Transport{Proxy: http.ProxyURL(pu), TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
					TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}
				defer tr.CloseIdleConnections()
				hc := &http.Client{Transport: tr}
				for pb.Next() {
					resp, err := hc.Post(up.URL+"/track/v4", "application/json", bytes.NewReader(body))
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		})
	}
}
