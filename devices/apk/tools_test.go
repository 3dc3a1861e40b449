package apk_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/apk"
	"telltale.dev/devices/apk/format"
	fx "telltale.dev/fixtures/apk"
)

// These tests hold our reading and verification to Debian's real Android
// tools: apksigner (the reference verifier, Android's own code) and aapt.

func requireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found (%v): install it with `apt-get install apksigner aapt` (or `make deps`)", name, err)
	}
	return p
}

// runTool runs a tool with a deadline and returns its combined output.
func runTool(t testing.TB, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, requireTool(t, name), args...).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s %v: timed out", name, args)
	}
	return string(out), err
}

func writeAPK(t testing.TB, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "app.apk")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// keyFiles is a signing key as apksigner takes it: PKCS#8 DER and a PEM
// certificate.
type keyFiles struct{ key, cert string }

func newKeyFiles(t testing.TB, priv any, pub any) keyFiles {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "apksigner test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(10, 0, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	pk8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	k := keyFiles{filepath.Join(dir, "key.pk8"), filepath.Join(dir, "cert.pem")}
	if err := os.WriteFile(k.key, pk8, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(k.cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return k
}

func rsaKey(t testing.TB) keyFiles {
	s := testSigner(t)
	return newKeyFiles(t, s.Key, &s.Key.PublicKey)
}

func ecKey(t testing.TB) keyFiles {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return newKeyFiles(t, k, &k.PublicKey)
}

// apksign signs unsigned with apksigner and returns the result.
func apksign(t testing.TB, unsigned []byte, k keyFiles, args ...string) []byte {
	t.Helper()
	in := writeAPK(t, unsigned)
	out := filepath.Join(t.TempDir(), "signed.apk")
	args = append(append([]string{"sign", "--key", k.key, "--cert", k.cert, "--out", out}, args...), in)
	if msg, err := runTool(t, "apksigner", args...); err != nil {
		t.Fatalf("apksigner %v: %v\n%s", args, err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// apksignerVerdict asks apksigner whether b verifies on exactly API sdk.
func apksignerVerdict(t *testing.T, b []byte, sdk int) (bool, string) {
	t.Helper()
	s := strconv.Itoa(sdk)
	out, err := runTool(t, "apksigner", "verify", "-v", "--min-sdk-version", s, "--max-sdk-version", s, writeAPK(t, b))
	verifies := err == nil && strings.HasPrefix(out, "Verifies\n")
	if !verifies && !strings.Contains(out, "DOES NOT VERIFY") {
		t.Fatalf("apksigner failed for another reason than a verdict: %v\n%s", err, out)
	}
	return verifies, out
}

// Our verdict (install or refusal) matches apksigner's for every kind of
// APK the fixture makes, on each Android version: signature refusals are
// the only ones these APKs can meet.
func TestApksignerAgrees(t *testing.T) {
	kinds := []struct {
		name string
		opts fx.Options
	}{
		{"v1+v2", fx.Options{}},
		{"v1 only", fx.Options{Signing: fx.SignV1}},
		{"v1 only target 29", fx.Options{Signing: fx.SignV1, TargetSDK: 29}},
		{"v2 only", fx.Options{Signing: fx.SignV2}},
		{"unsigned", fx.Options{Signing: fx.Unsigned}},
		{"bad v2 digest", fx.Options{Tamper: fx.TamperV2Digest}},
		{"bad v1 digest", fx.Options{Tamper: fx.TamperV1Digest}},
		{"bad v1 digest v1 only", fx.Options{Signing: fx.SignV1, TargetSDK: 29, Tamper: fx.TamperV1Digest}},
		{"v2 stripped", fx.Options{Tamper: fx.TamperStripV2}},
		{"bad v2 signature", fx.Options{Tamper: fx.TamperV2Signature}},
		{"bad v1 signature v1 only", fx.Options{Signing: fx.SignV1, TargetSDK: 29, Tamper: fx.TamperV1Signature}},
		{"label changed after signing", fx.Options{Label: "Tamper"}},
	}
	for _, k := range kinds {
		o := k.opts
		o.Package = "com.example.agree"
		b := build(t, o)
		if k.name == "label changed after signing" {
			b = changeLabel(t, b, "Tamper")
		}
		for _, sdk := range []int{29, 30} {
			theirs, out := apksignerVerdict(t, b, sdk)
			ours := verifyErr(b, sdk)
			if theirs != (ours == "Success") {
				t.Errorf("%s on API %d: we say %s; apksigner says:\n%s", k.name, sdk, ours, out)
			}
		}
	}
}

// APKs signed by the reference signer, with v3 and an EC key too, verify
// with the scheme Android would use, and a byte changed afterwards is
// refused under that scheme.
func TestApksignerSignedAPKs(t *testing.T) {
	unsigned := build(t, fx.Options{Package: "com.example.signed", Label: "Signed", Signing: fx.Unsigned, TargetSDK: 29})
	for _, tc := range []struct {
		name   string
		key    keyFiles
		args   []string
		scheme int
	}{
		{"rsa v1 v2 v3", rsaKey(t), []string{"--v3-signing-enabled", "true", "--min-sdk-version", "24"}, 3},
		{"ec v1 v2 v3", ecKey(t), []string{"--v3-signing-enabled", "true", "--min-sdk-version", "24"}, 3},
		{"rsa v2 only", rsaKey(t), []string{"--v1-signing-enabled", "false", "--v3-signing-enabled", "false"}, 2},
		{"ec v1 only", ecKey(t), []string{"--v2-signing-enabled", "false", "--v3-signing-enabled", "false", "--min-sdk-version", "24"}, 1},
	} {
		b := apksign(t, unsigned, tc.key, tc.args...)
		p, err := apk.Verify(bytes.NewReader(b), int64(len(b)), apk.Platform{SDK: 29, Path: stage})
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		cert := readCert(t, tc.key.cert)
		if p.Scheme != tc.scheme || !p.Certificates[0].Equal(cert) || p.Label != "Signed" {
			t.Errorf("%s: scheme %d, label %q, cert %s; want scheme %d and the signing cert", tc.name, p.Scheme, p.Label, p.Certificates[0].Subject, tc.scheme)
		}
		changed := changeLabel(t, b, "Signed")
		want := fmt.Sprintf("using APK Signature Scheme v%d: SHA-256 digest of contents did not verify]", tc.scheme)
		if tc.scheme == 1 {
			want = "META-INF/MANIFEST.MF has invalid digest for AndroidManifest.xml in AndroidManifest.xml]"
		}
		if got := verifyErr(changed, 29); !strings.HasSuffix(got, want) {
			t.Errorf("%s changed after signing: %s\nwant one ending %s", tc.name, got, want)
		}
		if theirs, out := apksignerVerdict(t, changed, 29); theirs {
			t.Errorf("%s: apksigner accepts the changed APK:\n%s", tc.name, out)
		}
	}
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The v2 digest splits each section into 1 MiB chunks; a manifest never
// gets near that, so sign an APK with a large extra entry.
func TestMultiChunkAPK(t *testing.T) {
	big := bytes.Repeat([]byte("telltale"), (5<<20)/16) // 2.5 MiB
	b := build(t, fx.Options{Package: "com.example.big", Files: []fx.File{{Name: "assets/big.bin", Data: big}}})
	if verdict, out := apksignerVerdict(t, b, 29); !verdict {
		t.Fatalf("apksigner refuses the multi-chunk APK:\n%s", out)
	}
	if got := verifyErr(b, 29); got != "Success" {
		t.Fatal(got)
	}
}

var badgingLine = regexp.MustCompile(`(?m)^([a-zA-Z-]+):(.*)$`)

// badging parses `aapt dump badging` into its keys; values keep their quotes.
func badging(t *testing.T, path string) map[string]string {
	t.Helper()
	out, err := runTool(t, "aapt", "dump", "badging", path)
	if err != nil {
		t.Fatalf("aapt dump badging: %v\n%s", err, out)
	}
	m := map[string]string{}
	for _, l := range badgingLine.FindAllStringSubmatch(out, -1) {
		m[l[1]] = strings.TrimSpace(l[2])
	}
	return m
}

// aapt and ReadManifest read the same package, version, SDKs, label and
// launchable activity, for both string pool encodings and for a label in
// resources.arsc.
func TestAaptBadgingAgrees(t *testing.T) {
	for _, o := range []fx.Options{
		{Package: "com.example.badging", Label: "Über Canary ✓ " + strings.Repeat("x", 130), VersionCode: 2100000000, VersionName: "3.14-ß", MinSDK: 21, TargetSDK: 33},
		{Package: "com.example.badging8", Label: "UTF-8 pool", StringPoolUTF8: true},
		{Package: "com.example.res", Label: "From the table", LabelAsResource: true},
		{Package: "com.example.nolabel", NoLauncher: true},
	} {
		b := build(t, o)
		m := readManifest(t, b)
		got := badging(t, writeAPK(t, b))
		want := map[string]string{
			"package":          fmt.Sprintf("name='%s' versionCode='%d' versionName='%s'", m.Package, m.VersionCode, m.VersionName),
			"sdkVersion":       fmt.Sprintf("'%d'", m.MinSDK),
			"targetSdkVersion": fmt.Sprintf("'%d'", m.TargetSDK),
		}
		if m.Label != "" {
			want["application-label"] = "'" + m.Label + "'"
		}
		if act, ok := m.LaunchActivity(); ok {
			want["launchable-activity"] = fmt.Sprintf("name='%s'  label='' icon=''", act.Name)
		}
		for k, v := range want {
			if !strings.HasPrefix(got[k], v) {
				t.Errorf("%s: aapt %s: %q, we read %q", o.Package, k, got[k], v)
			}
		}
		for _, k := range []string{"application-label", "launchable-activity"} {
			if _, ours := want[k]; !ours && got[k] != "" {
				t.Errorf("%s: aapt shows %s %q, we read none", o.Package, k, got[k])
			}
		}
	}
}

// aapt's xmltree dump shows each attribute's resource id and value type,
// which is what the Android runtime matches on.
func TestAaptXmltreeShowsTheFrameworkAttributeIDs(t *testing.T) {
	path := writeAPK(t, build(t, fx.Options{Package: "com.example.xmltree", Label: "L", VersionCode: 7}))
	out, err := runTool(t, "aapt", "dump", "xmltree", path, format.ManifestEntry)
	if err != nil {
		t.Fatalf("aapt dump xmltree: %v\n%s", err, out)
	}
	for _, want := range []string{
		fmt.Sprintf(`A: android:versionCode(0x%08x)=(type 0x10)0x7`, format.AttrVersionCode),
		fmt.Sprintf(`A: android:versionName(0x%08x)="1.0"`, format.AttrVersionName),
		`A: package="com.example.xmltree"`,
		fmt.Sprintf(`A: android:minSdkVersion(0x%08x)=(type 0x10)0x18`, format.AttrMinSDK),
		fmt.Sprintf(`A: android:targetSdkVersion(0x%08x)=(type 0x10)0x1e`, format.AttrTargetSDK),
		fmt.Sprintf(`A: android:label(0x%08x)="L"`, format.AttrLabel),
		fmt.Sprintf(`A: android:hasCode(0x%08x)=(type 0x12)0x0`, format.AttrHasCode),
		fmt.Sprintf(`A: android:name(0x%08x)="android.app.Activity"`, format.AttrName),
		fmt.Sprintf(`A: android:exported(0x%08x)=(type 0x12)0xffffffff`, format.AttrExported),
		fmt.Sprintf(`A: android:name(0x%08x)="android.intent.category.LAUNCHER"`, format.AttrName),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("xmltree lacks %q:\n%s", want, out)
		}
	}
}

// A manifest compiled by aapt itself (deflated, no resource map, since
// Debian has no android.jar for android: attributes) must read back too.
func TestReadManifestOfAaptBuiltAPK(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, format.ManifestEntry)
	xml := `<?xml version="1.0" encoding="utf-8"?>
<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="com.example.aapt">
  <application/>
</manifest>
`
	if err := os.WriteFile(src, []byte(xml), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "aapt.apk")
	if out, err := runTool(t, "aapt", "package", "-f", "-M", src, "-F", path); err != nil {
		t.Fatalf("aapt package: %v\n%s", err, out)
	}
	m, err := apk.ReadManifestFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if m.Package != "com.example.aapt" || !m.HasCode || len(m.Activities) != 0 {
		t.Errorf("ReadManifestFile = %+v", *m)
	}
}
