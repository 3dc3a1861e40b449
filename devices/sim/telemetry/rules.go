// Package telemetry is the simulated phone's telemetry: data-driven rules
// saying which user action makes which event for a model and firmware, the
// wire formats MIUI apps use (Sensors Analytics, OneTrack, mistat, ...), a
// sender that goes through the phone's proxy and trusts only its CA store,
// and the ground-truth log of every event sent.
package telemetry

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

//go:embed rules.yaml
var rulesYAML []byte

// Rule says how one action is reported.
type Rule struct {
	Action string `yaml:"action"`
	Event  string `yaml:"event"`
	Format string `yaml:"format"`
	Method string `yaml:"method"`
	Host   string `yaml:"host"`
	Path   string `yaml:"path"`
	// App is the reporting package; empty means the occurrence's app.
	App       string   `yaml:"app"`
	Values    []string `yaml:"values"`
	Generated []string `yaml:"generated"`
	When      string   `yaml:"when"`
	SkipKeys  []string `yaml:"skip_keys"`
	// UserCA is true for apps whose network security config trusts the
	// user CA store; the rest trust only the system store.
	UserCA bool `yaml:"user_ca"`
}

// Noise is a request made on a timer, unrelated to any action.
type Noise struct {
	Every Duration `yaml:"every"`
	Rule  `yaml:",inline"`
}

// Duration reads Go duration text in YAML.
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// RuleSet is the telemetry of one firmware family.
type RuleSet struct {
	Name     string            `yaml:"name"`
	Base     string            `yaml:"base"`
	Models   []string          `yaml:"models"`
	Firmware string            `yaml:"firmware"`
	Settings map[string]string `yaml:"settings"`
	Noise    []Noise           `yaml:"noise"`
	Rules    []Rule            `yaml:"rules"`
}

type rulesFile struct {
	RuleSets []RuleSet `yaml:"rulesets"`
}

// LoadRules reads rulesets from YAML and resolves their bases.
func LoadRules(b []byte) ([]RuleSet, error) {
	var f rulesFile
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("telemetry rules: %w", err)
	}
	byName := map[string]*RuleSet{}
	out := make([]RuleSet, 0, len(f.RuleSets))
	for _, rs := range f.RuleSets {
		if rs.Base != "" {
			base, ok := byName[rs.Base]
			if !ok {
				return nil, fmt.Errorf("telemetry rules: %s: base %q must be defined before it", rs.Name, rs.Base)
			}
			rs = inherit(*base, rs)
		}
		for _, r := range rs.Rules {
			if err := r.check(); err != nil {
				return nil, fmt.Errorf("telemetry rules: %s: %w", rs.Name, err)
			}
		}
		out = append(out, rs)
		byName[rs.Name] = &out[len(out)-1]
	}
	return out, nil
}

func inherit(base, rs RuleSet) RuleSet {
	if rs.Models == nil {
		rs.Models = base.Models
	}
	if rs.Noise == nil {
		rs.Noise = base.Noise
	}
	settings := map[string]string{}
	for k, v := range base.Settings {
		settings[k] = v
	}
	for k, v := range rs.Settings {
		settings[k] = v
	}
	rs.Settings = settings
	own := map[string]bool{}
	for _, r := range rs.Rules {
		own[r.Action] = true
	}
	var rules []Rule
	for _, r := range base.Rules {
		if !own[r.Action] {
			rules = append(rules, r)
		}
	}
	rs.Rules = append(rules, rs.Rules...)
	return rs
}

var formats = []string{FormatSA, FormatOneTrack, FormatJSONGzip, FormatMistat, FormatConfig, FormatTrackV1}

func (r Rule) check() error {
	if !slices.Contains(formats, r.Format) {
		return fmt.Errorf("rule %s: unknown format %q (have %v)", r.Action, r.Format, formats)
	}
	if r.Host == "" || !strings.HasPrefix(r.Path, "/") {
		return fmt.Errorf("rule %s: needs a host and a path starting with /", r.Action)
	}
	if r.When != "" {
		if _, _, _, err := parseWhen(r.When); err != nil {
			return fmt.Errorf("rule %s: %w", r.Action, err)
		}
	}
	return nil
}

// parseWhen reads "setting:NS:KEY=VALUE".
func parseWhen(w string) (ns, key, value string, err error) {
	rest, ok := strings.CutPrefix(w, "setting:")
	nk, value, ok2 := strings.Cut(rest, "=")
	ns, key, ok3 := strings.Cut(nk, ":")
	if !ok || !ok2 || !ok3 {
		return "", "", "", fmt.Errorf("condition %q is not setting:NAMESPACE:KEY=VALUE", w)
	}
	return ns, key, value, nil
}

// DefaultRules are the embedded rulesets.
func DefaultRules() ([]RuleSet, error) { return LoadRules(rulesYAML) }

// Select returns the ruleset for a model and firmware version, or nil when
// the phone sends no telemetry (the emulator control device).
func Select(sets []RuleSet, model, firmware string) *RuleSet {
	for i := range sets {
		if slices.Contains(sets[i].Models, model) && strings.HasPrefix(firmware, sets[i].Firmware) {
			return &sets[i]
		}
	}
	return nil
}
