// Package ca makes and loads the per-run certificate authority the recording
// proxy intercepts TLS with, and mints the leaf certificates it presents.
package ca

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// CA is a certificate authority with a cache of leaf certificates, one per
// host name. It is safe for concurrent use.
type CA struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
	keyPEM  []byte

	// leafKey is shared by every leaf: a key per host would cost a key
	// generation per new host for no gain, since trust comes from the CA.
	leafKey *ecdsa.PrivateKey

	mu     sync.Mutex
	leaves map[string]*leafEntry
}

// leafEntry lets concurrent handshakes for the same new host wait for one
// minting instead of each signing a certificate.
type leafEntry struct {
	done chan struct{}
	cert *tls.Certificate
	err  error
}

// New makes a fresh CA valid from an hour ago (clock skew on phones) for ten
// years.
func New(commonName string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("ca: generate key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"telltale"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("ca: self-sign: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("ca: encode key: %w", err)
	}
	return Parse(
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	)
}

// Parse loads a CA from PEM: a certificate and a PKCS#8, PKCS#1 or SEC 1 key.
func Parse(certPEM, keyPEM []byte) (*CA, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, errors.New("ca: certificate PEM has no CERTIFICATE block")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("ca: parse certificate: %w", err)
	}
	if !cert.IsCA {
		return nil, errors.New("ca: certificate is not a CA (basicConstraints CA:FALSE)")
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, errors.New("ca: key PEM has no PEM block")
	}
	key, err := parseKey(kb.Bytes)
	if err != nil {
		return nil, err
	}
	if !publicKeysEqual(key.Public(), cert.PublicKey) {
		return nil, errors.New("ca: key does not match the certificate; regenerate both (delete ca.pem and ca.key)")
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("ca: generate leaf key: %w", err)
	}
	return &CA{
		cert: cert, key: key,
		certPEM: bytes.Clone(certPEM), keyPEM: bytes.Clone(keyPEM),
		leafKey: leafKey, leaves: map[string]*leafEntry{},
	}, nil
}

func parseKey(der []byte) (crypto.Signer, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		if s, ok := k.(crypto.Signer); ok {
			return s, nil
		}
		return nil, fmt.Errorf("ca: PKCS#8 key of type %T cannot sign", k)
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	return nil, errors.New("ca: key is not PKCS#8, SEC 1 EC or PKCS#1 RSA")
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

// LoadOrCreate loads dir/ca.pem and dir/ca.key, or makes and writes them
// (key mode 0600) when neither exists. One file without the other is an error
// rather than a silent replacement, since devices may already trust the old CA.
func LoadOrCreate(dir string) (*CA, error) {
	certPath, keyPath := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca.key")
	certPEM, certErr := os.ReadFile(certPath)
	keyPEM, keyErr := os.ReadFile(keyPath)
	switch {
	case certErr == nil && keyErr == nil:
		c, err := Parse(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("%w (files in %s)", err, dir)
		}
		return c, nil
	case errors.Is(certErr, fs.ErrNotExist) && errors.Is(keyErr, fs.ErrNotExist):
	case certErr != nil && !errors.Is(certErr, fs.ErrNotExist):
		return nil, fmt.Errorf("ca: read %s: %w", certPath, certErr)
	case keyErr != nil && !errors.Is(keyErr, fs.ErrNotExist):
		return nil, fmt.Errorf("ca: read %s: %w", keyPath, keyErr)
	default:
		return nil, fmt.Errorf("ca: only one of %s and %s exists; restore the other or delete both", certPath, keyPath)
	}
	c, err := New("telltale run CA")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	if err := os.WriteFile(keyPath, c.keyPEM, 0o600); err != nil {
		return nil, fmt.Errorf("ca: write key: %w", err)
	}
	if err := os.WriteFile(certPath, c.certPEM, 0o644); err != nil {
		return nil, fmt.Errorf("ca: write certificate: %w", err)
	}
	return c, nil
}

// CertPEM is the CA certificate, to install on devices.
func (c *CA) CertPEM() []byte { return bytes.Clone(c.certPEM) }

// KeyPEM is the CA private key.
func (c *CA) KeyPEM() []byte { return bytes.Clone(c.keyPEM) }

// Certificate is the parsed CA certificate.
func (c *CA) Certificate() *x509.Certificate { return c.cert }

// Fingerprint is the SHA-256 of the certificate's DER, lower-case hex.
func (c *CA) Fingerprint() string {
	sum := sha256.Sum256(c.cert.Raw)
	return hex.EncodeToString(sum[:])
}

// AndroidName is the file name Android expects in its cacerts directories:
// OpenSSL's subject_hash_old (first four bytes of the MD5 of the DER subject,
// little-endian) in hex, then ".0".
func (c *CA) AndroidName() string {
	sum := md5.Sum(c.cert.RawSubject)
	return fmt.Sprintf("%08x.0", binary.LittleEndian.Uint32(sum[:4]))
}

// Leaf returns a certificate for host signed by the CA, minting it on first
// use. host may be a DNS name or an IP literal.
func (c *CA) Leaf(host string) (*tls.Certificate, error) {
	if host == "" {
		return nil, errors.New("ca: leaf for empty host name")
	}
	c.mu.Lock()
	e, ok := c.leaves[host]
	if !ok {
		e = &leafEntry{done: make(chan struct{})}
		c.leaves[host] = e
	}
	c.mu.Unlock()
	if ok {
		<-e.done
		return e.cert, e.err
	}
	e.cert, e.err = c.mint(host)
	close(e.done)
	if e.err != nil {
		// A failure is not cached, so the next handshake retries.
		c.mu.Lock()
		delete(c.leaves, host)
		c.mu.Unlock()
	}
	return e.cert, e.err
}

func (c *CA) mint(host string) (*tls.Certificate, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: host},
		NotBefore:    now.Add(-time.Hour),
		// Under 398 days: Apple and Chrome reject longer-lived leaves.
		NotAfter:    now.AddDate(0, 0, 390),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, c.leafKey.Public(), c.key)
	if err != nil {
		return nil, fmt.Errorf("ca: sign leaf for %q: %w", host, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("ca: parse leaf for %q: %w", host, err)
	}
	return &tls.Certificate{
		Certificate: [][]byte{der, c.cert.Raw},
		PrivateKey:  c.leafKey,
		Leaf:        leaf,
	}, nil
}

func randomSerial() (*big.Int, error) {
	s, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("ca: serial: %w", err)
	}
	return s, nil
}
