package toybox

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"telltale.dev/devices/sim/shell"
)

func (b *box) cat(ctx context.Context, sio shell.IO, args []string) int {
	o, ok := run(sio, args, "uvten")
	if !ok {
		return 1
	}
	n := 0
	return b.inputs(ctx, sio, "cat", o.args, func(_ string, r io.Reader) error {
		if !o.has('n') {
			_, err := io.Copy(sio.Stdout, r)
			return err
		}
		return eachLine(r, func(line string) error {
			n++
			_, err := fmt.Fprintf(sio.Stdout, "%6d\t%s", n, line)
			return err
		})
	})
}

// echo is toybox's: escapes only with -e (mksh's own echo is a builtin
// and expands them; this one runs as /system/bin/echo, under xargs...).
func (b *box) echo(_ context.Context, sio shell.IO, args []string) int {
	args = args[1:]
	newline, escapes := true, false
flags:
	for len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' {
		for _, c := range args[0][1:] {
			if !strings.ContainsRune("neE", c) {
				break flags
			}
		}
		newline = newline && !strings.Contains(args[0], "n")
		escapes = strings.LastIndexAny(args[0], "eE") >= 0 && args[0][strings.LastIndexAny(args[0], "eE")] == 'e'
		args = args[1:]
	}
	text := strings.Join(args, " ")
	if escapes {
		var stop bool
		text, stop = unescape(text, true)
		newline = newline && !stop
	}
	if newline {
		text += "\n"
	}
	fmt.Fprint(sio.Stdout, text)
	return 0
}

// unescape expands backslash escapes as echo -e and printf's %b do; \c
// ends the output (stop). octal0 reads \0NNN (echo, %b) instead of \NNN.
func unescape(s string, octal0 bool) (out string, stop bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch c := s[i]; c {
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'c':
			return b.String(), true
		case 'e':
			b.WriteByte(0x1b)
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		case '\\':
			b.WriteByte('\\')
		case 'x':
			j := i + 1
			for j < len(s) && j < i+3 && strings.IndexByte("0123456789abcdefABCDEF", s[j]) >= 0 {
				j++
			}
			if j == i+1 {
				b.WriteString(`\x`)
				continue
			}
			n, _ := strconv.ParseUint(s[i+1:j], 16, 8)
			b.WriteByte(byte(n))
			i = j - 1
		default:
			if c < '0' || c > '7' {
				b.WriteByte('\\')
				b.WriteByte(c)
				continue
			}
			start, limit := i, i+3
			if octal0 && c == '0' {
				start, limit = i+1, i+4
			}
			j := start
			for j < len(s) && j < limit && s[j] >= '0' && s[j] <= '7' {
				j++
			}
			n, _ := strconv.ParseUint("0"+s[start:j], 8, 16)
			b.WriteByte(byte(n))
			i = j - 1
		}
	}
	return b.String(), false
}

// printf is toybox's (toys/posix/printf.c): the format is reused until the
// arguments run out; %b expands escapes; a bad number prints an error and
// makes the status 1 but the output goes on, as there.
func (b *box) printf(_ context.Context, sio shell.IO, args []string) int {
	if len(args) < 2 {
		return fail(sio, "printf", "Needs 1 argument")
	}
	format, rest := args[1], args[2:]
	status := 0
	var out strings.Builder
	for {
		used := false
		for i := 0; i < len(format); i++ {
			c := format[i]
			if c == '\\' {
				j := i + 1
				for j < len(format) && j < i+4 && format[j] >= '0' && format[j] <= '7' {
					j++
				}
				if j == i+1 && j < len(format) {
					j++
				}
				text, stop := unescape(format[i:j], false)
				out.WriteString(text)
				if stop {
					fmt.Fprint(sio.Stdout, out.String())
					return status
				}
				i = j - 1
				continue
			}
			if c != '%' || i+1 == len(format) {
				out.WriteByte(c)
				continue
			}
			j := i + 1
			for j < len(format) && strings.IndexByte("-+ #0123456789.", format[j]) >= 0 {
				j++
			}
			if j == len(format) {
				out.WriteString(format[i:])
				break
			}
			spec, conv := format[i:j], format[j]
			i = j
			if conv == '%' {
				out.WriteByte('%')
				continue
			}
			arg := ""
			if len(rest) > 0 {
				arg, rest, used = rest[0], rest[1:], true
			}
			switch conv {
			case 's':
				fmt.Fprintf(&out, spec+"s", arg)
			case 'b':
				text, stop := unescape(arg, true)
				fmt.Fprintf(&out, spec+"s", text)
				if stop {
					fmt.Fprint(sio.Stdout, out.String())
					return status
				}
			case 'c':
				if arg != "" {
					out.WriteByte(arg[0])
				}
			case 'd', 'i', 'o', 'u', 'x', 'X':
				n, err := printfInt(arg)
				if err != nil {
					status = fail(sio, "printf", "invalid number '%s'", arg)
				}
				verb := map[byte]string{'d': "d", 'i': "d", 'u': "d", 'o': "o", 'x': "x", 'X': "X"}[conv]
				fmt.Fprintf(&out, spec+verb, n)
			case 'e', 'E', 'f', 'F', 'g', 'G':
				f, err := strconv.ParseFloat(strings.TrimSpace(arg), 64)
				if arg != "" && err != nil {
					status = fail(sio, "printf", "invalid number '%s'", arg)
				}
				fmt.Fprintf(&out, spec+string(conv), f)
			default:
				fmt.Fprint(sio.Stdout, out.String())
				return fail(sio, "printf", "bad %%%c", conv)
			}
		}
		if !used || len(rest) == 0 {
			break
		}
	}
	fmt.Fprint(sio.Stdout, out.String())
	return status
}

// printfInt reads a printf integer: decimal, 0x hex, 0 octal, or 'c.
func printfInt(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if s[0] == '\'' || s[0] == '"' {
		if len(s) > 1 {
			return int64(s[1]), nil
		}
		return 0, nil
	}
	return strconv.ParseInt(s, 0, 64)
}

// headTailArgs turns the historic "-5" into "-n 5".
func headTailArgs(args []string) []string {
	out := slices.Clone(args)
	for i, a := range out[1:] {
		if len(a) > 1 && a[0] == '-' && a[1] >= '0' && a[1] <= '9' {
			out[i+1] = "-n" + a[1:]
		}
	}
	return out
}

func (b *box) head(ctx context.Context, sio shell.IO, args []string) int {
	o, ok := run(sio, headTailArgs(args), "n:c:qv")
	if !ok {
		return 1
	}
	lines, bytes := int64(10), int64(-1)
	var err error
	if v, set := o.val['n']; set {
		if lines, err = strconv.ParseInt(v, 10, 64); err != nil || lines < 0 {
			return fail(sio, "head", "bad -n '%s'", v)
		}
	}
	if v, set := o.val['c']; set {
		if bytes, err = strconv.ParseInt(v, 10, 64); err != nil || bytes < 0 {
			return fail(sio, "head", "bad -c '%s'", v)
		}
	}
	headers := (len(o.args) > 1 || o.has('v')) && !o.has('q')
	first := true
	return b.inputs(ctx, sio, "head", o.args, func(name string, r io.Reader) error {
		if headers {
			if !first {
				fmt.Fprintln(sio.Stdout)
			}
			fmt.Fprintf(sio.Stdout, "==> %s <==\n", displayName(name))
		}
		first = false
		if bytes >= 0 {
			_, err := io.CopyN(sio.Stdout, r, bytes)
			if err == io.EOF {
				err = nil
			}
			return err
		}
		n := int64(0)
		if lines == 0 {
			return nil
		}
		return eachLine(r, func(line string) error {
			fmt.Fprint(sio.Stdout, line)
			if n++; n >= lines {
				return errStop
			}
			return nil
		})
	})
}

func displayName(name string) string {
	if name == "-" {
		return "standard input"
	}
	return name
}

func (b *box) tail(ctx context.Context, sio shell.IO, args []string) int {
	o, ok := run(sio, headTailArgs(args), "n:c:fqvF")
	if !ok {
		return 1
	}
	count, fromStart, byBytes := "10", false, false
	if v, set := o.val['n']; set {
		count = v
	}
	if v, set := o.val['c']; set {
		count, byBytes = v, true
	}
	if strings.HasPrefix(count, "+") {
		count, fromStart = count[1:], true
	}
	n, err := strconv.Atoi(strings.TrimPrefix(count, "-"))
	if err != nil {
		return fail(sio, "tail", "bad count '%s'", count)
	}
	headers := (len(o.args) > 1 || o.has('v')) && !o.has('q')
	first := true
	status := b.inputs(ctx, sio, "tail", o.args, func(name string, r io.Reader) error {
		data, err := readAll(r)
		if err != nil {
			return err
		}
		if headers {
			if !first {
				fmt.Fprintln(sio.Stdout)
			}
			fmt.Fprintf(sio.Stdout, "==> %s <==\n", displayName(name))
		}
		first = false
		if byBytes {
			start := max(len(data)-n, 0)
			if fromStart {
				start = min(max(n-1, 0), len(data))
			}
			_, err = sio.Stdout.Write(data[start:])
			return err
		}
		lines := strings.SplitAfter(string(data), "\n")
		if lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		}
		start := max(len(lines)-n, 0)
		if fromStart {
			start = min(max(n-1, 0), len(lines))
		}
		_, err = io.WriteString(sio.Stdout, strings.Join(lines[start:], ""))
		return err
	})
	if o.has('f') || o.has('F') {
		// Nothing appends to a file while a simulated tail watches it
		// (modeled), so -f keeps waiting until the session ends.
		<-ctx.Done()
	}
	return status
}

// wc counts as toybox's wc.c prints it: the counts asked for (lines,
// words, bytes by default) separated by spaces, then the name of a file
// operand, and a total line for several.
func (b *box) wc(ctx context.Context, sio shell.IO, args []string) int {
	o, ok := run(sio, args, "lwcm")
	if !ok {
		return 1
	}
	show := []bool{o.has('l'), o.has('w'), o.has('c') || o.has('m')}
	if !slices.Contains(show, true) {
		show = []bool{true, true, true}
	}
	var total [3]int
	print := func(counts [3]int, name string) {
		var fields []string
		for i, c := range counts {
			if show[i] {
				fields = append(fields, strconv.Itoa(c))
			}
		}
		if name != "" {
			fields = append(fields, name)
		}
		fmt.Fprintln(sio.Stdout, strings.Join(fields, " "))
	}
	status := b.inputs(ctx, sio, "wc", o.args, func(name string, r io.Reader) error {
		var counts [3]int
		inWord := false
		err := eachLine(r, func(line string) error {
			for _, c := range []byte(line) {
				if c == '\n' {
					counts[0]++
				}
				if unicode.IsSpace(rune(c)) {
					inWord = false
				} else if !inWord {
					inWord = true
					counts[1]++
				}
			}
			counts[2] += len(line)
			return nil
		})
		if len(o.args) == 0 {
			name = ""
		}
		print(counts, name)
		for i := range total {
			total[i] += counts[i]
		}
		return err
	})
	if len(o.args) > 1 {
		print(total, "total")
	}
	return status
}

// fieldList reads cut's LIST ("1,3-5,7-") into a test of 1-based positions.
func fieldList(list string) (func(int) bool, error) {
	type span struct{ lo, hi int }
	var spans []span
	for _, part := range strings.Split(list, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		s := span{1, 1 << 30}
		var err error
		if lo != "" {
			if s.lo, err = strconv.Atoi(lo); err != nil || s.lo < 1 {
				return nil, fmt.Errorf("bad list '%s'", list)
			}
		}
		if !isRange {
			s.hi = s.lo
		} else if hi != "" {
			if s.hi, err = strconv.Atoi(hi); err != nil || s.hi < s.lo {
				return nil, fmt.Errorf("bad list '%s'", list)
			}
		}
		spans = append(spans, s)
	}
	return func(n int) bool {
		for _, s := range spans {
			if n >= s.lo && n <= s.hi {
				return true
			}
		}
		return false
	}, nil
}

func (b *box) cut(ctx context.Context, sio shell.IO, args []string) int {
	o, ok := run(sio, args, "b:c:d:f:sn")
	if !ok {
		return 1
	}
	list, mode := "", byte(0)
	for _, m := range []byte("bcf") {
		if v, set := o.val[m]; set {
			list, mode = v, m
		}
	}
	if mode == 0 {
		return fail(sio, "cut", "Needs -bcf")
	}
	want, err := fieldList(list)
	if err != nil {
		return fail(sio, "cut", "%s", err)
	}
	delim := "\t"
	if d, set := o.val['d']; set {
		if len(d) != 1 {
			return fail(sio, "cut", "bad delimiter '%s'", d)
		}
		delim = d
	}
	return b.inputs(ctx, sio, "cut", o.args, func(_ string, r io.Reader) error {
		return eachLine(r, func(line string) error {
			body := strings.TrimSuffix(line, "\n")
			var out strings.Builder
			if mode == 'f' {
				fields := strings.Split(body, delim)
				if len(fields) == 1 {
					if !o.has('s') {
						fmt.Fprintln(sio.Stdout, body)
					}
					return nil
				}
				var kept []string
				for i, f := range fields {
					if want(i + 1) {
						kept = append(kept, f)
					}
				}
				out.WriteString(strings.Join(kept, delim))
			} else {
				for i := 0; i < len(body); i++ {
					if want(i + 1) {
						out.WriteByte(body[i])
					}
				}
			}
			_, err := fmt.Fprintln(sio.Stdout, out.String())
			return err
		})
	})
}

// trSet expands tr's SET: ranges (a-z), escapes (\n, \\, \NNN) and
// classes ([:upper:] ...).
func trSet(s string) []byte {
	classes := map[string]func(rune) bool{
		"[:upper:]": unicode.IsUpper, "[:lower:]": unicode.IsLower, "[:digit:]": unicode.IsDigit,
		"[:space:]": unicode.IsSpace, "[:alpha:]": unicode.IsLetter, "[:punct:]": unicode.IsPunct,
		"[:alnum:]": func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) },
		"[:blank:]": func(r rune) bool { return r == ' ' || r == '\t' },
	}
	var raw []byte
	for i := 0; i < len(s); i++ {
		matched := false
		for name, is := range classes {
			if strings.HasPrefix(s[i:], name) {
				for c := 0; c < 128; c++ {
					if is(rune(c)) {
						raw = append(raw, byte(c))
					}
				}
				i += len(name) - 1
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			j := i + 2
			for j < len(s) && j < i+4 && s[j] >= '0' && s[j] <= '7' && s[i+1] >= '0' && s[i+1] <= '7' {
				j++
			}
			text, _ := unescape(s[i:j], false)
			c, i = text[len(text)-1], j-1
		}
		if i+2 < len(s) && s[i+1] == '-' {
			for x := int(c); x <= int(s[i+2]); x++ {
				raw = append(raw, byte(x))
			}
			i += 2
			continue
		}
		raw = append(raw, c)
	}
	return raw
}

func (b *box) tr(_ context.Context, sio shell.IO, args []string) int {
	o, ok := run(sio, args, "cCsdt")
	if !ok {
		return 1
	}
	if len(o.args) == 0 || (len(o.args) < 2 && !o.has('d') && !o.has('s')) {
		return fail(sio, "tr", "Needs 1-2 arguments")
	}
	set1 := trSet(o.args[0])
	var set2 []byte
	if len(o.args) > 1 {
		set2 = trSet(o.args[1])
	}
	var in [256]bool
	for _, c := range set1 {
		in[c] = true
	}
	if o.has('c') || o.has('C') {
		for i := range in {
			in[i] = !in[i]
		}
	}
	var mapTo [256]byte
	for i := range mapTo {
		mapTo[i] = byte(i)
	}
	if !o.has('d') && len(set2) > 0 {
		for i, c := range set1 {
			mapTo[c] = set2[min(i, len(set2)-1)]
		}
	}
	squeeze := set2
	if len(o.args) == 1 {
		squeeze = set1
	}
	var inSqueeze [256]bool
	for _, c := range squeeze {
		inSqueeze[c] = true
	}
	data, err := readAll(sio.Stdin)
	if err != nil {
		return fail(sio, "tr", "%s", err)
	}
	out := make([]byte, 0, len(data))
	for _, c := range data {
		if o.has('d') && in[c] {
			continue
		}
		if in[c] {
			c = mapTo[c]
		}
		if o.has('s') && inSqueeze[c] && len(out) > 0 && out[len(out)-1] == c {
			continue
		}
		out = append(out, c)
	}
	sio.Stdout.Write(out)
	return 0
}

func (b *box) sort(ctx context.Context, sio shell.IO, args []string) int {
	o, ok := run(sio, args, "bcdfgiMnrsuzk:t:o:")
	if !ok {
		return 1
	}
	var lines []string
	status := b.inputs(ctx, sio, "sort", o.args, func(_ string, r io.Reader) error {
		data, err := readAll(r)
		text := strings.TrimSuffix(string(data), "\n")
		if len(data) > 0 {
			lines = append(lines, strings.Split(text, "\n")...)
		}
		return err
	})
	keyField, keyEnd := 0, 0
	if k, set := o.val['k']; set {
		from, to, _ := strings.Cut(k, ",")
		keyField, _ = strconv.Atoi(strings.TrimRight(from, "bdfgiMnr"))
		keyEnd, _ = strconv.Atoi(strings.TrimRight(to, "bdfgiMnr"))
		if strings.ContainsAny(k, "n") {
			o.set['n'] = true
		}
	}
	key := func(line string) string {
		if keyField == 0 {
			return line
		}
		var fields []string
		if t, set := o.val['t']; set {
			fields = strings.Split(line, t)
		} else {
			fields = strings.Fields(line)
		}
		if keyField > len(fields) {
			return ""
		}
		end := len(fields)
		if keyEnd > 0 {
			end = min(keyEnd, len(fields))
		}
		sep := " "
		if t, set := o.val['t']; set {
			sep = t
		}
		return strings.Join(fields[keyField-1:max(end, keyField)], sep)
	}
	cmp := func(x, y string) int {
		a, b := key(x), key(y)
		if o.has('f') {
			a, b = strings.ToLower(a), strings.ToLower(b)
		}
		c := strings.Compare(a, b)
		if o.has('n') || o.has('g') {
			c = compareNumbers(a, b)
		}
		if c == 0 && !o.has('u') && !o.has('s') {
			c = strings.Compare(x, y) // last-resort whole-line comparison, as sort does
		}
		if o.has('r') {
			c = -c
		}
		return c
	}
	slices.SortStableFunc(lines, cmp)
	if o.has('u') {
		lines = slices.CompactFunc(lines, func(x, y string) bool { return cmp(x, y) == 0 })
	}
	for _, l := range lines {
		fmt.Fprintln(sio.Stdout, l)
	}
	return status
}

// compareNumbers orders by the leading number of each string, as sort -n:
// text without one counts as 0.
func compareNumbers(a, b string) int {
	x, y := leadingNumber(a), leadingNumber(b)
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func leadingNumber(s string) float64 {
	s = strings.TrimSpace(s)
	end := 0
	for end < len(s) && (s[end] >= '0' && s[end] <= '9' || s[end] == '.' || (end == 0 && s[end] == '-')) {
		end++
	}
	f, _ := strconv.ParseFloat(s[:end], 64)
	return f
}

// uniq -c prints counts as uniq.c's "%7lu " does (modeled on GNU's width,
// which toybox matches).
func (b *box) uniq(ctx context.Context, sio shell.IO, args []string) int {
	o, ok := run(sio, args, "cduiz")
	if !ok {
		return 1
	}
	var prev string
	count := 0
	flush := func() {
		if count == 0 || (o.has('d') && count < 2) || (o.has('u') && count > 1) {
			return
		}
		if o.has('c') {
			fmt.Fprintf(sio.Stdout, "%7d ", count)
		}
		fmt.Fprintln(sio.Stdout, prev)
	}
	status := b.inputs(ctx, sio, "uniq", o.args[:min(len(o.args), 1)], func(_ string, r io.Reader) error {
		return eachLine(r, func(line string) error {
			line = strings.TrimSuffix(line, "\n")
			same := line == prev
			if o.has('i') {
				same = strings.EqualFold(line, prev)
			}
			if count > 0 && same {
				count++
				return nil
			}
			flush()
			prev, count = line, 1
			return nil
		})
	})
	flush()
	return status
}

func (b *box) tee(ctx context.Context, sio shell.IO, args []string) int {
	o, ok := run(sio, args, "ai")
	if !ok {
		return 1
	}
	status := 0
	var targets []string
	for _, f := range o.args {
		p := shell.Abs(ctx, f)
		if err := b.fs.WriteFile(p, nil, 0o644, shell.UID(ctx), o.has('a')); err != nil {
			status = failErr(sio, "tee", f, err)
			continue
		}
		targets = append(targets, p)
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := sio.Stdin.Read(buf)
		if n > 0 {
			sio.Stdout.Write(buf[:n])
			for _, p := range targets {
				_ = b.fs.WriteFile(p, buf[:n], 0o644, shell.UID(ctx), true)
			}
		}
		if err != nil {
			return status
		}
	}
}

// xargs runs its command (echo by default) with the words of stdin as
// arguments, -n at a time; a command that fails makes the status 123, as
// toybox's xargs.c does.
func (b *box) xargs(ctx context.Context, sio shell.IO, args []string) int {
	i := 1
	per, nul, noEmpty := 0, false, false
	for ; i < len(args) && strings.HasPrefix(args[i], "-"); i++ {
		switch a := args[i]; {
		case a == "-0":
			nul = true
		case a == "-r":
			noEmpty = true
		case strings.HasPrefix(a, "-n"):
			v := a[2:]
			if v == "" && i+1 < len(args) {
				i++
				v = args[i]
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return fail(sio, "xargs", "bad -n '%s'", v)
			}
			per = n
		default:
			return fail(sio, "xargs", "Unknown option '%s'", a)
		}
	}
	cmd := args[i:]
	if len(cmd) == 0 {
		cmd = []string{"echo"}
	}
	data, err := readAll(sio.Stdin)
	if err != nil {
		return fail(sio, "xargs", "%s", err)
	}
	var words []string
	if nul {
		words = strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00")
	} else {
		words = strings.Fields(string(data))
	}
	if len(words) == 0 && noEmpty {
		return 0
	}
	if per == 0 {
		per = max(len(words), 1)
	}
	status := 0
	for start := 0; start == 0 || start < len(words); start += per {
		batch := append(slices.Clone(cmd), words[start:min(start+per, len(words))]...)
		switch code := b.sh.Exec(ctx, shell.IO{Stdin: strings.NewReader(""), Stdout: sio.Stdout, Stderr: sio.Stderr}, batch); {
		case code == shell.ExitNotFound:
			return code
		case code != 0:
			status = 123
		}
		if ctx.Err() != nil {
			return 130
		}
	}
	return status
}

func (b *box) seq(ctx context.Context, sio shell.IO, args []string) int {
	sep, width := "\n", false
	var nums []string
	for i := 1; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-s" && i+1 < len(args):
			i++
			sep = args[i]
		case a == "-w":
			width = true
		default:
			nums = append(nums, a)
		}
	}
	if len(nums) < 1 || len(nums) > 3 {
		return fail(sio, "seq", "Needs 1-3 arguments")
	}
	vals := []float64{1, 1, 0}
	parsed := make([]float64, len(nums))
	for i, n := range nums {
		f, err := strconv.ParseFloat(n, 64)
		if err != nil {
			return fail(sio, "seq", "invalid number '%s'", n)
		}
		parsed[i] = f
	}
	switch len(parsed) {
	case 1:
		vals[2] = parsed[0]
	case 2:
		vals[0], vals[2] = parsed[0], parsed[1]
	case 3:
		vals = parsed
	}
	first, inc, last := vals[0], vals[1], vals[2]
	if inc == 0 {
		return fail(sio, "seq", "increment must not be 0")
	}
	pad := 0
	if width {
		pad = len(strconv.FormatFloat(max(first, last), 'g', -1, 64))
	}
	w := bufio.NewWriter(sio.Stdout)
	lead := ""
	for x := first; (inc > 0 && x <= last) || (inc < 0 && x >= last); x += inc {
		if ctx.Err() != nil {
			return 130
		}
		if _, err := fmt.Fprintf(w, "%s%0*s", lead, pad, strconv.FormatFloat(x, 'g', -1, 64)); err != nil {
			return 1 // the reader went away
		}
		lead = sep
	}
	if lead != "" {
		fmt.Fprintln(w)
	}
	w.Flush()
	return 0
}

// base64 wraps encoded output at 76 columns as toybox's base64.c.
func (b *box) base64(ctx context.Context, sio shell.IO, args []string) int {
	o, ok := run(sio, args, "diw:")
	if !ok {
		return 1
	}
	wrap := 76
	if v, set := o.val['w']; set {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fail(sio, "base64", "bad -w '%s'", v)
		}
		wrap = n
	}
	return b.inputs(ctx, sio, "base64", o.args, func(_ string, r io.Reader) error {
		data, err := readAll(r)
		if err != nil {
			return err
		}
		if o.has('d') {
			clean := strings.Map(func(c rune) rune {
				if unicode.IsSpace(c) {
					return -1
				}
				return c
			}, string(data))
			dec, err := base64.StdEncoding.DecodeString(clean)
			sio.Stdout.Write(dec)
			if err != nil {
				return fmt.Errorf("bad input")
			}
			return nil
		}
		enc := base64.StdEncoding.EncodeToString(data)
		for wrap > 0 && len(enc) > wrap {
			fmt.Fprintln(sio.Stdout, enc[:wrap])
			enc = enc[wrap:]
		}
		if enc != "" {
			fmt.Fprintln(sio.Stdout, enc)
		}
		return nil
	})
}

// sum is md5sum, sha1sum and sha256sum: "HASH  NAME", "-" for stdin.
func (b *box) sum(ctx context.Context, sio shell.IO, args []string) int {
	o, ok := run(sio, args, "bc")
	if !ok {
		return 1
	}
	newHash := map[string]func() hash.Hash{"md5sum": md5.New, "sha1sum": sha1.New, "sha256sum": sha256.New}[args[0]]
	return b.inputs(ctx, sio, args[0], o.args, func(name string, r io.Reader) error {
		h := newHash()
		if _, err := io.Copy(h, r); err != nil {
			return err
		}
		if o.has('b') {
			fmt.Fprintf(sio.Stdout, "%x\n", h.Sum(nil))
		} else {
			fmt.Fprintf(sio.Stdout, "%x  %s\n", h.Sum(nil), name)
		}
		return nil
	})
}
