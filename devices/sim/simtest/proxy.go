// Package simtest helps tests of the simulated phone: a small HTTPS
// intercepting proxy with its own CA that records what the phone sends and
// answers the OneTrack key exchange, as the real recording proxy does in
// sinkhole mode. It takes CONNECT tunnels and, as the real proxy routes a
// transparent capture's connections, TLS straight away (host from SNI).
package simtest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"telltale.dev/protocols"
)

// Request is one request the proxy received inside a CONNECT tunnel.
type Request struct {
	Host   string
	Method string
	Path   string // with query
	Header http.Header
	Body   []byte
}

// Proxy is a CONNECT proxy that intercepts TLS with a test CA.
type Proxy struct {
	ln     net.Listener
	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
	// CAPEM is the CA certificate to install on the phone.
	CAPEM []byte
	// Key is the AES key the proxy hands out at /track/key_get.
	Key []byte

	mu        sync.Mutex
	reqs      []Request
	tlsFailed []string // SNI of handshakes the client aborted
	leaves    map[string]*tls.Certificate
	wg        sync.WaitGroup
}

// NewProxy starts a proxy on 127.0.0.1 and stops it when the test ends.
func NewProxy(t testing.TB) *Proxy {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "telltale test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, caCert: cert, caKey: key, leaves: map[string]*tls.Certificate{},
		CAPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), Key: make([]byte, 16)}
	_, _ = rand.Read(p.Key)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.wg.Wait()
	})
	return p
}

// Port is the proxy's TCP port.
func (p *Proxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// Requests returns what arrived so far.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.reqs...)
}

// TLSFailures returns the server names of handshakes the client refused.
func (p *Proxy) TLSFailures() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.tlsFailed...)
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(30 * time.Second))
			p.serve(c)
		}()
	}
}

func (p *Proxy) serve(c net.Conn) {
	br := bufio.NewReader(c)
	first, err := br.Peek(1)
	if err != nil {
		return
	}
	// A TLS record first is a connection an iptables REDIRECT sent here
	// (transparent capture): the host is the ClientHello's SNI. Otherwise
	// the client asks for a tunnel with CONNECT.
	host := ""
	if first[0] != 0x16 {
		req, err := http.ReadRequest(br)
		if err != nil || req.Method != http.MethodConnect {
			fmt.Fprint(c, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
			return
		}
		fmt.Fprint(c, "HTTP/1.1 200 Connection established\r\n\r\n")
		host, _, _ = net.SplitHostPort(req.Host)
	}
	tc := tls.Server(&bufferedConn{Conn: c, r: br}, &tls.Config{GetCertificate: func(hi *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if host == "" {
			host = hi.ServerName
		}
		return p.leaf(hi.ServerName)
	}})
	if err := tc.Handshake(); err != nil {
		p.mu.Lock()
		p.tlsFailed = append(p.tlsFailed, host)
		p.mu.Unlock()
		return
	}
	tr := bufio.NewReader(tc)
	for {
		r, err := http.ReadRequest(tr)
		if err != nil {
			return
		}
		body, _ := io.ReadAll(io.LimitReader(r.Body, 32<<20))
		p.mu.Lock()
		p.reqs = append(p.reqs, Request{Host: host, Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header, Body: body})
		p.mu.Unlock()
		reply := `{"code":0}`
		if r.URL.Path == protocols.OneTrackKeyPath {
			reply = string(protocols.OneTrackKeyReplyFor(p.Key, "test-sid"))
		}
		fmt.Fprintf(tc, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(reply), reply)
		if r.Close {
			return
		}
	}
}

// bufferedConn reads what the first byte's peek buffered first.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

func (p *Proxy) leaf(name string) (*tls.Certificate, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.leaves[name]; ok {
		return c, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		DNSNames: []string{name}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &key.PublicKey, p.caKey)
	if err != nil {
		return nil, err
	}
	c := &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	p.leaves[name] = c
	return c, nil
}
