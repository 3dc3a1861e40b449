package sdk

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"telltale.dev/devices/sim/sdk/beacon"
	"telltale.dev/protocols"
)

//go:embed rules.yaml
var rulesYAML []byte

// Wire formats a rule can name: each is one SDK.
const (
	FormatSA       = "sa"        // Sensors Analytics (devices/sim/sdk/sensors)
	FormatOneTrack = "onetrack"  // OneTrack (devices/sim/sdk/onetrack)
	FormatMistat   = "mistat"    // MiStat in SystemUI (devices/sim/sdk/jsonpost)
	FormatJSONGzip = "json-gzip" // the security center's reports (devices/sim/sdk/jsonpost)
)

// services names each format's service in the vendor catalogue.
var services = map[string]string{
	FormatSA: protocols.SensorsAnalytics, FormatOneTrack: protocols.OneTrack, FormatMistat: protocols.Mistat,
	FormatJSONGzip: protocols.SecurityCenter, beacon.Config: protocols.AdConfig, beacon.TrackV1: protocols.OneTrack,
}

// Rule says how one trigger is reported (see rules.yaml).
type Rule struct {
	Action  string `yaml:"action"`
	Event   string `yaml:"event"`
	Format  string `yaml:"format"`
	Host    string `yaml:"host"`
	Path    string `yaml:"path"`
	Project string `yaml:"project"`
	// App is the reporting package; empty means the trigger's app.
	App       string   `yaml:"app"`
	Priority  int      `yaml:"priority"`
	Values    []string `yaml:"values"`
	Generated []string `yaml:"generated"`
}

// Noise is a request made on a timer, unrelated to any action: First
// after the phone boots (default: Every), then Every.
type Noise struct {
	First  Duration `yaml:"first"`
	Every  Duration `yaml:"every"`
	Event  string   `yaml:"event"`
	Format string   `yaml:"format"`
	Host   string   `yaml:"host"`
	Path   string   `yaml:"path"`
	App    string   `yaml:"app"`
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
	Name     string   `yaml:"name"`
	Base     string   `yaml:"base"`
	Models   []string `yaml:"models"`
	Firmware string   `yaml:"firmware"`
	Noise    []Noise  `yaml:"noise"`
	Rules    []Rule   `yaml:"rules"`
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
		if err := rs.check(); err != nil {
			return nil, fmt.Errorf("telemetry rules: %s: %w", rs.Name, err)
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

func (rs RuleSet) check() error {
	for _, r := range rs.Rules {
		if err := r.check(); err != nil {
			return err
		}
	}
	for _, n := range rs.Noise {
		if n.Format != beacon.Config && n.Format != beacon.TrackV1 {
			return fmt.Errorf("noise %s: format %q is not %s or %s", n.Event, n.Format, beacon.Config, beacon.TrackV1)
		}
		if n.Every <= 0 || n.App == "" {
			return fmt.Errorf("noise %s: needs every > 0 and an app", n.Event)
		}
	}
	return nil
}

var formats = []string{FormatSA, FormatOneTrack, FormatMistat, FormatJSONGzip}

func (r Rule) check() error {
	if !slices.Contains(formats, r.Format) {
		return fmt.Errorf("rule %s: unknown format %q (have %v)", r.Action, r.Format, formats)
	}
	if r.Event == "" {
		return fmt.Errorf("rule %s: needs an event name", r.Action)
	}
	if r.Path != "" && !strings.HasPrefix(r.Path, "/") {
		return fmt.Errorf("rule %s: path %q must start with /", r.Action, r.Path)
	}
	if r.Format == FormatSA && r.Path == "" && r.Project == "" {
		return fmt.Errorf("rule %s: a Sensors Analytics rule needs a project (or a path)", r.Action)
	}
	for _, g := range r.Generated {
		if g != "start" && g != "duration" {
			return fmt.Errorf("rule %s: generated value %q is not start or duration", r.Action, g)
		}
	}
	if r.Priority < 0 || r.Priority >= protocols.OneTrackPriorities {
		return fmt.Errorf("rule %s: priority %d is not 0..%d", r.Action, r.Priority, protocols.OneTrackPriorities-1)
	}
	return nil
}

// endpoint is where the rule's events go from a build of region.
func (r Rule) endpoint(region string) (host, path string, err error) {
	host, path = r.Host, r.Path
	if host == "" {
		if host, err = catalogueHost(r.Format, region); err != nil {
			return "", "", fmt.Errorf("rule %s: %w", r.Action, err)
		}
	}
	if path == "" {
		switch r.Format {
		case FormatSA:
			path = protocols.SAUploadPath(r.Project)
		case FormatOneTrack:
			path = protocols.OneTrackUploadPath
		case FormatMistat:
			path = protocols.MistatPath
		case FormatJSONGzip:
			path = protocols.SecurityCenterReportPath
		}
	}
	return host, path, nil
}

// catalogueHost is the host the vendor catalogue lists for format's
// service on builds of region.
func catalogueHost(format, region string) (string, error) {
	hosts := protocols.HostsOf(region, services[format])
	if len(hosts) == 0 {
		return "", fmt.Errorf("the catalogue has no %s host for region %q: name one in the rule", services[format], region)
	}
	return hosts[0], nil
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
