package toybox

import (
	"fmt"
	"strings"
)

// opts is a parsed command line: which flags were given, the values of
// flags that take one (the last wins; all are in vals), and the operands.
type opts struct {
	set  map[byte]bool
	val  map[byte]string
	vals map[byte][]string
	args []string
}

func (o opts) has(c byte) bool { return o.set[c] }

// parse reads args (without the command name) against spec, toybox's
// option string in short: each letter a flag, a letter followed by ':'
// takes a value ("-n 5" or "-n5"). As toybox does, flags may come after
// operands, letters combine ("-rf"), and "--" ends the flags. A lone "-"
// is an operand (stdin).
func parse(name string, args []string, spec string) (opts, error) {
	o := opts{set: map[byte]bool{}, val: map[byte]string{}, vals: map[byte][]string{}}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			o.args = append(o.args, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			o.args = append(o.args, a)
			continue
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			k := strings.IndexByte(spec, c)
			if k < 0 || c == ':' {
				return o, fmt.Errorf("%s: Unknown option '%c' (see \"%s --help\")", name, c, name)
			}
			o.set[c] = true
			if k+1 < len(spec) && spec[k+1] == ':' {
				v := a[j+1:]
				if v == "" {
					if i+1 >= len(args) {
						return o, fmt.Errorf("%s: Missing argument to -%c", name, c)
					}
					i++
					v = args[i]
				}
				o.val[c] = v
				o.vals[c] = append(o.vals[c], v)
				break
			}
		}
	}
	return o, nil
}
