package ca

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLoadOrCreateWritesThenReloadsTheSameCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	a, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("ca.key mode = %v, want 0600", st.Mode().Perm())
	}
	b, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if a.Fingerprint() != b.Fingerprint() || !bytes.Equal(a.KeyPEM(), b.KeyPEM()) {
		t.Errorf("reloaded CA differs: %s vs %s", a.Fingerprint(), b.Fingerprint())
	}
	if !b.Certificate().IsCA || len(a.Fingerprint()) != 64 {
		t.Errorf("certificate IsCA=%v fingerprint %q", b.Certificate().IsCA, a.Fingerprint())
	}
}

func TestLoadOrCreateRefusesHalfACA(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadOrCreate(dir); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "ca.key"))
	if _, err := LoadOrCreate(dir); err == nil || !strings.Contains(err.Error(), "only one of") {
		t.Fatalf("err = %v, want a refusal naming the missing file", err)
	}
	other, _ := New("other")
	os.WriteFile(filepath.Join(dir, "ca.key"), other.KeyPEM(), 0o600)
	if _, err := LoadOrCreate(dir); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("err = %v, want a key mismatch", err)
	}
}

// The Android file name must match what OpenSSL computes, since that is
// what Android's certificate store looks up.
func TestAndroidNameMatchesOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatal("openssl is needed to check subject_hash_old: apt-get install openssl")
	}
	c, err := New("telltale test CA")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, openssl, "x509", "-noout", "-subject_hash_old")
	cmd.Stdin = bytes.NewReader(c.CertPEM())
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSpace(string(out)) + ".0"; c.AndroidName() != want {
		t.Errorf("AndroidName = %s, openssl says %s", c.AndroidName(), want)
	}
}

func TestLeafVerifiesForNamesAndIPsAndIsCached(t *testing.T) {
	c, err := New("telltale test CA")
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(c.Certificate())
	for _, host := range []string{"tracking.rus.miui.com", "127.0.0.1", "::1"} {
		leaf, err := c.Leaf(host)
		if err != nil {
			t.Fatal(err)
		}
		inter := x509.NewCertPool()
		if _, err := leaf.Leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: inter}); err != nil {
			t.Errorf("leaf for %s does not verify: %v", host, err)
		}
	}
	var wg sync.WaitGroup
	got := make([]*tls.Certificate, 16)
	for i := range got {
		wg.Go(func() { got[i], _ = c.Leaf("same.example") })
	}
	wg.Wait()
	for _, g := range got {
		if g == nil || g != got[0] {
			t.Fatal("concurrent Leaf calls for one host minted different certificates")
		}
	}
	if _, err := c.Leaf(""); err == nil {
		t.Error("Leaf(\"\") succeeded")
	}
}

func TestParseRejectsGarbage(t *testing.T) {
	c, _ := New("x")
	for name, in := range map[string][2][]byte{
		"empty":    {nil, nil},
		"no key":   {c.CertPEM(), []byte("junk")},
		"key cert": {c.KeyPEM(), c.KeyPEM()},
	} {
		if _, err := Parse(in[0], in[1]); err == nil {
			t.Errorf("%s: Parse succeeded", name)
		}
	}
}
