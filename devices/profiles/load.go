package profiles

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"telltale.dev/protocols"
)

//go:embed *.yaml flows/*.yaml
var builtin embed.FS

// LibraryDir is the directory of flow libraries inside a profile directory.
const LibraryDir = "flows"

// EnvDir names the environment variable holding directories of user
// profiles (separated like PATH). A user profile with a built-in's name
// replaces it; any other adds a model.
const EnvDir = "TELLTALE_PROFILES"

// AllActions is every action name, in the order reports list them.
var AllActions = []string{
	ActionBrowseIncognito, ActionSearch, ActionInstallApp, ActionOpenApp, ActionCharge,
	ActionChangeSetting, ActionCreateFolder, ActionConnectWifi, ActionLockScreen,
}

// Load reads the built-in profiles and those in $TELLTALE_PROFILES, sorted by name.
func Load() ([]*Profile, error) {
	var dirs []string
	for _, d := range filepath.SplitList(os.Getenv(EnvDir)) {
		if d != "" {
			dirs = append(dirs, d)
		}
	}
	return load(dirs)
}

// builtinPrefix starts the Source of every built-in profile.
const builtinPrefix = "devices/profiles/"

// builtinOf returns the built-in one of two clashing profiles when just
// one of them is built in.
func builtinOf(a, b *Profile) *Profile {
	ab, bb := strings.HasPrefix(a.Source, builtinPrefix), strings.HasPrefix(b.Source, builtinPrefix)
	switch {
	case ab && !bb:
		return a
	case bb && !ab:
		return b
	}
	return nil
}

func load(userDirs []string) ([]*Profile, error) {
	byName := map[string]*Profile{}
	libs := map[string]*Library{}
	if err := readDir(builtin, builtinPrefix, byName, libs); err != nil {
		return nil, err
	}
	for _, dir := range userDirs {
		st, err := os.Stat(dir)
		if err != nil || !st.IsDir() {
			return nil, fmt.Errorf("%s=%s: not a readable directory (%v): create it or unset %s", EnvDir, dir, err, EnvDir)
		}
		if err := readDir(os.DirFS(dir), dir+string(filepath.Separator), byName, libs); err != nil {
			return nil, err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		if err := byName[name].link(libs); err != nil {
			return nil, err
		}
	}
	out := make([]*Profile, 0, len(byName))
	claimed := map[string]*Profile{}
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		p := byName[name]
		for _, d := range p.Devices {
			if other, ok := claimed[d]; ok {
				hint := "each ro.product.device belongs to one profile: remove it from one of them"
				if b := builtinOf(other, p); b != nil {
					hint = fmt.Sprintf("to replace the built-in profile, name the file %s.yaml", b.Name)
				}
				return nil, fmt.Errorf("%s and %s both match ro.product.device %q: %s", other.Source, p.Source, d, hint)
			}
			claimed[d] = p
		}
		out = append(out, p)
	}
	return out, nil
}

// readDir parses every *.yaml and *.yml file of fsys as a profile, and
// those of its flows directory as flow libraries; later directories
// replace earlier profiles and libraries of the same name.
func readDir(fsys fs.FS, prefix string, into map[string]*Profile, libs map[string]*Library) error {
	read := func(dir string, parse func(source string, b []byte) error) error {
		ents, err := fs.ReadDir(fsys, dir)
		if errors.Is(err, fs.ErrNotExist) && dir != "." {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading profiles in %s: %w", prefix+dir, err)
		}
		for _, e := range ents {
			ext := filepath.Ext(e.Name())
			if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
				continue
			}
			name := path.Join(dir, e.Name())
			b, err := fs.ReadFile(fsys, name)
			if err != nil {
				return fmt.Errorf("reading %s%s: %w", prefix, name, err)
			}
			if err := parse(prefix+name, b); err != nil {
				return err
			}
		}
		return nil
	}
	if err := read(".", func(source string, b []byte) error {
		p, err := Parse(source, b)
		if err == nil {
			into[p.Name] = p
		}
		return err
	}); err != nil {
		return err
	}
	return read(LibraryDir, func(source string, b []byte) error {
		l, err := ParseLibrary(source, b)
		if err == nil {
			libs[l.Name] = l
		}
		return err
	})
}

// decodeStrict decodes YAML refusing unknown fields.
func decodeStrict(b []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	return dec.Decode(v)
}

func baseName(source string) string {
	return strings.TrimSuffix(filepath.Base(source), filepath.Ext(source)) + ".yaml"
}

// Parse reads one profile file. The profile is named after the file (its
// stem); unknown fields and inconsistent content are errors naming the file
// and line.
func Parse(source string, b []byte) (*Profile, error) {
	stem := strings.TrimSuffix(filepath.Base(source), filepath.Ext(source))
	var p Profile
	if err := decodeStrict(b, &p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty profile: see devices/profiles/redmi-note-8.yaml for the fields", source)
		}
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	p.Source = source
	if err := p.validate(stem, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return &p, nil
}

var whenRE = regexp.MustCompile(`^(setting:(system|secure|global):[A-Za-z0-9_.]+=.+|switch:[a-z0-9-]+=(on|off))$`)

// validate checks what the YAML decoder cannot: required fields, names,
// conditions. root locates the offending line.
func (p *Profile) validate(stem string, root *yaml.Node) error {
	at := func(path ...any) string {
		if n := lookup(root, path...); n != nil {
			return fmt.Sprintf("line %d: ", n.Line)
		}
		return ""
	}
	switch {
	case p.Name == "":
		p.Name = stem
	case p.Name != stem:
		return fmt.Errorf("%sname %q differs from the file name %q: rename one", at("name"), p.Name, stem)
	}
	if p.DisplayName == "" {
		return fmt.Errorf("display_name is missing")
	}
	if len(p.Devices) == 0 {
		return fmt.Errorf("devices is empty: list the ro.product.device values this profile matches")
	}
	if d := p.Props["ro.product.device"]; d != "" && !slices.Contains(p.Devices, d) {
		return fmt.Errorf("%sprops ro.product.device %q is not in devices %v", at("props", "ro.product.device"), d, p.Devices)
	}
	if p.Settle != "" {
		if d, err := time.ParseDuration(p.Settle); err != nil || d < 0 {
			return fmt.Errorf("%ssettle %q is not a duration like \"2s\"", at("settle"), p.Settle)
		}
	}
	if p.Flush.Interval != "" {
		if d, err := time.ParseDuration(p.Flush.Interval); err != nil || d <= 0 {
			return fmt.Errorf("%sflush interval %q is not a duration like \"15s\"", at("flush", "interval"), p.Flush.Interval)
		}
	}
	for i, n := range p.Flush.Nudges {
		if strings.TrimSpace(n) == "" {
			return fmt.Errorf("%sflush nudge %d is empty: give a shell command such as \"input keyevent KEYCODE_HOME\"", at("flush", "nudges", i), i+1)
		}
	}
	if len(p.Firmware) == 0 {
		return fmt.Errorf("firmware is empty: list at least one version")
	}
	seen := map[string]bool{}
	for i, fw := range p.Firmware {
		if fw.Version == "" {
			return fmt.Errorf("%sfirmware %d has no version", at("firmware", i), i+1)
		}
		if seen[fw.Version] {
			return fmt.Errorf("%sfirmware %s is listed twice", at("firmware", i, "version"), fw.Version)
		}
		seen[fw.Version] = true
		for j, kl := range fw.KnownLeaks {
			if !slices.Contains(AllActions, kl.Action) {
				return fmt.Errorf("%sfirmware %s: known leak action %q is not one of %s", at("firmware", i, "known_leaks", j, "action"), fw.Version, kl.Action, strings.Join(AllActions, ", "))
			}
			if kl.Host == "" {
				return fmt.Errorf("%sfirmware %s: known leak of %s has no host", at("firmware", i, "known_leaks", j), fw.Version, kl.Action)
			}
			if kl.When != "" && !whenRE.MatchString(kl.When) {
				return fmt.Errorf("%sfirmware %s: condition %q: want switch:NAME=on|off or setting:NAMESPACE:KEY=VALUE", at("firmware", i, "known_leaks", j, "when"), fw.Version, kl.When)
			}
			if name, ok := strings.CutPrefix(kl.When, "switch:"); ok {
				name, _, _ = strings.Cut(name, "=")
				if _, ok := p.Switches[name]; !ok {
					return fmt.Errorf("%sfirmware %s: condition %q names no switch of the profile (switches: %s)", at("firmware", i, "known_leaks", j, "when"), fw.Version, kl.When, strings.Join(slices.Sorted(maps.Keys(p.Switches)), ", "))
				}
			}
		}
		for j, s := range fw.Sends {
			if s.Action != ActionBackground && !slices.Contains(AllActions, s.Action) {
				return fmt.Errorf("%sfirmware %s: sends action %q is not %s or one of %s", at("firmware", i, "sends", j, "action"), fw.Version, s.Action, ActionBackground, strings.Join(AllActions, ", "))
			}
			if host, path, ok := strings.Cut(s.Endpoint, "/"); !ok || host == "" || path == "" || strings.ContainsAny(s.Endpoint, "?# ") {
				return fmt.Errorf("%sfirmware %s: sends endpoint %q: want HOST/PATH without a query, e.g. data.mistat.intl.xiaomi.com/mistats/v3", at("firmware", i, "sends", j, "endpoint"), fw.Version, s.Endpoint)
			}
		}
	}
	for i, id := range p.Telemetry {
		if _, ok := protocols.ByID(id); !ok {
			var known []string
			for _, s := range protocols.Services() {
				known = append(known, s.ID)
			}
			return fmt.Errorf("%stelemetry service %q is not in the catalogue (%s)", at("telemetry", i), id, strings.Join(known, ", "))
		}
	}
	for i, s := range p.Actions.Settings {
		switch s.Namespace {
		case "system", "secure", "global":
		default:
			return fmt.Errorf("%ssettings namespace %q: want system, secure or global", at("actions", "settings", i, "namespace"), s.Namespace)
		}
		switch {
		case s.Canary != "" && s.Canary != CanaryText && s.Canary != CanaryNumber:
			return fmt.Errorf("%ssettings %s: canary %q: want %s or %s", at("actions", "settings", i, "canary"), s.Key, s.Canary, CanaryText, CanaryNumber)
		case s.Canary == CanaryNumber && s.Max <= 0:
			return fmt.Errorf("%ssettings %s: a number setting needs max: its largest value (screen_brightness: 255)", at("actions", "settings", i), s.Key)
		}
	}
	for name, sw := range p.Switches {
		if sw.Flow == "" || len(sw.Row) == 0 {
			return fmt.Errorf("%sswitch %s needs flow: (the page holding it) and row: (its label)", at("switches", name), name)
		}
		if sw.Default != "" && sw.Default != "on" && sw.Default != "off" {
			return fmt.Errorf("%sswitch %s: default %q: want on or off", at("switches", name, "default"), name, sw.Default)
		}
	}
	if err := p.Flows.check(p.Source); err != nil {
		return err
	}
	for i := range p.Firmware {
		if err := p.Firmware[i].Flows.check(p.Source); err != nil {
			return err
		}
	}
	return nil
}

// link attaches the profile's flow libraries and checks that every flow a
// firmware runs exists and runs no flow that is missing or runs itself.
func (p *Profile) link(libs map[string]*Library) error {
	p.libraries = nil
	for _, name := range p.FlowLibraries {
		l := libs[name]
		if l == nil {
			return fmt.Errorf("%s: flow_libraries: no %s/%s.yaml (have %s)", p.Source, LibraryDir, name,
				strings.Join(slices.Sorted(maps.Keys(libs)), ", "))
		}
		p.libraries = append(p.libraries, l)
	}
	for i := range p.Firmware {
		fw := &p.Firmware[i]
		flows := p.FlowsFor(fw)
		for _, name := range slices.Sorted(maps.Keys(flows)) {
			if err := flows.Walk(name, func(*Flow, *Step) error { return nil }); err != nil {
				return fmt.Errorf("%s: firmware %s: %w", p.Source, fw.Version, err)
			}
		}
		var named []string
		for _, s := range p.Actions.Settings {
			named = append(named, s.Flow)
		}
		for _, sw := range p.Switches {
			named = append(named, sw.Flow, sw.Leave)
		}
		for _, name := range named {
			if _, ok := flows[name]; name != "" && !ok && p.usesOn(fw, name) {
				return fmt.Errorf("%s: firmware %s has no flow %s: add it to the profile's flows (or the firmware's)", p.Source, fw.Version, name)
			}
		}
	}
	return nil
}

// usesOn says whether firmware fw needs the flow name: a setting's flow is
// needed everywhere, a switch's only where a known leak depends on it.
func (p *Profile) usesOn(fw *Firmware, name string) bool {
	for sname, sw := range p.Switches {
		if sw.Flow != name && sw.Leave != name {
			continue
		}
		return slices.ContainsFunc(fw.KnownLeaks, func(kl KnownLeak) bool {
			return strings.HasPrefix(kl.When, "switch:"+sname+"=")
		})
	}
	return true
}

// lookup follows mapping keys (string) and sequence indices (int) from the
// document root and returns the node found, or nil.
func lookup(root *yaml.Node, path ...any) *yaml.Node {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, step := range path {
		switch s := step.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return nil
			}
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == s {
					next = n.Content[i+1]
				}
			}
			if next == nil {
				return nil
			}
			n = next
		case int:
			if n.Kind != yaml.SequenceNode || s >= len(n.Content) {
				return nil
			}
			n = n.Content[s]
		}
	}
	return n
}

// ByName finds a profile by name ("redmi-note-8").
func ByName(profiles []*Profile, name string) *Profile {
	for _, p := range profiles {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Match finds the profile for a device's ro.product.device ("ginkgo").
func Match(profiles []*Profile, device string) *Profile {
	for _, p := range profiles {
		if slices.Contains(p.Devices, device) {
			return p
		}
	}
	return nil
}

// Names lists the profiles' names, for messages.
func Names(profiles []*Profile) []string {
	out := make([]string, len(profiles))
	for i, p := range profiles {
		out[i] = p.Name
	}
	return out
}

// Short is the version's first four dot-separated parts ("V11.0.3.0" of
// "V11.0.3.0.PCOMIXM"); versions with fewer parts are their own short form.
func (fw *Firmware) Short() string {
	parts := strings.SplitN(fw.Version, ".", 5)
	if len(parts) < 5 {
		return fw.Version
	}
	return strings.Join(parts[:4], ".")
}

// FindFirmware finds a firmware by full or short version. (Profile's
// Firmware field takes the name a goadb-style Firmware method would have.)
func (p *Profile) FindFirmware(version string) (*Firmware, error) {
	for i := range p.Firmware {
		if p.Firmware[i].Version == version {
			return &p.Firmware[i], nil
		}
	}
	var found *Firmware
	for i := range p.Firmware {
		if p.Firmware[i].Short() == version {
			if found != nil {
				return nil, fmt.Errorf("profile %s: %q matches both %s and %s: give the full version", p.Name, version, found.Version, p.Firmware[i].Version)
			}
			found = &p.Firmware[i]
		}
	}
	if found == nil {
		known := make([]string, len(p.Firmware))
		for i := range p.Firmware {
			known[i] = p.Firmware[i].Version
		}
		return nil, fmt.Errorf("profile %s has no firmware %q: known are %s (full or first four parts)", p.Name, version, strings.Join(known, ", "))
	}
	return found, nil
}

// BuildProps are the build properties a device of this model on firmware
// fw reports: the profile's, then ro.build.version.release and .sdk from
// the firmware, then the firmware's own props. (The name Props is the
// field's.) fw may be nil for the model's common props only.
func (p *Profile) BuildProps(fw *Firmware) map[string]string {
	out := make(map[string]string, len(p.Props)+8)
	for k, v := range p.Props {
		out[k] = v
	}
	if fw == nil {
		return out
	}
	if fw.Android != "" {
		out["ro.build.version.release"] = fw.Android
	}
	if fw.SDK != 0 {
		out["ro.build.version.sdk"] = strconv.Itoa(fw.SDK)
	}
	for k, v := range fw.Props {
		out[k] = v
	}
	return out
}
