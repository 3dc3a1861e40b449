package apk

import (
	"archive/zip"
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"maps"
	"slices"
	"strings"

	"telltale.dev/devices/apk/format"
)

// This file verifies JAR signing (APK Signature Scheme v1) the way Android
// 7-15 do when an APK has no v2/v3 signature: ApkSignatureVerifier.
// verifyV1Signature over android.util.jar.StrictJarFile and
// StrictJarVerifier, refusals worded as they are.

const manifestMF = "META-INF/MANIFEST.MF"

// digestAlgs are tried in this order for every digest header.
var digestAlgs = []struct {
	name string
	new  func() hash.Hash
}{
	{"SHA-512", sha512.New},
	{"SHA-384", sha512.New384},
	{"SHA-256", sha256.New},
	{"SHA1", sha1.New},
}

// jarVerifier holds what StrictJarFile reads up front.
type jarVerifier struct {
	path     string // the APK's path on the phone: Android's jarName
	zr       *zip.Reader
	manifest *jarManifest
	// signers maps each verified .SF to the entries it lists and the
	// certificates of its signature block.
	signers []jarSigner
}

type jarSigner struct {
	sf      string
	entries map[string]attrs
	certs   []*x509.Certificate
}

// verifyV1 returns the signing certificates or the install error Android
// reports for path.
func verifyV1(zr *zip.Reader, path string) (*signed, *InstallError) {
	v := &jarVerifier{path: path, zr: zr}
	collect := func(cause error) *InstallError {
		return &InstallError{Code: "INSTALL_PARSE_FAILED_NO_CERTIFICATES", Message: throw(cause, "Failed to collect certificates from %s", path).Error()}
	}
	if err := v.open(); err != nil {
		return nil, collect(err)
	}
	manifest := v.entry(format.ManifestEntry)
	if manifest == nil {
		return nil, &InstallError{Code: "INSTALL_PARSE_FAILED_BAD_MANIFEST", Message: fmt.Sprintf("Package %s has no manifest", path)}
	}
	certs, ierr := v.loadCertificates(manifest)
	if ierr != nil {
		return nil, ierr
	}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") || strings.HasPrefix(f.Name, "META-INF/") || f.Name == format.ManifestEntry {
			continue
		}
		entryCerts, ierr := v.loadCertificates(f)
		if ierr != nil {
			return nil, ierr
		}
		if !sameCerts(certs, entryCerts) {
			return nil, &InstallError{Code: "INSTALL_PARSE_FAILED_INCONSISTENT_CERTIFICATES",
				Message: fmt.Sprintf("Package %s has mismatched certificates at entry %s", path, f.Name)}
		}
	}
	return &signed{scheme: 1, certs: certs}, nil
}

func (v *jarVerifier) entry(name string) *zip.File {
	i := slices.IndexFunc(v.zr.File, func(f *zip.File) bool { return f.Name == name })
	if i < 0 {
		return nil
	}
	return v.zr.File[i]
}

// open does what StrictJarFile's constructor does with verify on: parse
// the manifest, check that its entries exist, and verify every signature
// block against its .SF and the .SF against the manifest.
func (v *jarVerifier) open() error {
	meta := map[string][]byte{}
	for _, f := range v.zr.File {
		if !strings.HasPrefix(f.Name, "META-INF/") || strings.HasSuffix(f.Name, "/") {
			continue
		}
		b, err := readFile(f)
		if err != nil {
			return err
		}
		meta[f.Name] = b
	}
	mf, ok := meta[manifestMF]
	if !ok {
		// StrictJarManifest reads a null array: an APK without a JAR
		// manifest (an unsigned one) fails with ART's message for it.
		return throw(nil, "Attempt to get length of null array")
	}
	var err error
	if v.manifest, err = parseJarManifest(mf, true); err != nil {
		return err
	}
	for name := range v.manifest.entries {
		if v.entry(name) == nil {
			return throw(nil, "File %s in manifest does not exist", name)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(meta)) {
		if !strings.HasSuffix(key, ".RSA") && !strings.HasSuffix(key, ".DSA") && !strings.HasSuffix(key, ".EC") {
			continue
		}
		if err := v.verifyBlock(key, meta); err != nil {
			return err
		}
	}
	return nil
}

// verifyBlock is StrictJarVerifier.verifyCertificate for one signature
// block file.
func (v *jarVerifier) verifyBlock(blockFile string, meta map[string][]byte) error {
	sfName := blockFile[:strings.LastIndexByte(blockFile, '.')] + ".SF"
	sf, ok := meta[sfName]
	if !ok {
		return nil
	}
	certs, err := verifyPKCS7(meta[blockFile], sf)
	if err != nil {
		return throw(err, "%s failed verification of %s", v.path, sfName)
	}
	parsedSF, err := parseJarManifest(sf, false)
	if err != nil {
		return nil // an unreadable .SF signs nothing
	}
	// X-Android-APK-Signed lists the newer schemes the signer also used;
	// we only get here without a v2/v3 signature, so one was stripped.
	if ids, ok := parsedSF.main.get("X-Android-APK-Signed"); ok {
		for _, id := range strings.Split(ids, ",") {
			if strings.TrimSpace(id) == "2" {
				return throw(nil, "%s indicates %s is signed using APK Signature Scheme v2, but no such signature was found. Signature stripped?", sfName, v.path)
			}
		}
	}
	if _, ok := parsedSF.main.get("Signature-Version"); !ok {
		return nil
	}
	createdBy, _ := parsedSF.main.get("Created-By")
	signtool := strings.Contains(createdBy, "signtool")
	mf := v.manifest
	mfBytes := meta[manifestMF]
	if mf.mainEnd > 0 && !signtool {
		if !digestMatches(parsedSF.main, "-Digest-Manifest-Main-Attributes", mfBytes[:mf.mainEnd], false, true) {
			return throw(nil, "%s failed verification of %s", v.path, sfName)
		}
	}
	whole := "-Digest-Manifest"
	if signtool {
		whole = "-Digest"
	}
	if !digestMatches(parsedSF.main, whole, mfBytes, false, false) {
		// Then every section of the .SF must match its manifest section.
		for _, name := range slices.Sorted(maps.Keys(parsedSF.entries)) {
			chunk, ok := mf.chunks[name]
			if !ok {
				return nil
			}
			if !digestMatches(parsedSF.entries[name], "-Digest", mfBytes[chunk[0]:chunk[1]], signtool, false) {
				return throw(nil, "%s has invalid digest for %s in %s", sfName, name, v.path)
			}
		}
	}
	v.signers = append(v.signers, jarSigner{sf: sfName, entries: parsedSF.entries, certs: certs})
	return nil
}

// digestMatches checks the first digest header (strongest algorithm first)
// named ALG+suffix against data; without one it answers ignorable.
func digestMatches(a attrs, suffix string, data []byte, ignoreSecondEndline, ignorable bool) bool {
	for _, alg := range digestAlgs {
		want, ok := a.get(alg.name + suffix)
		if !ok {
			continue
		}
		if ignoreSecondEndline && len(data) >= 2 && data[len(data)-1] == '\n' && data[len(data)-2] == '\n' {
			data = data[:len(data)-1]
		}
		h := alg.new()
		h.Write(data)
		got, err := base64.StdEncoding.DecodeString(want)
		return err == nil && bytes.Equal(h.Sum(nil), got)
	}
	return ignorable
}

// loadCertificates reads an entry through the verifier, as
// ApkSignatureVerifier.loadCertificates does, and returns the certificates
// of the signers that cover it (none if the entry is unsigned).
func (v *jarVerifier) loadCertificates(f *zip.File) ([]*x509.Certificate, *InstallError) {
	failed := func(cause error) *InstallError {
		return &InstallError{Code: "INSTALL_PARSE_FAILED_UNEXPECTED_EXCEPTION",
			Message: throw(cause, "Failed reading %s in %s", f.Name, strictJarFileName(v.path)).Error()}
	}
	var signer *jarSigner
	var entryDigest hash.Hash
	var want string
	if mfAttrs, ok := v.manifest.entries[f.Name]; ok {
		for i := range v.signers {
			if _, listed := v.signers[i].entries[f.Name]; listed {
				signer = &v.signers[i]
				break
			}
		}
		if signer != nil {
			for _, alg := range digestAlgs {
				if want, ok = mfAttrs.get(alg.name + "-Digest"); ok {
					entryDigest = alg.new()
					break
				}
			}
		}
	}
	rc, err := f.Open()
	if err != nil {
		return nil, failed(err)
	}
	defer rc.Close()
	w := io.Discard
	if entryDigest != nil {
		w = entryDigest
	}
	if _, err := io.Copy(w, rc); err != nil {
		return nil, failed(err)
	}
	if entryDigest == nil {
		return nil, &InstallError{Code: "INSTALL_PARSE_FAILED_NO_CERTIFICATES",
			Message: fmt.Sprintf("Package %s has no certificates at entry %s", v.path, f.Name)}
	}
	got, err := base64.StdEncoding.DecodeString(want)
	if err != nil || !bytes.Equal(entryDigest.Sum(nil), got) {
		return nil, failed(throw(nil, "%s has invalid digest for %s in %s", manifestMF, f.Name, f.Name))
	}
	return signer.certs, nil
}

// strictJarFileName is how Java prints the StrictJarFile object in
// "Failed reading X in ...": its class and identity hash. The hash is
// modeled as a stable value derived from the path.
func strictJarFileName(path string) string {
	h := fnv.New32a()
	h.Write([]byte(path))
	return fmt.Sprintf("android.util.jar.StrictJarFile@%x", h.Sum32()&0x0fffffff)
}

func sameCerts(a, b []*x509.Certificate) bool {
	return len(a) > 0 && len(b) > 0 && a[0].Equal(b[0])
}

// maxMetaFile bounds a META-INF file read into memory.
const maxMetaFile = 64 << 20

func readFile(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxMetaFile+1))
	if err == nil && len(b) > maxMetaFile {
		err = fmt.Errorf("%s is larger than %d bytes", f.Name, maxMetaFile)
	}
	return b, err
}
