package apk_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"telltale.dev/devices/apk"
	"telltale.dev/devices/apk/format"
	fx "telltale.dev/fixtures/apk"
)

var (
	signerOnce sync.Once
	signer     *fx.Signer
	signerErr  error
)

// testSigner shares one key across tests: RSA key generation is the slow
// part of building.
func testSigner(t testing.TB) *fx.Signer {
	t.Helper()
	signerOnce.Do(func() { signer, signerErr = fx.NewSigner() })
	if signerErr != nil {
		t.Fatal(signerErr)
	}
	return signer
}

func build(t testing.TB, o fx.Options) []byte {
	t.Helper()
	if o.Signer == nil && o.Signing != fx.Unsigned {
		o.Signer = testSigner(t)
	}
	b, err := fx.Build(o)
	if err != nil {
		t.Fatalf("Build(%+v): %v", o, err)
	}
	return b
}

// zipOf makes a zip with archive/zip, deflating entries like most tools do.
func zipOf(t testing.TB, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readManifest(t *testing.T, b []byte) *apk.Manifest {
	t.Helper()
	m, err := apk.ReadManifest(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var launcher = apk.Activity{Name: "android.app.Activity", Enabled: true, Exported: true, ExportedSet: true,
	Filters: []apk.IntentFilter{{Actions: []string{apk.ActionMain}, Categories: []string{apk.CategoryLauncher}}}}

func TestReadManifest(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts fx.Options
		want apk.Manifest
	}{
		{"defaults", fx.Options{Package: "com.example.a"},
			apk.Manifest{Package: "com.example.a", VersionCode: 1, VersionName: "1.0", MinSDK: 24, TargetSDK: 30, Activities: []apk.Activity{launcher}}},
		{"all fields", fx.Options{Package: "org.tt.Canary_9", Label: "Ünïcødé ✓", VersionCode: 123456, VersionName: "2.0-rc1", MinSDK: 19, TargetSDK: 34},
			apk.Manifest{Package: "org.tt.Canary_9", Label: "Ünïcødé ✓", VersionCode: 123456, VersionName: "2.0-rc1", MinSDK: 19, TargetSDK: 34, Activities: []apk.Activity{launcher}}},
		{"long label", fx.Options{Package: "a.b", Label: strings.Repeat("é", 5000), NoLauncher: true},
			apk.Manifest{Package: "a.b", Label: strings.Repeat("é", 5000), VersionCode: 1, VersionName: "1.0", MinSDK: 24, TargetSDK: 30}},
		{"label from resources.arsc", fx.Options{Package: "a.b", Label: "In the table", LabelAsResource: true, NoLauncher: true},
			apk.Manifest{Package: "a.b", Label: "In the table", VersionCode: 1, VersionName: "1.0", MinSDK: 24, TargetSDK: 30}},
	} {
		for _, utf8Pool := range []bool{false, true} {
			t.Run(tc.name+"/"+poolName(utf8Pool), func(t *testing.T) {
				o := tc.opts
				o.StringPoolUTF8 = utf8Pool
				if got := readManifest(t, build(t, o)); !reflect.DeepEqual(*got, tc.want) {
					t.Errorf("ReadManifest = %+v\nwant %+v", *got, tc.want)
				}
			})
		}
	}
}

func poolName(utf8Pool bool) string {
	if utf8Pool {
		return "utf8-pool"
	}
	return "utf16-pool"
}

// A hand-written manifest with what real apps have: relative class names,
// aliases, disabled activities, several filters, defaulted exported.
func TestReadManifestActivities(t *testing.T) {
	name := func(v string) fx.Attr {
		return fx.Attr{Name: "name", ID: format.AttrName, Type: format.TypeString, Value: v}
	}
	boolean := func(n string, id uint32, v bool) fx.Attr {
		a := fx.Attr{Name: n, ID: id, Type: format.TypeIntBool}
		if v {
			a.Data = 0xffffffff
		}
		return a
	}
	filter := func(action string, cats ...string) fx.Element {
		f := fx.Element{Name: "intent-filter", Children: []fx.Element{{Name: "action", Attrs: []fx.Attr{name(action)}}}}
		for _, c := range cats {
			f.Children = append(f.Children, fx.Element{Name: "category", Attrs: []fx.Attr{name(c)}})
		}
		return f
	}
	doc := fx.Element{Name: "manifest", Attrs: []fx.Attr{{Name: "package", Type: format.TypeString, Value: "com.example.acts"}},
		Children: []fx.Element{{Name: "application", Children: []fx.Element{
			{Name: "activity", Attrs: []fx.Attr{name(".Hidden"), boolean("enabled", format.AttrEnabled, false)},
				Children: []fx.Element{filter(apk.ActionMain, apk.CategoryLauncher)}},
			{Name: "activity", Attrs: []fx.Attr{name("Plain")}, Children: []fx.Element{filter("android.intent.action.VIEW")}},
			{Name: "service", Attrs: []fx.Attr{name(".NotAnActivity")}},
			{Name: "activity-alias", Attrs: []fx.Attr{name(".Alias"), {Name: "targetActivity", ID: format.AttrTargetAct, Type: format.TypeString, Value: ".Plain"}},
				Children: []fx.Element{filter("android.intent.action.SEND"), filter(apk.ActionMain, apk.CategoryLauncher)}},
		}}}}
	m := readManifest(t, zipOf(t, map[string][]byte{format.ManifestEntry: fx.CompileXML(doc, true)}))
	want := []apk.Activity{
		{Name: "com.example.acts.Hidden", Enabled: false, Exported: true,
			Filters: []apk.IntentFilter{{Actions: []string{apk.ActionMain}, Categories: []string{apk.CategoryLauncher}}}},
		{Name: "com.example.acts.Plain", Enabled: true, Exported: true,
			Filters: []apk.IntentFilter{{Actions: []string{"android.intent.action.VIEW"}}}},
		{Name: "com.example.acts.Alias", Target: "com.example.acts.Plain", Enabled: true, Exported: true,
			Filters: []apk.IntentFilter{{Actions: []string{"android.intent.action.SEND"}}, {Actions: []string{apk.ActionMain}, Categories: []string{apk.CategoryLauncher}}}},
	}
	if !reflect.DeepEqual(m.Activities, want) {
		t.Fatalf("activities\n%+v\nwant\n%+v", m.Activities, want)
	}
	// The disabled launcher is skipped; the alias is what a launcher starts.
	if got, ok := m.LaunchActivity(); !ok || got.Name != "com.example.acts.Alias" {
		t.Errorf("LaunchActivity = %+v, %v; want the alias", got, ok)
	}
}

func TestReadManifestErrors(t *testing.T) {
	good := fx.CompileXML(fx.Element{Name: "manifest", Attrs: []fx.Attr{{Name: "package", Type: format.TypeString, Value: "com.example.err"}}}, false)
	noPackage := fx.CompileXML(fx.Element{Name: "manifest"}, false)
	wrongRoot := fx.CompileXML(fx.Element{Name: "resources", Attrs: []fx.Attr{{Name: "package", Type: format.TypeString, Value: "a.b"}}}, true)
	for _, tc := range []struct {
		name string
		apk  []byte
		is   error
		want string
	}{
		{"empty file", nil, apk.ErrNotAPK, "not a zip"},
		{"text file", []byte("hello, not an apk"), apk.ErrNotAPK, "not a zip"},
		{"zip without manifest", zipOf(t, map[string][]byte{"classes.dex": {1}}), apk.ErrNoManifest, "no AndroidManifest.xml"},
		{"text manifest", zipOf(t, map[string][]byte{format.ManifestEntry: []byte("<manifest package=\"a.b\"/>")}), apk.ErrBadManifest, "a text manifest must be compiled"},
		{"truncated AXML", zipOf(t, map[string][]byte{format.ManifestEntry: good[:len(good)-7]}), apk.ErrBadManifest, "do not fit"},
		{"no package", zipOf(t, map[string][]byte{format.ManifestEntry: noPackage}), apk.ErrBadManifest, "no package attribute"},
		{"wrong root", zipOf(t, map[string][]byte{format.ManifestEntry: wrongRoot}), apk.ErrBadManifest, "root element is not <manifest>"},
		{"zip bomb", zipOf(t, map[string][]byte{format.ManifestEntry: make([]byte, 8<<20+1)}), apk.ErrBadManifest, "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := apk.ReadManifest(bytes.NewReader(tc.apk), int64(len(tc.apk)))
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ReadManifest = %+v, %v; want %v containing %q", m, err, tc.is, tc.want)
			}
		})
	}
	// The same manifest deflated by another zip writer reads fine.
	if m := readManifest(t, zipOf(t, map[string][]byte{format.ManifestEntry: good})); m.Package != "com.example.err" || !m.HasCode {
		t.Errorf("deflated manifest: %+v", m)
	}
	if _, err := apk.ReadManifestFile(filepath.Join(t.TempDir(), "missing.apk")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want os.ErrNotExist", err)
	}
}

func BenchmarkReadManifest(b *testing.B) {
	data := build(b, fx.Options{Package: "com.example.bench", Label: "Bench"})
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := apk.ReadManifest(bytes.NewReader(data), int64(len(data))); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	data := build(b, fx.Options{Package: "com.example.bench", Label: "Bench", Files: []fx.File{{Name: "assets/blob", Data: bytes.Repeat([]byte("x"), 4<<20)}}})
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := apk.Verify(bytes.NewReader(data), int64(len(data)), apk.Platform{SDK: 29, Path: apk.StagePath(1)}); err != nil {
			b.Fatal(err)
		}
	}
}
