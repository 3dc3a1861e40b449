package toybox

import (
	"regexp"
	"strings"
)

// compile turns a POSIX regular expression into Go's: basic (grep, sed)
// unless extended (-E), with GNU's \+ \? \| in basic ones as toybox's libc
// regcomp accepts them. Bracket expressions pass through, their classes
// ([:digit:]) being the same in Go.
func compile(expr string, extended, fold bool) (*regexp.Regexp, error) {
	var out strings.Builder
	if fold {
		out.WriteString("(?i)")
	}
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case c == '[':
			j := bracketEnd(expr, i)
			out.WriteString(expr[i : j+1])
			i = j
		case c == '\\' && i+1 < len(expr):
			i++
			d := expr[i]
			switch {
			case !extended && strings.IndexByte("(){}+?|", d) >= 0:
				out.WriteByte(d) // \( is a group in a basic expression
			case d >= '1' && d <= '9':
				out.WriteByte('\\') // back-references are not supported by Go
				out.WriteByte(d)
			case d == '<' || d == '>':
				out.WriteString(`\b`) // GNU word edges; Go knows only \b
			case strings.IndexByte("nt", d) >= 0 || isWordClass(d):
				out.WriteByte('\\')
				out.WriteByte(d)
			default:
				out.WriteString(regexp.QuoteMeta(string(d)))
			}
		case !extended && strings.IndexByte("(){}+?|", c) >= 0:
			out.WriteString(regexp.QuoteMeta(string(c))) // literal in a basic expression
		case !extended && c == '*' && (i == 0 || expr[i-1] == '^' && i == 1):
			out.WriteString(`\*`) // a leading * is literal in a basic expression
		default:
			out.WriteByte(c)
		}
	}
	return regexp.Compile(out.String())
}

func isWordClass(c byte) bool { return strings.IndexByte("wWsSbB", c) >= 0 }

// bracketEnd finds the ] closing the bracket expression that opens at i
// ("[]a]" and "[^]a]" hold a literal ]); the last index when unclosed.
func bracketEnd(expr string, i int) int {
	j := i + 1
	if j < len(expr) && expr[j] == '^' {
		j++
	}
	if j < len(expr) && expr[j] == ']' {
		j++
	}
	for ; j < len(expr); j++ {
		if expr[j] == '[' && j+1 < len(expr) && strings.IndexByte(":.=", expr[j+1]) >= 0 {
			if k := strings.Index(expr[j+2:], string(expr[j+1])+"]"); k >= 0 {
				j += k + 3
				continue
			}
		}
		if expr[j] == ']' {
			return j
		}
	}
	return len(expr) - 1
}
