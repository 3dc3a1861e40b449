package toybox

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"telltale.dev/devices/sim/shell"
)

// sed runs the commands scripts use most: s///[gpNI], p, d, q and =, with
// line, $ and /regex/ addresses and ranges, -n, -e, -E/-r and -i. Others
// are refused with an error (modeled on toybox's "bad command").
func (b *box) sed(ctx context.Context, sio shell.IO, args []string) int {
	o, ok := run(sio, args, "e:f:inErsz")
	if !ok {
		return 1
	}
	scripts := o.vals['e']
	files := o.args
	if len(scripts) == 0 {
		if len(files) == 0 {
			return fail(sio, "sed", "Needs 1 argument")
		}
		scripts, files = files[:1], files[1:]
	}
	prog, err := parseSed(strings.Join(scripts, "\n"), o.has('E') || o.has('r'))
	if err != nil {
		return fail(sio, "sed", "%s", err)
	}
	if !o.has('i') {
		var texts []string
		status := b.inputs(ctx, sio, "sed", files, func(_ string, r io.Reader) error {
			data, err := readAll(r)
			texts = append(texts, string(data))
			return err
		})
		prog.run(strings.Join(texts, ""), !o.has('n'), sio.Stdout)
		return status
	}
	status := 0
	for _, f := range files {
		p := shell.Abs(ctx, f)
		data, err := b.fs.ReadFile(p)
		if err == nil {
			var out strings.Builder
			prog.run(string(data), !o.has('n'), &out)
			info, _ := b.fs.StatInfo(p)
			err = b.fs.WriteFile(p, []byte(out.String()), info.Mode&0o7777, shell.UID(ctx), false)
		}
		if err != nil {
			status = failErr(sio, "sed", f, err)
		}
	}
	return status
}

type sedAddr struct {
	line int // 0: unset
	last bool
	re   *regexp.Regexp
}

func (a *sedAddr) match(n int, last bool, line string) bool {
	switch {
	case a.re != nil:
		return a.re.MatchString(line)
	case a.last:
		return last
	}
	return a.line == n
}

type sedCmd struct {
	from, to *sedAddr
	negate   bool
	inRange  bool
	op       byte
	re       *regexp.Regexp
	repl     string
	global   bool
	nth      int
	print    bool
}

type sedProg []*sedCmd

// parseSed reads a script of commands separated by ; or newlines.
func parseSed(script string, extended bool) (sedProg, error) {
	var prog sedProg
	s := script
	for {
		s = strings.TrimLeft(s, " \t\n;")
		if s == "" {
			return prog, nil
		}
		c := &sedCmd{}
		var err error
		if c.from, s, err = sedAddress(s, extended); err != nil {
			return nil, err
		}
		if c.from != nil && strings.HasPrefix(s, ",") {
			if c.to, s, err = sedAddress(s[1:], extended); err != nil || c.to == nil {
				return nil, fmt.Errorf("bad address in '%s'", script)
			}
		}
		s = strings.TrimLeft(s, " \t")
		if strings.HasPrefix(s, "!") {
			c.negate, s = true, strings.TrimLeft(s[1:], " \t")
		}
		if s == "" {
			return nil, fmt.Errorf("missing command in '%s'", script)
		}
		c.op, s = s[0], s[1:]
		switch c.op {
		case 'p', 'd', 'q', '=':
		case 's':
			if s, err = c.parseSubst(s, extended); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("bad command '%c'", c.op)
		}
		prog = append(prog, c)
	}
}

// sedAddress reads one address at the start of s, nil when there is none.
func sedAddress(s string, extended bool) (*sedAddr, string, error) {
	switch {
	case s == "":
		return nil, s, nil
	case s[0] == '$':
		return &sedAddr{last: true}, s[1:], nil
	case s[0] >= '0' && s[0] <= '9':
		end := 0
		for end < len(s) && s[end] >= '0' && s[end] <= '9' {
			end++
		}
		n, _ := strconv.Atoi(s[:end])
		return &sedAddr{line: n}, s[end:], nil
	case s[0] == '/' || s[0] == '\\':
		delim := byte('/')
		if s[0] == '\\' && len(s) > 1 {
			delim, s = s[1], s[1:]
		}
		pat, rest, ok := sedDelimited(s[1:], delim)
		if !ok {
			return nil, s, fmt.Errorf("unmatched '%c'", delim)
		}
		re, err := compile(pat, extended, false)
		if err != nil {
			return nil, s, fmt.Errorf("bad regex '%s'", pat)
		}
		return &sedAddr{re: re}, rest, nil
	}
	return nil, s, nil
}

// sedDelimited reads up to an unescaped delim; "\delim" stands for delim.
func sedDelimited(s string, delim byte) (string, string, bool) {
	var out strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && s[i+1] == delim:
			out.WriteByte(delim)
			i++
		case s[i] == '\\' && i+1 < len(s):
			out.WriteString(s[i : i+2])
			i++
		case s[i] == delim:
			return out.String(), s[i+1:], true
		default:
			out.WriteByte(s[i])
		}
	}
	return "", s, false
}

func (c *sedCmd) parseSubst(s string, extended bool) (string, error) {
	if s == "" {
		return s, fmt.Errorf("unmatched 's'")
	}
	delim := s[0]
	pat, rest, ok := sedDelimited(s[1:], delim)
	if !ok {
		return s, fmt.Errorf("unmatched 's'")
	}
	repl, rest, ok := sedDelimited(rest, delim)
	if !ok {
		return s, fmt.Errorf("unmatched 's'")
	}
	fold := false
	for rest != "" && strings.IndexByte("gpiI0123456789", rest[0]) >= 0 {
		switch f := rest[0]; {
		case f == 'g':
			c.global = true
		case f == 'p':
			c.print = true
		case f == 'i' || f == 'I':
			fold = true
		default:
			c.nth = c.nth*10 + int(f-'0')
		}
		rest = rest[1:]
	}
	re, err := compile(pat, extended, fold)
	if err != nil {
		return s, fmt.Errorf("bad regex '%s'", pat)
	}
	c.re, c.repl = re, repl
	return rest, nil
}

// selects says whether the command applies to line n, tracking ranges.
func (c *sedCmd) selects(n int, last bool, line string) bool {
	hit := true
	switch {
	case c.from == nil:
	case c.to == nil:
		hit = c.from.match(n, last, line)
	case c.inRange:
		if c.to.match(n, last, line) || (c.to.line > 0 && c.to.re == nil && n >= c.to.line) {
			c.inRange = false
		}
	default:
		hit = c.from.match(n, last, line)
		c.inRange = hit && !(c.to.line > 0 && c.to.re == nil && c.to.line <= n)
	}
	return hit != c.negate
}

// run applies the program to text and writes the result.
func (p sedProg) run(text string, autoprint bool, w io.Writer) {
	lines := strings.SplitAfter(text, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for i, raw := range lines {
		line, nl := strings.CutSuffix(raw, "\n")
		last, deleted, quit := i == len(lines)-1, false, false
		for _, c := range p {
			if !c.selects(i+1, last, line) {
				continue
			}
			switch c.op {
			case 'p':
				fmt.Fprintln(w, line)
			case '=':
				fmt.Fprintln(w, i+1)
			case 'd':
				deleted = true
			case 'q':
				quit = true
			case 's':
				var done bool
				line, done = c.substitute(line)
				if done && c.print {
					fmt.Fprintln(w, line)
				}
			}
			if deleted || quit {
				break
			}
		}
		if autoprint && !deleted {
			io.WriteString(w, line)
			if nl {
				io.WriteString(w, "\n")
			}
		}
		if quit {
			return
		}
	}
}

// substitute replaces the first (or nth, or every) match; & is the match,
// \1-\9 its groups, \n a newline.
func (c *sedCmd) substitute(line string) (string, bool) {
	matches := c.re.FindAllStringSubmatchIndex(line, -1)
	var out strings.Builder
	prev, done := 0, false
	for k, m := range matches {
		if (c.nth > 0 && k+1 != c.nth) || (c.nth == 0 && !c.global && k > 0) {
			continue
		}
		out.WriteString(line[prev:m[0]])
		out.WriteString(c.expand(line, m))
		prev, done = m[1], true
		if !c.global && c.nth == 0 || c.nth > 0 {
			break
		}
	}
	out.WriteString(line[prev:])
	return out.String(), done
}

func (c *sedCmd) expand(line string, m []int) string {
	var out strings.Builder
	for i := 0; i < len(c.repl); i++ {
		ch := c.repl[i]
		switch {
		case ch == '&':
			out.WriteString(line[m[0]:m[1]])
		case ch == '\\' && i+1 < len(c.repl):
			i++
			d := c.repl[i]
			switch {
			case d >= '0' && d <= '9' && 2*int(d-'0')+1 < len(m) && m[2*int(d-'0')] >= 0:
				g := int(d - '0')
				out.WriteString(line[m[2*g]:m[2*g+1]])
			case d == 'n':
				out.WriteByte('\n')
			case d == 't':
				out.WriteByte('\t')
			default:
				out.WriteByte(d)
			}
		default:
			out.WriteByte(ch)
		}
	}
	return out.String()
}
