package profiles

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const library = `flows:
  open:
    - launch: {app: com.example/.Main, stop: true}
  go:
    - run: open
    - tap: [desc=Menu, "id~=(?i)menu"]
    - toggle: {on: text=Incognito mode, to: "on"}
    - back:
      if: text=Incognito mode
    - type: ${address}
    - key: ENTER
      optional: true
      timeout: 3s
  browse:
    - run: {flow: go, params: {address: "${url}"}}
`

const flowProfile = `display_name: Phone
devices: [phone]
flow_libraries: [base]
flows:
  open:
    - launch: com.example/.Other
firmware:
  - version: A
  - version: B
    flows:
      go:
        - tap: {on: text=Go, point: "25%,50%"}
  - version: C
`

// TestFlowInheritance: a model's flows start from its library, its own
// flows replace the library's, and each firmware's replace the model's from
// that firmware on, later firmware inheriting them.
func TestFlowInheritance(t *testing.T) {
	dir := t.TempDir()
	writeProfile(t, dir, "phone.yaml", flowProfile)
	if err := os.Mkdir(filepath.Join(dir, LibraryDir), 0o755); err != nil {
		t.Fatal(err)
	}
	writeProfile(t, filepath.Join(dir, LibraryDir), "base.yaml", library)
	t.Setenv(EnvDir, dir)
	p := ByName(mustLoad(t), "phone")
	get := func(fw string) Flows {
		f, err := p.FindFirmware(fw)
		if err != nil {
			t.Fatal(err)
		}
		return p.FlowsFor(f)
	}
	a, b, c := get("A"), get("B"), get("C")
	if got := a["open"].Steps[0]; got.Value != "com.example/.Other" || got.Stop || got.Source != filepath.Join(dir, "phone.yaml") || got.Line != 6 {
		t.Errorf("model flow did not replace the library's: %+v", got)
	}
	if s := a["go"].Steps; len(s) != 6 || s[1].Do != StepTap || !slices.Equal(s[1].On, Selectors{"desc=Menu", "id~=(?i)menu"}) ||
		s[2].Value != "on" || s[3].Do != StepBack || !slices.Equal(s[3].If, Selectors{"text=Incognito mode"}) ||
		!s[5].Optional || s[5].Timeout != 3*time.Second || s[5].Value != "ENTER" {
		t.Errorf("library flow go = %+v", s)
	}
	if s := b["go"].Steps; len(s) != 1 || s[0].Point != "25%,50%" || !strings.HasSuffix(s[0].Where(), "phone.yaml line 12") {
		t.Errorf("firmware B's go = %+v", s)
	}
	if c["go"] != b["go"] || a["browse"] != c["browse"] {
		t.Error("firmware C does not inherit B's flows and the library's")
	}
	var walked []string
	if err := c.Walk("browse", func(f *Flow, s *Step) error { walked = append(walked, f.Name+":"+s.Do); return nil }); err != nil {
		t.Fatal(err)
	}
	if want := []string{"browse:run", "go:tap"}; !slices.Equal(walked, want) {
		t.Errorf("walk = %v, want %v", walked, want)
	}
	if got, err := Expand("${url}?q=${q}", map[string]string{"url": "u", "q": "x"}); err != nil || got != "u?q=x" {
		t.Errorf("Expand = %q, %v", got, err)
	}
	if _, err := Expand("${url}/${missing}", map[string]string{"url": "u"}); err == nil || !strings.Contains(err.Error(), "${missing}") || !strings.Contains(err.Error(), "given: url") {
		t.Errorf("Expand with a missing parameter: %v", err)
	}
}

// TestFlowErrors: a mistake in a flow names the file and line, and says
// what would be right.
func TestFlowErrors(t *testing.T) {
	for _, tc := range []struct {
		name, flows string
		want        []string
	}{
		{"unknown command", "    - press: ENTER", []string{"line 5", `"press"`, "commands are"}},
		{"two commands", "    - tap: text=A\n      key: BACK", []string{"line 6", "two commands"}},
		{"lonely scalar", "    - enter", []string{"line 5", "only back and home"}},
		{"no value", "    - tap:", []string{"line 5", "needs a value"}},
		{"bad point", "    - tap: {on: text=A, point: middle}", []string{"line 5", "middle", "X%,Y%"}},
		{"bad toggle", "    - toggle: {on: text=A, to: maybe}", []string{"line 5", "on or off"}},
		{"bad key in command", "    - tap: {on: text=A, at: 1}", []string{"line 5", `"at"`, "on, row, point"}},
		{"bad timeout", "    - wait: text=A\n      timeout: soon", []string{"line 6", "soon"}},
		{"bad param", "    - type: ${URL}", []string{"line 5", "${URL}"}},
		{"bad direction", "    - scroll: {to: text=A, direction: sideways}", []string{"line 5", "sideways"}},
		{"empty flow", "    []", []string{"line 5", "at least one step"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("dir/bad.yaml", []byte("display_name: P\ndevices: [p]\nflows:\n  f:\n"+tc.flows+"\nfirmware:\n  - version: A\n"))
			if err == nil {
				t.Fatal("parsed without error")
			}
			for _, w := range append(tc.want, "bad.yaml") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"missing flow", strings.Replace(flowProfile, "go:\n        - tap: {on: text=Go, point: \"25%,50%\"}", "go:\n        - run: nowhere", 1),
			[]string{"phone.yaml", "firmware B", "no flow nowhere", "phone.yaml line 12"}},
		{"cycle", strings.Replace(flowProfile, "go:\n        - tap: {on: text=Go, point: \"25%,50%\"}", "go:\n        - run: browse", 1),
			[]string{"phone.yaml", "runs itself", "browse > go > browse"}},
		{"unknown library", strings.Replace(flowProfile, "[base]", "[base, vendor]", 1), []string{"phone.yaml", "flows/vendor.yaml", "have aosp, base, miui-global"}},
		{"unknown switch", flowProfile + "    known_leaks:\n      - {action: search, host: h, when: \"switch:night=on\"}\n",
			[]string{"phone.yaml", "line 15", "switch:night=on", "no switch"}},
		{"switch without its flow", flowProfile + "    known_leaks:\n      - {action: search, host: h, when: \"switch:s=on\"}\nswitches:\n  s: {flow: privacy, row: text=S}\n",
			[]string{"phone.yaml", "firmware C has no flow privacy"}},
		{"setting without kind", flowProfile + "actions:\n  settings:\n    - {namespace: system, key: k, canary: number}\n",
			[]string{"phone.yaml", "line 16", "max"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeProfile(t, dir, "phone.yaml", tc.text)
			if err := os.Mkdir(filepath.Join(dir, LibraryDir), 0o755); err != nil {
				t.Fatal(err)
			}
			writeProfile(t, filepath.Join(dir, LibraryDir), "base.yaml", library)
			t.Setenv(EnvDir, dir)
			_, err := Load()
			if err == nil {
				t.Fatal("loaded without error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	if _, err := ParseLibrary("flows/x.yaml", []byte("flows:\n  a:\n    - tap: {on: text=A, row: [], point: 1%,1%}\n")); err == nil || !strings.Contains(err.Error(), "x.yaml") {
		t.Errorf("library with an empty row: %v", err)
	}
}

// TestBuiltinFlows: every built-in model has, on each firmware, a flow for
// each action done on the screen, and its switch where a known leak depends
// on it.
func TestBuiltinFlows(t *testing.T) {
	t.Setenv(EnvDir, "")
	for _, p := range mustLoad(t) {
		for i := range p.Firmware {
			fw := &p.Firmware[i]
			flows := p.FlowsFor(fw)
			for _, name := range []string{ActionBrowseIncognito, ActionSearch, ActionCreateFolder, "connect-wifi", "forget-wifi"} {
				if flows[name] == nil {
					t.Errorf("%s %s has no flow %s", p.Name, fw.Version, name)
				}
			}
			for _, s := range p.Actions.Settings {
				if flows[s.Flow] == nil {
					t.Errorf("%s %s: setting %s has no flow %q", p.Name, fw.Version, s.Key, s.Flow)
				}
			}
			miui := slices.Contains(p.FlowLibraries, "miui-global")
			if (flows["install-confirm"] != nil) != miui {
				t.Errorf("%s %s: install-confirm flow present = %v, MIUI = %v", p.Name, fw.Version, flows["install-confirm"] != nil, miui)
			}
		}
	}
}
