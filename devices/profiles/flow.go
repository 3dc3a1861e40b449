package profiles

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// A flow is what a person does on the phone's screen for one action, written
// like a Maestro flow: a list of steps, each a command with its value.
//
//	flows:
//	  browse-incognito:
//	    - run: browser-open
//	    - tap: [desc=Menu, id=menu_button]      # alternatives, tried in order
//	    - toggle: {on: text=Incognito mode, to: on}
//	    - key: BACK
//	      if: text=Incognito mode                # only when the menu is still open
//	    - tap: [id=search_hint, id=url]
//	    - type: ${url}
//	    - key: ENTER
//
// Selectors are telltale.dev/harness/ui's text form (text=..., id=...,
// desc~=regex; terms joined by commas); a list of them are alternatives.
// ${name} is a parameter the action gives (url, phrase, name, value ...) or
// a `run` step passes on. A model's flows come from its flow library
// (flows/NAME.yaml, shared by the models of one vendor ROM), then its own
// `flows:`, then each firmware's `flows:` in order: a firmware overrides
// only the flows that changed, and the later firmware inherit that.

// Step commands.
const (
	StepLaunch = "launch" // am start -W -n COMPONENT; `stop: true` force-stops first (am start -S)
	StepTap    = "tap"    // tap the first visible match (or a point inside it)
	StepToggle = "toggle" // set the switch on a row to on/off, tapping only if needed
	StepType   = "type"   // input text into the focused field
	StepErase  = "erase"  // empty a text field (tap it, move to its end, delete)
	StepKey    = "key"    // press a key: ENTER, BACK, KEYCODE_..., or a number
	StepWait   = "wait"   // wait until one selector shows
	StepGone   = "gone"   // wait until none shows
	StepAssert = "assert" // one look: one selector shows now
	StepScroll = "scroll" // swipe until one selector shows
	StepSwipe  = "swipe"  // drag inside a node (or the screen) between two points
	StepRun    = "run"    // run another flow, with parameters
	StepBack   = "back"   // press BACK
	StepHome   = "home"   // press HOME
)

var stepCommands = []string{StepLaunch, StepTap, StepToggle, StepType, StepErase, StepKey, StepWait, StepGone,
	StepAssert, StepScroll, StepSwipe, StepRun, StepBack, StepHome}

// Step modifiers: keys a step may carry besides its command.
var stepModifiers = []string{"if", "unless", "optional", "timeout"}

// Selectors are alternatives, tried in order: a single selector in YAML, or
// a list of them.
type Selectors []string

// UnmarshalYAML takes one selector or a list.
func (s *Selectors) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Value == "" {
			return fmt.Errorf("line %d: empty selector: write one such as text=OK", n.Line)
		}
		*s = Selectors{n.Value}
		return nil
	case yaml.SequenceNode:
		var out Selectors
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode || c.Value == "" {
				return fmt.Errorf("line %d: a selector list holds selectors such as text=OK", c.Line)
			}
			out = append(out, c.Value)
		}
		if len(out) == 0 {
			return fmt.Errorf("line %d: empty selector list", n.Line)
		}
		*s = out
		return nil
	}
	return fmt.Errorf("line %d: want a selector (text=OK) or a list of them", n.Line)
}

// Step is one step of a flow. Which fields count depends on Do.
type Step struct {
	Do string // one of the Step* commands
	// On are the nodes the step acts on or looks for (tap, toggle, erase,
	// wait, gone, assert, scroll, swipe).
	On Selectors
	// Row narrows On to the match sharing the smallest container with a node
	// Row matches: the switch beside a label, in a list of identical switches.
	Row Selectors
	// Value is the component (launch), text (type), key (key), flow name
	// (run) or state, on or off (toggle).
	Value string
	// Point is where in On's bounds a tap lands, or a swipe starts:
	// "X%,Y%" ("50%,50%" is the centre).
	Point string
	// To is where a swipe ends ("X%,Y%").
	To string
	// Direction and Max tune scroll: down (default), up, left, right; at
	// most Max swipes (default 10).
	Direction string
	Max       int
	// Stop force-stops the app before a launch, so it opens on its first screen.
	Stop bool
	// Params are what a run step passes to its flow.
	Params map[string]string
	// If and Unless run the step only when one of the selectors shows (or
	// none does) at that moment.
	If, Unless Selectors
	// Optional steps that fail are skipped.
	Optional bool
	// Timeout bounds the waiting of tap, toggle, erase, wait, gone and
	// scroll; zero is the runner's default.
	Timeout time.Duration
	// Line is the step's line in Source.
	Line   int
	Source string
}

// Flow is a named list of steps.
type Flow struct {
	Name   string
	Steps  []Step
	Source string // the file it was read from
	Line   int
}

// UnmarshalYAML reads the list of steps and keeps their lines.
func (f *Flow) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.SequenceNode {
		return fmt.Errorf("line %d: a flow is a list of steps (- tap: text=OK)", n.Line)
	}
	f.Line = n.Line
	for _, c := range n.Content {
		var s Step
		if err := s.UnmarshalYAML(c); err != nil {
			return err
		}
		f.Steps = append(f.Steps, s)
	}
	if len(f.Steps) == 0 {
		return fmt.Errorf("line %d: a flow needs at least one step", n.Line)
	}
	return nil
}

// Flows are flows by name.
type Flows map[string]*Flow

// UnmarshalYAML reads a mapping of flow names to step lists.
func (fs *Flows) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: flows is a mapping of names to step lists", n.Line)
	}
	out := Flows{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		name := n.Content[i].Value
		if !flowName.MatchString(name) {
			return fmt.Errorf("line %d: flow name %q: use lower case letters, digits and dashes", n.Content[i].Line, name)
		}
		if _, dup := out[name]; dup {
			return fmt.Errorf("line %d: flow %s is defined twice", n.Content[i].Line, name)
		}
		f := &Flow{Name: name}
		if err := f.UnmarshalYAML(n.Content[i+1]); err != nil {
			return fmt.Errorf("flow %s: %w", name, err)
		}
		out[name] = f
	}
	*fs = out
	return nil
}

var (
	flowName  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	paramRef  = regexp.MustCompile(`\$\{([^}]*)\}`)
	paramName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	pointForm = regexp.MustCompile(`^(\d{1,3}(\.\d+)?|\$\{[a-z][a-z0-9_]*\})%,(\d{1,3}(\.\d+)?|\$\{[a-z][a-z0-9_]*\})%$`)
)

// UnmarshalYAML reads one step: `- back`, or a mapping with one command and
// any modifiers.
func (s *Step) UnmarshalYAML(n *yaml.Node) error {
	s.Line = n.Line
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Value != StepBack && n.Value != StepHome {
			return fmt.Errorf("line %d: step %q: only back and home stand alone; other steps are COMMAND: VALUE, e.g. tap: text=OK", n.Line, n.Value)
		}
		s.Do = n.Value
		return nil
	case yaml.MappingNode:
	default:
		return fmt.Errorf("line %d: a step is COMMAND: VALUE (tap: text=OK) or back/home", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case slices.Contains(stepCommands, k.Value):
			if s.Do != "" {
				return fmt.Errorf("line %d: one step has two commands, %s and %s: make them two steps", k.Line, s.Do, k.Value)
			}
			s.Do = k.Value
			if err := s.command(v); err != nil {
				return fmt.Errorf("line %d: %s: %w", v.Line, s.Do, err)
			}
		case slices.Contains(stepModifiers, k.Value):
			if err := s.modifier(k.Value, v); err != nil {
				return fmt.Errorf("line %d: %s: %w", v.Line, k.Value, err)
			}
		default:
			return fmt.Errorf("line %d: unknown step key %q: commands are %s; modifiers %s",
				k.Line, k.Value, strings.Join(stepCommands, ", "), strings.Join(stepModifiers, ", "))
		}
	}
	if s.Do == "" {
		return fmt.Errorf("line %d: step has no command (one of %s)", n.Line, strings.Join(stepCommands, ", "))
	}
	return nil
}

func (s *Step) modifier(key string, v *yaml.Node) error {
	switch key {
	case "if":
		return v.Decode(&s.If)
	case "unless":
		return v.Decode(&s.Unless)
	case "optional":
		return v.Decode(&s.Optional)
	}
	var text string
	if err := v.Decode(&text); err != nil {
		return err
	}
	d, err := time.ParseDuration(text)
	if err != nil || d <= 0 {
		return fmt.Errorf("%q is not a duration such as 5s", text)
	}
	s.Timeout = d
	return nil
}

// fields are the keys a command's mapping form takes; the first is what its
// scalar (or list) form sets.
var fields = map[string][]string{
	StepLaunch: {"app", "stop"},
	StepTap:    {"on", "row", "point"},
	StepToggle: {"on", "row", "to"},
	StepType:   {"text"},
	StepErase:  {"on"},
	StepKey:    {"key"},
	StepWait:   {"for"},
	StepGone:   {"for"},
	StepAssert: {"that"},
	StepScroll: {"to", "direction", "max"},
	StepSwipe:  {"on", "from", "to"},
	StepRun:    {"flow", "params"},
	StepBack:   {},
	StepHome:   {},
}

func (s *Step) command(v *yaml.Node) error {
	keys := fields[s.Do]
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		if len(keys) > 0 {
			return fmt.Errorf("needs a value (%s)", keys[0])
		}
		return nil
	}
	if len(keys) == 0 {
		return fmt.Errorf("takes no value")
	}
	if v.Kind != yaml.MappingNode {
		return s.field(keys[0], v)
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k := v.Content[i].Value
		if !slices.Contains(keys, k) {
			return fmt.Errorf("unknown key %q (want %s)", k, strings.Join(keys, ", "))
		}
		if err := s.field(k, v.Content[i+1]); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	return nil
}

func (s *Step) field(key string, v *yaml.Node) error {
	scalar := func(dst *string) error {
		if v.Kind != yaml.ScalarNode {
			return fmt.Errorf("want a single value")
		}
		*dst = v.Value
		return nil
	}
	switch key {
	case "on", "for", "that":
		return v.Decode(&s.On)
	case "row":
		return v.Decode(&s.Row)
	case "point", "from":
		return scalar(&s.Point)
	case "stop":
		return v.Decode(&s.Stop)
	case "max":
		return v.Decode(&s.Max)
	case "direction":
		return scalar(&s.Direction)
	case "params":
		return v.Decode(&s.Params)
	case "to":
		switch s.Do {
		case StepScroll:
			return v.Decode(&s.On)
		case StepSwipe:
			return scalar(&s.To)
		}
		return scalar(&s.Value)
	}
	// app, text, key, flow: the command's value.
	return scalar(&s.Value)
}

// String shows the step as a person reads it in a report: "tap desc=Menu | id=menu".
func (s Step) String() string {
	var b strings.Builder
	b.WriteString(s.Do)
	if s.Value != "" {
		b.WriteString(" " + s.Value)
	}
	if len(s.On) > 0 {
		b.WriteString(" " + strings.Join(s.On, " | "))
	}
	if len(s.Row) > 0 {
		b.WriteString(" beside " + strings.Join(s.Row, " | "))
	}
	if s.Point != "" {
		b.WriteString(" at " + s.Point)
	}
	if s.To != "" {
		b.WriteString(" to " + s.To)
	}
	for _, k := range slices.Sorted(maps.Keys(s.Params)) {
		fmt.Fprintf(&b, " %s=%s", k, s.Params[k])
	}
	if len(s.If) > 0 {
		b.WriteString(" if " + strings.Join(s.If, " | "))
	}
	if len(s.Unless) > 0 {
		b.WriteString(" unless " + strings.Join(s.Unless, " | "))
	}
	if s.Optional {
		b.WriteString(" (optional)")
	}
	return b.String()
}

// Where is the step's place for error messages: "devices/profiles/flows/miui-global.yaml line 12".
func (s Step) Where() string { return fmt.Sprintf("%s line %d", s.Source, s.Line) }

// check validates a step's content after decoding: required fields and the
// form of points, keys and parameter references.
func (s *Step) check() error {
	need := func(ok bool, what string) error {
		if !ok {
			return fmt.Errorf("line %d: %s needs %s", s.Line, s.Do, what)
		}
		return nil
	}
	var err error
	switch s.Do {
	case StepLaunch:
		err = need(strings.Contains(s.Value, "/") || paramRef.MatchString(s.Value), "a component PACKAGE/ACTIVITY")
	case StepTap, StepErase, StepWait, StepGone, StepAssert, StepScroll:
		err = need(len(s.On) > 0, "a selector")
	case StepToggle:
		if err = need(len(s.On) > 0, "on: a selector"); err == nil {
			err = need(s.Value == "on" || s.Value == "off" || paramRef.MatchString(s.Value), "to: on or off")
		}
	case StepType:
		err = need(s.Value != "", "the text to type")
	case StepKey:
		err = need(s.Value != "", "a key name (ENTER, BACK, KEYCODE_...) or number")
	case StepRun:
		err = need(flowName.MatchString(s.Value), "the name of a flow")
	case StepSwipe:
		err = need(s.Point != "" && s.To != "", "from: and to: points such as 50%,80%")
	}
	if err != nil {
		return err
	}
	if s.Direction != "" && !slices.Contains([]string{"down", "up", "left", "right"}, s.Direction) {
		return fmt.Errorf("line %d: direction %q: want down, up, left or right", s.Line, s.Direction)
	}
	for _, p := range []string{s.Point, s.To} {
		if p != "" && s.Do != StepToggle && !pointForm.MatchString(p) {
			return fmt.Errorf("line %d: point %q: want X%%,Y%% inside the node, e.g. 50%%,50%% (numbers or ${param})", s.Line, p)
		}
	}
	for _, t := range s.texts() {
		for _, m := range paramRef.FindAllStringSubmatch(t, -1) {
			if !paramName.MatchString(m[1]) {
				return fmt.Errorf("line %d: parameter ${%s}: names are lower case letters, digits and _", s.Line, m[1])
			}
		}
	}
	return nil
}

// texts are every string of the step that parameters may appear in.
func (s *Step) texts() []string {
	out := []string{s.Value, s.Point, s.To}
	out = append(out, s.On...)
	out = append(out, s.Row...)
	out = append(out, s.If...)
	out = append(out, s.Unless...)
	for _, v := range s.Params {
		out = append(out, v)
	}
	return out
}

// Params lists the ${names} the step uses, run steps' own included.
func (s *Step) ParamsUsed() []string {
	var out []string
	for _, t := range s.texts() {
		for _, m := range paramRef.FindAllStringSubmatch(t, -1) {
			if !slices.Contains(out, m[1]) {
				out = append(out, m[1])
			}
		}
	}
	return out
}

// Expand fills ${name} references from params; a name with no value is an
// error naming it and what was given.
func Expand(text string, params map[string]string) (string, error) {
	var missing []string
	out := paramRef.ReplaceAllStringFunc(text, func(ref string) string {
		name := ref[2 : len(ref)-1]
		v, ok := params[name]
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		given := slices.Sorted(maps.Keys(params))
		return "", fmt.Errorf("${%s} has no value (given: %s)", strings.Join(missing, "}, ${"), strings.Join(given, ", "))
	}
	return out, nil
}

// Library is a file of flows shared by the models of one vendor ROM
// (flows/NAME.yaml next to the profiles).
type Library struct {
	Name   string
	Flows  Flows  `yaml:"flows"`
	Source string `yaml:"-"`
}

// ParseLibrary reads one flow library; errors name the file and line.
func ParseLibrary(source string, b []byte) (*Library, error) {
	var l Library
	if err := decodeStrict(b, &l); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	if len(l.Flows) == 0 {
		return nil, fmt.Errorf("%s: no flows: a library is `flows:` with named step lists", source)
	}
	l.Name = strings.TrimSuffix(baseName(source), ".yaml")
	l.Source = source
	if err := l.Flows.check(source); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return &l, nil
}

// check validates every step and records where each flow came from.
func (fs Flows) check(source string) error {
	for _, name := range slices.Sorted(maps.Keys(fs)) {
		f := fs[name]
		f.Source = source
		for i := range f.Steps {
			f.Steps[i].Source = source
			if err := f.Steps[i].check(); err != nil {
				return fmt.Errorf("flow %s: %w", name, err)
			}
		}
	}
	return nil
}

// FlowsFor are the flows a phone of this model on fw runs: the libraries',
// then the model's, then each firmware's up to fw (later ones win). fw may
// be nil for the model's own.
func (p *Profile) FlowsFor(fw *Firmware) Flows {
	out := Flows{}
	for _, l := range p.libraries {
		maps.Copy(out, l.Flows)
	}
	maps.Copy(out, p.Flows)
	for i := range p.Firmware {
		maps.Copy(out, p.Firmware[i].Flows)
		if fw != nil && p.Firmware[i].Version == fw.Version {
			break
		}
	}
	return out
}

// Walk visits the steps of flow name and of every flow it runs, depth
// first, once per flow; it fails on a flow that is missing or runs itself.
func (fs Flows) Walk(name string, visit func(f *Flow, s *Step) error) error {
	return fs.walk(name, nil, map[string]bool{}, visit)
}

func (fs Flows) walk(name string, stack []string, done map[string]bool, visit func(*Flow, *Step) error) error {
	if slices.Contains(stack, name) {
		return fmt.Errorf("flow %s runs itself: %s", name, strings.Join(append(stack, name), " > "))
	}
	f, ok := fs[name]
	if !ok {
		return fmt.Errorf("no flow %s (have %s)", name, strings.Join(slices.Sorted(maps.Keys(fs)), ", "))
	}
	if done[name] {
		return nil
	}
	done[name] = true
	for i := range f.Steps {
		s := &f.Steps[i]
		if err := visit(f, s); err != nil {
			return err
		}
		if s.Do == StepRun {
			if err := fs.walk(s.Value, append(stack, name), done, visit); err != nil {
				return fmt.Errorf("%s: %w", s.Where(), err)
			}
		}
	}
	return nil
}

// ParsePoint reads "X%,Y%" (already expanded) as fractions 0..1.
func ParsePoint(p string) (x, y float64, err error) {
	xs, ys, ok := strings.Cut(p, ",")
	if ok {
		x, err = strconv.ParseFloat(strings.TrimSuffix(xs, "%"), 64)
		if err == nil {
			y, err = strconv.ParseFloat(strings.TrimSuffix(ys, "%"), 64)
		}
	}
	if !ok || err != nil || x < 0 || x > 100 || y < 0 || y > 100 {
		return 0, 0, fmt.Errorf("point %q: want X%%,Y%% with X and Y from 0 to 100", p)
	}
	return x / 100, y / 100, nil
}
