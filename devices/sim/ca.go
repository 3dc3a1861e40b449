package sim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"
)

// The system store holds a few stand-ins for the real root CAs, so the
// directory looks like a phone's and a test CA is one among several. Their
// keys are thrown away: nothing can be signed by them.
var placeholderCAs = sync.OnceValues(func() (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, cn := range []string{"Telltale Placeholder Root CA 1", "Telltale Placeholder Root CA 2", "Telltale Placeholder Root CA 3"} {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("sim: make placeholder CA: %w", err)
		}
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(time.Now().UnixNano()),
			Subject:               pkix.Name{CommonName: cn, Organization: []string{"telltale simulated phone"}},
			NotBefore:             time.Now().Add(-time.Hour),
			NotAfter:              time.Now().AddDate(10, 0, 0),
			IsCA:                  true,
			BasicConstraintsValid: true,
			KeyUsage:              x509.KeyUsageCertSign,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			return nil, fmt.Errorf("sim: make placeholder CA: %w", err)
		}
		// Android names store files by the old OpenSSL subject hash; a hash
		// of the subject gives names of the same shape.
		h := sha1.Sum([]byte(cn))
		out[fmt.Sprintf("%x.0", h[:4])] = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	return out, nil
})

// TrustedCAs returns the CAs an app trusts: the system store the firmware
// reads (the APEX copy from sdk 34), plus the user store for apps whose
// network security config opts in. Unreadable files are skipped, as
// Conscrypt does.
func (p *Phone) TrustedCAs(userStore bool) *x509.CertPool {
	pool := x509.NewCertPool()
	dirs := []string{SystemCADir}
	if p.fw.SDK >= 34 {
		dirs = []string{APEXCADir}
	}
	if userStore {
		dirs = append(dirs, UserCADir)
	}
	for _, dir := range dirs {
		entries, err := p.fs.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if e.IsDir || strings.HasPrefix(e.Name, ".") {
				continue
			}
			b, err := p.fs.ReadFile(dir + "/" + e.Name)
			if err != nil {
				continue
			}
			pool.AppendCertsFromPEM(b)
		}
	}
	return pool
}
