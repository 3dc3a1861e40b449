package apk_test

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"strings"
	"testing"

	"telltale.dev/devices/apk"
	"telltale.dev/devices/apk/format"
	fx "telltale.dev/fixtures/apk"
)

const stage = "/data/app/vmdl1234567.tmp/base.apk"

// verifyErr runs Verify for an API level and returns "Failure [...]" as pm
// prints it, or "Success".
func verifyErr(b []byte, sdk int) string {
	_, err := apk.Verify(bytes.NewReader(b), int64(len(b)), apk.Platform{SDK: sdk, Path: stage})
	if err == nil {
		return "Success"
	}
	return "Failure [" + err.Error() + "]"
}

// The texts are Android's, from AOSP (see install.go) and from what users
// of real phones pasted: e.g. mcxiaoke/packer-ng-plugin#60 (v2 digest),
// GavinCT/AndroidMultiChannelBuildTool#17 (stripped v2),
// node-on-mobile/node-on-android#29 and readium/kotlin-toolkit#613
// (unsigned, Android 10 and 11+), OpenTracksApp/OpenTracks#421 (v1 only,
// target 30), mlcommons/mobile_app_open#338 (exported).
func TestVerifyAsAndroidDoes(t *testing.T) {
	const (
		collect = "Failed to collect certificates from " + stage
		r11     = "Failed collecting certificates for " + stage + ": "
	)
	v1Digest := "Failed reading AndroidManifest.xml in android.util.jar.StrictJarFile@%s: META-INF/MANIFEST.MF has invalid digest for AndroidManifest.xml in AndroidManifest.xml"
	for _, tc := range []struct {
		name    string
		opts    fx.Options
		android map[int]string // by API level
	}{
		{"v1+v2", fx.Options{}, map[int]string{29: "Success", 30: "Success", 34: "Success"}},
		{"v2 only", fx.Options{Signing: fx.SignV2}, map[int]string{29: "Success", 34: "Success"}},
		{"v1 only, target 29", fx.Options{Signing: fx.SignV1, TargetSDK: 29}, map[int]string{29: "Success", 30: "Success", 35: "Success"}},
		{"v1 only, target 30", fx.Options{Signing: fx.SignV1}, map[int]string{
			29: "Success",
			30: "Failure [INSTALL_PARSE_FAILED_NO_CERTIFICATES: Scanning Failed.: No signature found in package of version 2 or newer for package com.example.verify]"}},
		{"unsigned", fx.Options{Signing: fx.Unsigned}, map[int]string{
			29: "Failure [INSTALL_PARSE_FAILED_NO_CERTIFICATES: " + collect + ": Attempt to get length of null array]",
			33: "Failure [INSTALL_PARSE_FAILED_NO_CERTIFICATES: " + r11 + collect + ": Attempt to get length of null array]"}},
		{"bad v2 digest", fx.Options{Tamper: fx.TamperV2Digest}, map[int]string{
			29: "Failure [INSTALL_PARSE_FAILED_NO_CERTIFICATES: " + collect + " using APK Signature Scheme v2: SHA-256 digest of contents did not verify]",
			31: "Failure [INSTALL_PARSE_FAILED_NO_CERTIFICATES: " + r11 + collect + " using APK Signature Scheme v2: SHA-256 digest of contents did not verify]"}},
		// Android 7+ ignores v1 when a v2 signature verifies.
		{"bad v1 digest under a good v2", fx.Options{Tamper: fx.TamperV1Digest}, map[int]string{29: "Success", 34: "Success"}},
		{"bad v1 digest, v1 only", fx.Options{Signing: fx.SignV1, TargetSDK: 29, Tamper: fx.TamperV1Digest}, map[int]string{
			29: "Failure [INSTALL_PARSE_FAILED_UNEXPECTED_EXCEPTION: " + v1Digest + "]",
			30: "Failure [INSTALL_PARSE_FAILED_NO_CERTIFICATES: " + r11 + v1Digest + "]"}},
		{"bad v2 signature", fx.Options{Tamper: fx.TamperV2Signature}, map[int]string{
			29: "Failure [INSTALL_PARSE_FAILED_NO_CERTIFICATES: " + collect + " using APK Signature Scheme v2: Failed to parse/verify signer #1 block: SHA256withRSA signature did not verify]"}},
		{"bad v1 signature, v1 only", fx.Options{Signing: fx.SignV1, TargetSDK: 29, Tamper: fx.TamperV1Signature}, map[int]string{
			29: "Failure [INSTALL_PARSE_FAILED_NO_CERTIFICATES: " + collect + ": " + stage + " failed verification of META-INF/CERT.SF: Failed to verify signature]"}},
		{"v2 stripped", fx.Options{Tamper: fx.TamperStripV2}, map[int]string{
			29: "Failure [INSTALL_PARSE_FAILED_NO_CERTIFICATES: " + collect + ": META-INF/CERT.SF indicates " + stage + " is signed using APK Signature Scheme v2, but no such signature was found. Signature stripped?]"}},
		{"min sdk above the phone", fx.Options{MinSDK: 30}, map[int]string{
			29: "Failure [INSTALL_FAILED_OLDER_SDK: Failed parse during installPackageLI: " + stage + " (at Binary XML file line #3): Requires newer sdk version #30 (current version is #29)]",
			30: "Success"}},
	} {
		o := tc.opts
		o.Package = "com.example.verify"
		b := build(t, o)
		for sdk, want := range tc.android {
			want = strings.ReplaceAll(want, "%s", jarHash(t, b, sdk))
			if got := verifyErr(b, sdk); got != want {
				t.Errorf("%s on API %d:\n got %s\nwant %s", tc.name, sdk, got, want)
			}
		}
	}
}

// jarHash digs the modeled StrictJarFile identity hash out of an actual
// message, so the table can state the rest exactly.
func jarHash(t *testing.T, b []byte, sdk int) string {
	_, after, ok := strings.Cut(verifyErr(b, sdk), "StrictJarFile@")
	if !ok {
		return "%s"
	}
	h, _, _ := strings.Cut(after, ":")
	return h
}

// changeLabel rewrites one UTF-16 character of the label inside the APK and
// fixes the zip CRCs, so that only signatures can object: the edit a
// repackager makes.
func changeLabel(t *testing.T, b []byte, label string) []byte {
	t.Helper()
	b = bytes.Clone(b)
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var f *zip.File
	for _, e := range zr.File {
		if e.Name == format.ManifestEntry {
			f = e
		}
	}
	var utf16 []byte
	for _, c := range label {
		utf16 = append(utf16, byte(c), 0)
	}
	at := bytes.Index(b, utf16)
	if at < 0 {
		t.Fatal("label not found in the APK")
	}
	b[at] ^= 0x20 // change the case of the first letter
	off, err := f.DataOffset()
	if err != nil {
		t.Fatal(err)
	}
	oldCRC := binary.LittleEndian.AppendUint32(nil, f.CRC32)
	newCRC := binary.LittleEndian.AppendUint32(nil, crc32.ChecksumIEEE(b[off:off+int64(f.UncompressedSize64)]))
	if bytes.Count(b, oldCRC) != 2 {
		t.Fatalf("CRC bytes %x occur %d times, want 2 (local and central header)", oldCRC, bytes.Count(b, oldCRC))
	}
	return bytes.ReplaceAll(b, oldCRC, newCRC)
}

func TestVerifyRefusesAnAPKChangedAfterSigning(t *testing.T) {
	for _, tc := range []struct {
		signing fx.Signing
		want    string
	}{
		{fx.SignV1V2, "Failure [INSTALL_PARSE_FAILED_NO_CERTIFICATES: Failed to collect certificates from " + stage + " using APK Signature Scheme v2: SHA-256 digest of contents did not verify]"},
		{fx.SignV1, "META-INF/MANIFEST.MF has invalid digest for AndroidManifest.xml in AndroidManifest.xml]"},
	} {
		// The manifest's UTF-16 label comes before the copy in resources.arsc.
		b := changeLabel(t, build(t, fx.Options{Package: "com.example.changed", Label: "Tamper", Signing: tc.signing, TargetSDK: 29}), "Tamper")
		if m, err := apk.ReadManifest(bytes.NewReader(b), int64(len(b))); err != nil || m.Label != "tamper" {
			t.Fatalf("changed APK should still parse with label tamper: %+v, %v", m, err)
		}
		if got := verifyErr(b, 29); !strings.HasSuffix(got, tc.want) {
			t.Errorf("signing %d: %s\nwant one ending %s", tc.signing, got, tc.want)
		}
	}
}

func TestVerifyParseErrors(t *testing.T) {
	manifest := func(pkg string) []byte {
		return fx.CompileXML(fx.Element{Name: "manifest", Attrs: []fx.Attr{{Name: "package", Type: format.TypeString, Value: pkg}}}, false)
	}
	for _, tc := range []struct {
		name string
		apk  []byte
		sdk  int
		want string
	}{
		{"not a zip", []byte("MZ"), 29, "Failure [INSTALL_PARSE_FAILED_NOT_APK: Failed to parse " + stage + "]"},
		{"not a zip on 11", []byte("MZ"), 30, "Failure [INSTALL_PARSE_FAILED_NOT_APK: Failed to parse " + stage + ": Failed to load asset path " + stage + "]"},
		{"no manifest", zipOf(t, map[string][]byte{"classes.dex": {1}}), 29, "Failure [INSTALL_PARSE_FAILED_UNEXPECTED_EXCEPTION: Failed to parse " + stage + ": AndroidManifest.xml]"},
		{"text manifest", zipOf(t, map[string][]byte{format.ManifestEntry: []byte("<manifest/>")}), 29, "Failure [INSTALL_PARSE_FAILED_UNEXPECTED_EXCEPTION: Failed to parse " + stage + ": Corrupt XML binary file]"},
		// Signatures are checked before the manifest's contents.
		{"unsigned, bad package", zipOf(t, map[string][]byte{format.ManifestEntry: manifest("nodot")}), 29, "Failure [INSTALL_PARSE_FAILED_NO_CERTIFICATES: Failed to collect certificates from " + stage + ": Attempt to get length of null array]"},
	} {
		if got := verifyErr(tc.apk, tc.sdk); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

func TestVerifyTargetingNewerAndroid(t *testing.T) {
	// Android 12+ refuses an activity with a filter but no explicit
	// exported in an app targeting 31+; 11 does not.
	name := func(v string) fx.Attr {
		return fx.Attr{Name: "name", ID: format.AttrName, Type: format.TypeString, Value: v}
	}
	doc := fx.Element{Name: "manifest", Attrs: []fx.Attr{{Name: "package", Type: format.TypeString, Value: "com.example.s"}},
		Children: []fx.Element{
			{Name: "uses-sdk", Attrs: []fx.Attr{{Name: "targetSdkVersion", ID: format.AttrTargetSDK, Type: format.TypeIntDec, Data: 31}}},
			{Name: "application", Children: []fx.Element{{Name: "activity", Attrs: []fx.Attr{name(".Main")},
				Children: []fx.Element{{Name: "intent-filter", Children: []fx.Element{{Name: "action", Attrs: []fx.Attr{name(apk.ActionMain)}}}}}}}}}}
	signed := signedZip(t, map[string][]byte{format.ManifestEntry: fx.CompileXML(doc, false)})
	if got := verifyErr(signed, 30); got != "Success" {
		t.Errorf("Android 11: %s", got)
	}
	want := "Failure [INSTALL_PARSE_FAILED_MANIFEST_MALFORMED: Failed parse during installPackageLI: " + stage +
		" (at Binary XML file line #11): com.example.s.Main: Targeting S+ (version 31 and above) requires that an explicit value for android:exported be defined when intent filters are present]"
	if got := verifyErr(signed, 31); got != want {
		t.Errorf("Android 12:\n got %s\nwant %s", got, want)
	}
}

// signedZip has apksigner sign a zip of arbitrary entries with v1 and v2:
// the fixture builder signs only manifests it compiles itself.
func signedZip(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	return apksign(t, zipOf(t, files), rsaKey(t), "--v1-signing-enabled", "true", "--v2-signing-enabled", "true")
}

func TestCheckUpdate(t *testing.T) {
	other, err := fx.NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	pkg := func(s *fx.Signer) *apk.Package {
		b := build(t, fx.Options{Package: "com.example.update", Signer: s})
		p, err := apk.Verify(bytes.NewReader(b), int64(len(b)), apk.Platform{SDK: 29, Path: stage})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, a2, b := pkg(testSigner(t)), pkg(testSigner(t)), pkg(other)
	if err := apk.CheckUpdate(a, a2, 29); err != nil {
		t.Errorf("same signer refused: %v", err)
	}
	for sdk, want := range map[int]string{
		29: "INSTALL_FAILED_UPDATE_INCOMPATIBLE: Package com.example.update signatures do not match previously installed version; ignoring!",
		34: "INSTALL_FAILED_UPDATE_INCOMPATIBLE: Existing package com.example.update signatures do not match newer version; ignoring!",
	} {
		err := apk.CheckUpdate(a, b, sdk)
		var ie *apk.InstallError
		if !errors.As(err, &ie) || err.Error() != want {
			t.Errorf("API %d: %v, want %s", sdk, err, want)
		}
	}
}
