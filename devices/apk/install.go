package apk

import (
	"archive/zip"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"

	"telltale.dev/devices/apk/format"
)

// Platform is the phone an APK is being installed on.
type Platform struct {
	// SDK is its API level: 29 for Android 10, 30 for 11, ... 35 for 15.
	SDK int
	// Path is where the package manager staged the APK, e.g.
	// "/data/app/vmdl1234567.tmp/base.apk" (the session's stage
	// directory); Android names it in its errors.
	Path string
}

// Package is an APK that passed the package manager's checks.
type Package struct {
	*Manifest
	// Scheme is the signature scheme that verified: 1 (JAR), 2 or 3, as
	// the package manager's SigningDetails records it.
	Scheme int
	// Certificates is the signer's certificate chain, signing certificate
	// first: the app's identity, which every update must share.
	Certificates []*x509.Certificate
}

// SameSigner reports whether p and q are signed by the same certificate,
// the test Android applies before letting q replace p.
func (p *Package) SameSigner(q *Package) bool {
	return len(p.Certificates) > 0 && len(q.Certificates) > 0 && p.Certificates[0].Equal(q.Certificates[0])
}

// InstallError is a refusal as `pm install` prints it: "Failure [" +
// Error() + "]". Code is the INSTALL_* name (or a bare number for codes
// PackageManager.installStatusToString does not know); Message is the
// complete message of the exception chain behind it.
type InstallError struct {
	Code    string
	Message string
}

func (e *InstallError) Error() string { return e.Code + ": " + e.Message }

// Android versions whose install path changed what it checks or says.
const (
	sdkR = 30 // Android 11: ParsingPackageUtils, v2+ for targetSdk 30+, uncompressed arsc
	sdkS = 31 // Android 12: explicit android:exported
	sdkT = 33 // Android 13: "Existing package ..." on signer mismatch (modeled boundary)
)

// Verify checks an APK the way PackageManager does between `pm install`
// (or a session commit) and "Success", for the platform p: it opens the
// zip, reads the manifest, verifies the newest signature scheme present
// (v3, then v2, then JAR), then applies the full parse's and the scan's
// rules. A refusal is an *InstallError worded as that Android version
// words it. Sources: frameworks/base PackageParser.parseApkLiteInner
// (Android 10), ApkLiteParseUtils (11+), ApkSignatureVerifier,
// PackageManagerService.preparePackageLI / installPackagesLI.
func Verify(r io.ReaderAt, size int64, p Platform) (*Package, error) {
	path := p.Path
	// Android 11+ carry the cause of a parse failure; 10 drops it.
	withCause := func(cause error) error {
		if p.SDK >= sdkR {
			return cause
		}
		return nil
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, &InstallError{"INSTALL_PARSE_FAILED_NOT_APK",
			throw(withCause(throw(nil, "Failed to load asset path %s", path)), "Failed to parse %s", path).Error()}
	}
	unexpected := func(cause error) error {
		return &InstallError{"INSTALL_PARSE_FAILED_UNEXPECTED_EXCEPTION", throw(cause, "Failed to parse %s", path).Error()}
	}
	// ApkAssets.openXml throws FileNotFoundException with the entry name
	// for a missing manifest and "Corrupt XML binary file" for one
	// ResXMLTree refuses (frameworks/base core/jni/android_content_res_ApkAssets.cpp).
	b, err := readEntry(zr, format.ManifestEntry)
	if errors.Is(err, errNoEntry) {
		return nil, unexpected(throw(nil, "%s", format.ManifestEntry))
	}
	var doc *document
	if err == nil {
		doc, err = decodeXML(b)
	}
	if err != nil {
		return nil, unexpected(throw(nil, "Corrupt XML binary file"))
	}

	sig, ierr := verifySignatures(r, size, zr, p)
	if ierr != nil {
		if p.SDK >= sdkR {
			// ParsingPackageUtils.getSigningDetails wraps every verifier
			// refusal in one of its own, under its own code.
			ierr = &InstallError{"INSTALL_PARSE_FAILED_NO_CERTIFICATES",
				fmt.Sprintf("Failed collecting certificates for %s: %s", path, ierr.Message)}
		}
		return nil, ierr
	}

	parsed, err := interpret(doc)
	switch {
	case errors.Is(err, errNoManifestTag):
		return nil, &InstallError{"INSTALL_PARSE_FAILED_MANIFEST_MALFORMED", "No <manifest> tag"}
	case errors.Is(err, errNoPackage):
		// validateName(null) dereferences the missing name.
		return nil, unexpected(throw(nil, "Attempt to invoke virtual method 'int java.lang.String.length()' on a null object reference"))
	case err != nil:
		return nil, unexpected(throw(nil, "%s", err.Error())) // modeled: our decoder's words
	}
	if reason := validateName(parsed.Package, true); reason != "" {
		return nil, &InstallError{"INSTALL_PARSE_FAILED_BAD_PACKAGE_NAME", "Invalid manifest package: " + reason}
	}
	if reason := validateName(parsed.Split, false); parsed.Split != "" && reason != "" {
		return nil, &InstallError{"INSTALL_PARSE_FAILED_BAD_PACKAGE_NAME", "Invalid manifest split: " + reason}
	}
	parsed.resolveLabels(zr)
	if err := fullParse(parsed, zr, p); err != nil {
		return nil, err
	}
	// PackageManagerService's scan (ScanPackageUtils.assertMinSignatureSchemeIsValid
	// on 11+): apps targeting 30+ need v2 or newer.
	if p.SDK >= sdkR && parsed.TargetSDK >= sdkR && sig.scheme < 2 {
		return nil, &InstallError{"INSTALL_PARSE_FAILED_NO_CERTIFICATES",
			"Scanning Failed.: No signature found in package of version 2 or newer for package " + parsed.Package}
	}
	return &Package{Manifest: parsed.Manifest, Scheme: sig.scheme, Certificates: sig.certs}, nil
}

// verifySignatures is ApkSignatureVerifier.verify: v3, else v2, else JAR.
// Only a missing block falls through to the older scheme; a block that is
// present but does not verify is a refusal.
func verifySignatures(r io.ReaderAt, size int64, zr *zip.Reader, p Platform) (*signed, *InstallError) {
	z, err := locateZip(r, size)
	for _, scheme := range []int{3, 2} {
		var s *signed
		if err == nil {
			s, err = verifyScheme(z, scheme, p.SDK)
		}
		var nf *notFound
		switch {
		case err == nil:
			return s, nil
		case errors.As(err, &nf):
			err = nil
			continue
		}
		return nil, &InstallError{"INSTALL_PARSE_FAILED_NO_CERTIFICATES",
			throw(err, "Failed to collect certificates from %s using APK Signature Scheme v%d", p.Path, scheme).Error()}
	}
	return verifyV1(zr, p.Path)
}

// fullParse applies what PackageManagerService's full parse of the staged
// package refuses ("Failed parse during installPackageLI").
func fullParse(m *parsed, zr *zip.Reader, p Platform) error {
	prepare := func(code, format string, args ...any) error {
		return &InstallError{code, "Failed parse during installPackageLI: " + fmt.Sprintf(format, args...)}
	}
	// PackageParser.computeMinSdkVersion.
	if m.MinSDK > p.SDK {
		return prepare("INSTALL_FAILED_OLDER_SDK", "%s (at Binary XML file line #%d): Requires newer sdk version #%d (current version is #%d)",
			p.Path, m.sdkLine, m.MinSDK, p.SDK)
	}
	// ParsingPackageUtils.parseActivityOrReceiver, Android 12+.
	if p.SDK >= sdkS && m.TargetSDK >= sdkS {
		for i, a := range m.Activities {
			if len(a.Filters) > 0 && !a.ExportedSet {
				return prepare("INSTALL_PARSE_FAILED_MANIFEST_MALFORMED", "%s (at Binary XML file line #%d): %s: Targeting S+ (version 31 and above) requires that an explicit value for android:exported be defined when intent filters are present",
					p.Path, m.activityEnds[i], a.Name)
			}
		}
	}
	// ParsingPackageUtils.parseBaseApk, Android 11+: AssetManager had to
	// copy a compressed or misaligned table. pm has no name for -124.
	if p.SDK >= sdkR && m.TargetSDK >= sdkR {
		for _, f := range zr.File {
			if f.Name != format.ResourcesEntry {
				continue
			}
			off, err := f.DataOffset()
			if f.Method != zip.Store || err != nil || off%4 != 0 {
				return prepare("-124", "Targeting R+ (version 30 and above) requires the resources.arsc of installed APKs to be stored uncompressed and aligned on a 4-byte boundary")
			}
		}
	}
	return nil
}

// validateName is PackageParser.validateName: a package name needs a '.'
// separator, a split name does not.
func validateName(name string, requireSeparator bool) string {
	hasSep, front := false, true
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			front = false
			continue
		case !front && (c >= '0' && c <= '9' || c == '_'):
			continue
		case c == '.':
			hasSep, front = true, true
			continue
		}
		return fmt.Sprintf("bad character '%c'", c)
	}
	if requireSeparator && !hasSep {
		return "must have at least one '.' separator"
	}
	return ""
}

// CheckUpdate refuses update when it is not signed like installed, the
// copy already on the phone (PackageManagerServiceUtils.verifySignatures).
func CheckUpdate(installed, update *Package, sdk int) error {
	if installed.SameSigner(update) {
		return nil
	}
	msg := fmt.Sprintf("Package %s signatures do not match previously installed version; ignoring!", update.Package)
	if sdk >= sdkT {
		msg = fmt.Sprintf("Existing package %s signatures do not match newer version; ignoring!", update.Package)
	}
	return &InstallError{"INSTALL_FAILED_UPDATE_INCOMPATIBLE", msg}
}

// StagePath is where a package manager session stages its base APK:
// /data/app/vmdl<session>.tmp/base.apk (PackageInstallerService.
// buildTmpSessionDir; the session names the base split "base.apk").
func StagePath(sessionID int32) string {
	return fmt.Sprintf("/data/app/vmdl%d.tmp/base.apk", sessionID)
}

// NewSessionID picks a session id as PackageInstallerService does: a
// random int in [1, 2^31-2].
func NewSessionID() int32 { return rand.Int32N(math.MaxInt32-1) + 1 }
