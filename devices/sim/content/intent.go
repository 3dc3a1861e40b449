// Package content holds Android's android.content types as the simulated
// phone's services and apps exchange them: intents, component names, and
// what a package's manifest declares about its activities.
package content

import (
	"fmt"
	"strconv"
	"strings"
)

// Intent actions and categories the phone resolves (android.content.Intent).
const (
	ActionMain        = "android.intent.action.MAIN"
	ActionView        = "android.intent.action.VIEW"
	CategoryLauncher  = "android.intent.category.LAUNCHER"
	CategoryHome      = "android.intent.category.HOME"
	CategoryDefault   = "android.intent.category.DEFAULT"
	CategoryBrowsable = "android.intent.category.BROWSABLE"
)

// Intent is what `am start` and apps ask the activity manager for.
type Intent struct {
	Action, Data, Type string
	Component          ComponentName // zero: resolve by action, data, categories
	Package            string        // limit resolution to this package
	Categories         []string
	Extras             map[string]string
	BoolExtras         map[string]bool
}

// String is the form am prints: "Intent { act=... dat=... cmp=... (has extras) }".
func (in Intent) String() string {
	if s := in.Summary(); s != "" {
		return "Intent { " + s + " }"
	}
	return "Intent {  }"
}

// Summary is the intent's fields as Intent.toShortString words them, the
// part of String between the braces.
func (in Intent) Summary() string {
	var parts []string
	if in.Action != "" {
		parts = append(parts, "act="+in.Action)
	}
	if len(in.Categories) > 0 {
		parts = append(parts, "cat=["+strings.Join(in.Categories, ",")+"]")
	}
	if in.Data != "" {
		parts = append(parts, "dat="+in.Data)
	}
	if in.Type != "" {
		parts = append(parts, "typ="+in.Type)
	}
	if !in.Component.IsZero() {
		parts = append(parts, "cmp="+in.Component.ShortString())
	} else if in.Package != "" {
		parts = append(parts, "pkg="+in.Package)
	}
	if len(in.Extras)+len(in.BoolExtras) > 0 {
		parts = append(parts, "(has extras)")
	}
	return strings.Join(parts, " ")
}

// HasCategory says whether the intent lists c.
func (in Intent) HasCategory(c string) bool {
	for _, have := range in.Categories {
		if have == c {
			return true
		}
	}
	return false
}

// Scheme is the data URI's scheme ("https"), lower-cased; "" without data.
func (in Intent) Scheme() string {
	s, _, ok := strings.Cut(in.Data, ":")
	if !ok {
		return ""
	}
	return strings.ToLower(s)
}

// ComponentName names one activity: a package and a class.
type ComponentName struct{ Package, Class string }

// ParseComponent reads "pkg/cls" or "pkg/.cls" (ComponentName.unflattenFromString).
func ParseComponent(s string) (ComponentName, error) {
	pkg, cls, ok := strings.Cut(s, "/")
	if !ok || pkg == "" || cls == "" {
		return ComponentName{}, fmt.Errorf("Bad component name: %s", s)
	}
	if strings.HasPrefix(cls, ".") {
		cls = pkg + cls
	}
	return ComponentName{Package: pkg, Class: cls}, nil
}

func (c ComponentName) IsZero() bool { return c == ComponentName{} }

// String is "pkg/full.Class" (flattenToString), as window titles show it.
func (c ComponentName) String() string { return c.Package + "/" + c.Class }

// ShortString is "pkg/.Class" where the class is in the package
// (flattenToShortString), as ActivityRecords show it.
func (c ComponentName) ShortString() string {
	if rest, ok := strings.CutPrefix(c.Class, c.Package+"."); ok {
		return c.Package + "/." + rest
	}
	return c.String()
}

// ParseAmArgs reads the intent arguments of `am start` and `am broadcast`
// (AOSP Intent.parseCommandArgs). Flags that take no value and that the
// simulated phone does not act on (-W, -S, --activity-clear-task ...) are
// skipped so newer am options do not break it.
func ParseAmArgs(args []string) (Intent, error) {
	in := Intent{Extras: map[string]string{}, BoolExtras: map[string]bool{}}
	need := func(i, n int) error {
		if i+n >= len(args) {
			return fmt.Errorf("Error: Argument expected after \"%s\"", args[i])
		}
		return nil
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch a {
		case "-a", "-d", "-t", "-n", "-c", "-f", "-p", "--user", "-R", "--receiver-permission", "--display", "--windowingMode", "--activityType":
			if err := need(i, 1); err != nil {
				return in, err
			}
			i++
			switch a {
			case "-a":
				in.Action = args[i]
			case "-d":
				in.Data = args[i]
			case "-t":
				in.Type = args[i]
			case "-n":
				c, err := ParseComponent(args[i])
				if err != nil {
					return in, fmt.Errorf("Error: %w", err)
				}
				in.Component = c
			case "-c":
				in.Categories = append(in.Categories, args[i])
			case "-p":
				in.Package = args[i]
			}
		case "--ez", "--es", "--ei", "--el", "--ef", "--eu", "--ecn", "--eia", "--esa":
			if err := need(i, 2); err != nil {
				return in, err
			}
			k, v := args[i+1], args[i+2]
			i += 2
			if a == "--ez" {
				b, err := strconv.ParseBool(v)
				if err != nil {
					return in, fmt.Errorf("Error: Invalid boolean value for %s: %s", k, v)
				}
				in.BoolExtras[k] = b
				continue
			}
			if a == "--ei" {
				if _, err := strconv.Atoi(v); err != nil {
					return in, fmt.Errorf("Error: Invalid int value for %s: %s", k, v)
				}
			}
			in.Extras[k] = v
		case "--esn":
			if err := need(i, 1); err != nil {
				return in, err
			}
			i++
			in.Extras[args[i]] = ""
		default:
			if strings.HasPrefix(a, "-") {
				continue
			}
			if in.Data == "" {
				in.Data = a
			}
		}
	}
	return in, nil
}
