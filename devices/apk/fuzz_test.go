package apk_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"testing"

	"telltale.dev/devices/apk"
	"telltale.dev/devices/apk/format"
	fx "telltale.dev/fixtures/apk"
)

// storedZip wraps b as an uncompressed AndroidManifest.xml, so the fuzzer's
// mutations reach the binary XML decoder instead of breaking the zip.
func storedZip(b []byte) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: format.ManifestEntry, Method: zip.Store})
	w.Write(b)
	zw.Close()
	return buf.Bytes()
}

func manifestOf(t testing.TB, b []byte) []byte {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name == format.ManifestEntry {
			rc, _ := f.Open()
			var buf bytes.Buffer
			buf.ReadFrom(rc)
			rc.Close()
			return buf.Bytes()
		}
	}
	t.Fatal("no manifest")
	return nil
}

func seeds(f testing.TB) [][]byte {
	var out [][]byte
	for _, o := range []fx.Options{
		{Package: "com.example.fuzz", Label: "Fuzz"},
		{Package: "com.example.fuzz", Label: "Fuzz", StringPoolUTF8: true, LabelAsResource: true},
		{Package: "com.example.fuzz", Signing: fx.SignV1},
		{Package: "com.example.fuzz", Tamper: fx.TamperV2Digest},
	} {
		out = append(out, build(f, o))
	}
	return out
}

func FuzzReadManifest(f *testing.F) {
	for _, b := range seeds(f) {
		f.Add(b)
		f.Add(manifestOf(f, b))
	}
	f.Add([]byte("PK\x05\x06"))
	f.Fuzz(func(t *testing.T, b []byte) {
		// Both as a whole APK and as the binary XML inside one: the fuzzer
		// mutates the XML far more effectively than bytes hidden in a zip.
		for _, in := range [][]byte{b, storedZip(b)} {
			m, err := apk.ReadManifest(bytes.NewReader(in), int64(len(in)))
			if err == nil && m.Package == "" {
				t.Error("ReadManifest succeeded without a package")
			}
			if err != nil && !errors.Is(err, apk.ErrNotAPK) && !errors.Is(err, apk.ErrNoManifest) && !errors.Is(err, apk.ErrBadManifest) {
				t.Errorf("error %v is none of ErrNotAPK, ErrNoManifest, ErrBadManifest", err)
			}
		}
	})
}

func FuzzVerify(f *testing.F) {
	for _, b := range seeds(f) {
		f.Add(b, uint8(29))
		f.Add(b, uint8(31))
	}
	f.Fuzz(func(t *testing.T, b []byte, sdk uint8) {
		p, err := apk.Verify(bytes.NewReader(b), int64(len(b)), apk.Platform{SDK: int(sdk), Path: stage})
		var ie *apk.InstallError
		switch {
		case err == nil && (p.Package == "" || len(p.Certificates) == 0 || p.Scheme < 1):
			t.Errorf("Verify accepted %+v without a package, certificate or scheme", p)
		case err != nil && (!errors.As(err, &ie) || ie.Code == "" || ie.Message == ""):
			t.Errorf("Verify refused with %v, not a complete *InstallError", err)
		}
	})
}
