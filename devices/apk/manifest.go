package apk

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"telltale.dev/devices/apk/format"
)

// Errors ReadManifest wraps, so that a caller can tell a file that is no APK
// from one whose manifest is broken.
var (
	ErrNotAPK      = errors.New("not an APK (not a zip archive)")
	ErrNoManifest  = errors.New("APK has no AndroidManifest.xml")
	ErrBadManifest = errors.New("AndroidManifest.xml is not valid binary XML")
)

// The manifest's structure is sound but Android's parser refuses it; the
// install checks map these to their own codes.
var (
	errNoManifestTag = errors.New("root element is not <manifest>")
	errNoPackage     = errors.New("<manifest> has no package attribute")
)

// maxManifestSize bounds how much of AndroidManifest.xml (and of
// resources.arsc, for labels) is inflated, so a zip bomb cannot exhaust
// memory; the largest real manifests are ~2 MiB.
const maxManifestSize = 8 << 20

// Intent filter names a launcher looks for.
const (
	ActionMain       = "android.intent.action.MAIN"
	CategoryLauncher = "android.intent.category.LAUNCHER"
)

// Manifest is what the package manager needs from AndroidManifest.xml.
type Manifest struct {
	Package string
	// Split is a split APK's name (<manifest split="config.xxhdpi">);
	// empty for a base APK.
	Split       string
	VersionCode int
	VersionName string
	// MinSDK and TargetSDK are 0 when <uses-sdk> does not declare them.
	MinSDK    int
	TargetSDK int
	// Label is the application label, resolved through resources.arsc's
	// default configuration when it is a reference; one that cannot be
	// resolved is shown the way aapt shows it, "@0x7f0b0001".
	Label string
	// HasCode is true unless <application android:hasCode="false">, which
	// is also Android's default.
	HasCode bool
	// Activities are the <activity> and <activity-alias> elements of the
	// application, in document order.
	Activities []Activity
}

// Activity is one <activity> or <activity-alias>.
type Activity struct {
	// Name is the fully qualified class (or alias) name: ".Main" in package
	// com.example is "com.example.Main", as PackageParser.buildClassName
	// resolves it.
	Name string
	// Target is the activity an <activity-alias> launches; empty for an
	// <activity>.
	Target string
	// Label is the activity's own label; empty when it uses the app's.
	Label string
	// Enabled is android:enabled, true unless declared false.
	Enabled bool
	// Exported is android:exported; when ExportedSet is false it was not
	// declared, and Android defaults it to "has an intent filter" (and
	// refuses that on Android 12+ for apps targeting 31+).
	Exported    bool
	ExportedSet bool
	Filters     []IntentFilter
}

// IntentFilter is one <intent-filter> of an activity.
type IntentFilter struct {
	Actions    []string
	Categories []string
}

// Launchable reports whether a launcher would show the activity: enabled,
// with a MAIN action and a LAUNCHER category in one filter.
func (a Activity) Launchable() bool {
	if !a.Enabled {
		return false
	}
	return slices.ContainsFunc(a.Filters, func(f IntentFilter) bool {
		return slices.Contains(f.Actions, ActionMain) && slices.Contains(f.Categories, CategoryLauncher)
	})
}

// LaunchActivity returns the first launchable activity, the one `monkey -c
// android.intent.category.LAUNCHER` and a launcher icon start.
func (m *Manifest) LaunchActivity() (Activity, bool) {
	for _, a := range m.Activities {
		if a.Launchable() {
			return a, true
		}
	}
	return Activity{}, false
}

// ReadManifestFile is ReadManifest for a file on disk.
func ReadManifestFile(path string) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("apk: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("apk: %w", err)
	}
	m, err := ReadManifest(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// ReadManifest opens the APK in r and decodes its binary AndroidManifest.xml.
// It does not verify signatures: Verify does, as the package manager would.
func ReadManifest(r io.ReaderAt, size int64) (*Manifest, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("apk: %w: %w", ErrNotAPK, err)
	}
	p, err := parseManifest(zr)
	if err != nil {
		return nil, err
	}
	return p.Manifest, nil
}

// parsed is a manifest with the positions Android's errors cite.
type parsed struct {
	*Manifest
	sdkLine int
	// activityEnds holds the line of each activity's end tag.
	activityEnds []int
	// labelRef and activityLabelRefs are the resource ids of labels that
	// are references (0 for literal ones), to resolve through the table.
	labelRef          uint32
	activityLabelRefs []uint32
}

// parseManifest reads AndroidManifest.xml (and resources.arsc for labels
// that are references) from an opened APK.
func parseManifest(zr *zip.Reader) (*parsed, error) {
	b, err := readEntry(zr, format.ManifestEntry)
	switch {
	case errors.Is(err, errNoEntry):
		return nil, fmt.Errorf("apk: %w (is this an APK or a plain zip?)", ErrNoManifest)
	case err != nil:
		return nil, fmt.Errorf("apk: %w: %w", ErrBadManifest, err)
	}
	p, err := decodeManifest(b)
	if err != nil {
		return nil, fmt.Errorf("apk: %w: %w", ErrBadManifest, err)
	}
	p.resolveLabels(zr)
	return p, nil
}

var errNoEntry = errors.New("no such entry")

// readEntry inflates one zip entry, at most maxManifestSize bytes of it.
func readEntry(zr *zip.Reader, name string) ([]byte, error) {
	i := slices.IndexFunc(zr.File, func(f *zip.File) bool { return f.Name == name })
	if i < 0 {
		return nil, errNoEntry
	}
	rc, err := zr.File[i].Open()
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(b) > maxManifestSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, maxManifestSize)
	}
	return b, nil
}

// decodeManifest interprets a binary AndroidManifest.xml: the root
// <manifest>, its first <uses-sdk> and <application>, and the activities
// with their intent filters.
func decodeManifest(b []byte) (*parsed, error) {
	d, err := decodeXML(b)
	if err != nil {
		return nil, err
	}
	return interpret(d)
}

// interpret reads what the package manager needs out of a decoded
// manifest.
func interpret(d *document) (*parsed, error) {
	if !d.named(d.root, "manifest") {
		return nil, errNoManifestTag
	}
	p := &parsed{Manifest: &Manifest{HasCode: true}}
	if err := d.manifestAttrs(d.root, p.Manifest); err != nil {
		return nil, err
	}
	if p.Package == "" {
		return nil, errNoPackage
	}
	var err error
	seenSDK, seenApp := false, false
	for _, el := range d.root.children {
		switch {
		case !seenSDK && d.named(el, "uses-sdk"):
			seenSDK, p.sdkLine = true, el.line
			err = d.sdkAttrs(el, p.Manifest)
		case !seenApp && d.named(el, "application"):
			seenApp = true
			err = d.application(el, p)
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", el.line, err)
		}
	}
	return p, nil
}

func (d *document) manifestAttrs(el *element, m *Manifest) error {
	var err error
	if a, ok := d.plain(el, "package"); ok {
		if m.Package, err = d.stringValue(a); err != nil {
			return fmt.Errorf("package: %w", err)
		}
	}
	if a, ok := d.plain(el, "split"); ok {
		if m.Split, err = d.stringValue(a); err != nil {
			return fmt.Errorf("split: %w", err)
		}
	}
	if a, ok := d.find(el, format.AttrVersionCode, "versionCode"); ok {
		if m.VersionCode, err = d.intValue(a); err != nil {
			return fmt.Errorf("versionCode: %w", err)
		}
	}
	if a, ok := d.find(el, format.AttrVersionName, "versionName"); ok {
		if m.VersionName, err = d.stringValue(a); err != nil {
			return fmt.Errorf("versionName: %w", err)
		}
	}
	return nil
}

func (d *document) sdkAttrs(el *element, m *Manifest) error {
	var err error
	if a, ok := d.find(el, format.AttrMinSDK, "minSdkVersion"); ok {
		if m.MinSDK, err = d.intValue(a); err != nil {
			return fmt.Errorf("minSdkVersion: %w", err)
		}
	}
	if a, ok := d.find(el, format.AttrTargetSDK, "targetSdkVersion"); ok {
		if m.TargetSDK, err = d.intValue(a); err != nil {
			return fmt.Errorf("targetSdkVersion: %w", err)
		}
	}
	return nil
}

func (d *document) application(el *element, p *parsed) error {
	var err error
	if p.Label, p.labelRef, err = d.label(el); err != nil {
		return err
	}
	if a, ok := d.find(el, format.AttrHasCode, "hasCode"); ok {
		if p.HasCode, err = d.boolValue(a); err != nil {
			return fmt.Errorf("hasCode: %w", err)
		}
	}
	for _, c := range el.children {
		alias := d.named(c, "activity-alias")
		if !alias && !d.named(c, "activity") {
			continue
		}
		act, ref, err := d.activity(c, p.Package, alias)
		if err != nil {
			return fmt.Errorf("line %d: %w", c.line, err)
		}
		p.Activities = append(p.Activities, act)
		p.activityEnds = append(p.activityEnds, c.endLine)
		p.activityLabelRefs = append(p.activityLabelRefs, ref)
	}
	return nil
}

// label reads android:label, returning the resource id too when it is a
// reference.
func (d *document) label(el *element) (string, uint32, error) {
	a, ok := d.find(el, format.AttrLabel, "label")
	if !ok {
		return "", 0, nil
	}
	if a.typ == format.TypeReference {
		return refString(a.data), a.data, nil
	}
	s, err := d.stringValue(a)
	if err != nil {
		return "", 0, fmt.Errorf("label: %w", err)
	}
	return s, 0, nil
}

func (d *document) activity(el *element, pkg string, alias bool) (Activity, uint32, error) {
	act := Activity{Enabled: true}
	var err error
	if a, ok := d.find(el, format.AttrName, "name"); ok {
		if act.Name, err = d.className(a, pkg); err != nil {
			return act, 0, fmt.Errorf("name: %w", err)
		}
	}
	if alias {
		if a, ok := d.find(el, format.AttrTargetAct, "targetActivity"); ok {
			if act.Target, err = d.className(a, pkg); err != nil {
				return act, 0, fmt.Errorf("targetActivity: %w", err)
			}
		}
	}
	var ref uint32
	if act.Label, ref, err = d.label(el); err != nil {
		return act, 0, err
	}
	if a, ok := d.find(el, format.AttrEnabled, "enabled"); ok {
		if act.Enabled, err = d.boolValue(a); err != nil {
			return act, 0, fmt.Errorf("enabled: %w", err)
		}
	}
	if a, ok := d.find(el, format.AttrExported, "exported"); ok {
		act.ExportedSet = true
		if act.Exported, err = d.boolValue(a); err != nil {
			return act, 0, fmt.Errorf("exported: %w", err)
		}
	}
	for _, c := range el.children {
		if !d.named(c, "intent-filter") {
			continue
		}
		var f IntentFilter
		for _, item := range c.children {
			list := &f.Actions
			switch {
			case d.named(item, "action"):
			case d.named(item, "category"):
				list = &f.Categories
			default:
				continue
			}
			if a, ok := d.find(item, format.AttrName, "name"); ok {
				v, err := d.stringValue(a)
				if err != nil {
					return act, 0, fmt.Errorf("line %d: name: %w", item.line, err)
				}
				*list = append(*list, v)
			}
		}
		act.Filters = append(act.Filters, f)
	}
	if !act.ExportedSet {
		act.Exported = len(act.Filters) > 0
	}
	return act, ref, nil
}

// className resolves a component name the way PackageParser.buildClassName
// does: ".Main" and "Main" are relative to the package.
func (d *document) className(a attr, pkg string) (string, error) {
	name, err := d.stringValue(a)
	switch {
	case err != nil:
		return "", err
	case name == "":
		return "", fmt.Errorf("empty class name in package %s", pkg)
	case strings.HasPrefix(name, "."):
		return pkg + name, nil
	case !strings.Contains(name, "."):
		return pkg + "." + name, nil
	}
	return name, nil
}

func (d *document) stringValue(a attr) (string, error) {
	switch {
	case a.typ == format.TypeString:
		return d.pool.get(a.data)
	case a.typ == format.TypeReference:
		return refString(a.data), nil
	case a.raw != format.NoIndex:
		return d.pool.get(a.raw)
	}
	return "", fmt.Errorf("value type 0x%02x is not a string", a.typ)
}

// refString is how aapt shows a reference it did not resolve.
func refString(id uint32) string { return fmt.Sprintf("@0x%08x", id) }

// intValue accepts decimal and hex ints, and strings holding a number,
// which some build tools emit for versionCode.
func (d *document) intValue(a attr) (int, error) {
	switch a.typ {
	case format.TypeIntDec, format.TypeIntHex:
		return int(int32(a.data)), nil
	case format.TypeString:
		s, err := d.pool.get(a.data)
		if err != nil {
			return 0, err
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, fmt.Errorf("string %q is not a number", s)
		}
		return n, nil
	}
	return 0, fmt.Errorf("value type 0x%02x is not an integer", a.typ)
}

func (d *document) boolValue(a attr) (bool, error) {
	switch a.typ {
	case format.TypeIntBool, format.TypeIntDec, format.TypeIntHex:
		return a.data != 0, nil
	}
	return false, fmt.Errorf("value type 0x%02x is not a boolean", a.typ)
}

// resolveLabels replaces labels that are references with their string in
// resources.arsc, as the launcher and aapt show them. One the table cannot
// resolve (or a table that cannot be read) leaves the "@0x..." form, as a
// launcher shows a broken label; it does not make the APK unreadable.
func (p *parsed) resolveLabels(zr *zip.Reader) {
	type ref struct {
		dst *string
		id  uint32
	}
	refs := []ref{{&p.Label, p.labelRef}}
	for i, id := range p.activityLabelRefs {
		refs = append(refs, ref{&p.Activities[i].Label, id})
	}
	var table []byte
	for _, r := range refs {
		if r.id == 0 {
			continue
		}
		if table == nil {
			b, err := readEntry(zr, format.ResourcesEntry)
			if err != nil {
				return
			}
			table = b
		}
		if s, err := resolveString(table, r.id); err == nil {
			*r.dst = s
		}
	}
}
