package toybox

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"telltale.dev/devices/sim/shell"
)

// grep is toybox's with the options scripts use; patterns are basic
// regular expressions unless -E or -F. Exit status: 0 when a line matched,
// 1 when none did, 2 on an error (toys/posix/grep.c).
func (b *box) grep(ctx context.Context, sio shell.IO, args []string) int {
	o, ok := run(sio, args, "e:f:EFHhcilLnoqsvwxrR")
	if !ok {
		return 2
	}
	pats := o.vals['e']
	files := o.args
	if len(pats) == 0 {
		if len(files) == 0 {
			fmt.Fprintln(sio.Stderr, "grep: no pattern")
			return 2
		}
		pats, files = files[:1], files[1:]
	}
	var split []string // a pattern holding newlines is several patterns
	for _, p := range pats {
		split = append(split, strings.Split(p, "\n")...)
	}
	var res []*regexp.Regexp
	for _, p := range split {
		if o.has('F') {
			p = regexp.QuoteMeta(p)
		} else {
			re, err := compile(p, o.has('E'), false)
			if err != nil {
				fmt.Fprintf(sio.Stderr, "grep: bad regex '%s': %v\n", p, err)
				return 2
			}
			p = re.String()
		}
		switch {
		case o.has('x'):
			p = "^(?:" + p + ")$"
		case o.has('w'):
			p = `\b(?:` + p + `)\b`
		}
		if o.has('i') {
			p = "(?i)" + p
		}
		re, err := regexp.Compile(p)
		if err != nil {
			fmt.Fprintf(sio.Stderr, "grep: bad regex '%s': %v\n", p, err)
			return 2
		}
		res = append(res, re)
	}
	named := (len(files) > 1 || o.has('H')) && !o.has('h')
	matched, failed := false, false
	for _, name := range orStdin(files) {
		r, err := b.open(ctx, sio, name)
		if err != nil {
			if !o.has('s') {
				failErr(sio, "grep", name, err)
			}
			failed = true
			continue
		}
		n, count := 0, 0
		err = eachLine(r, func(line string) error {
			n++
			body := strings.TrimSuffix(line, "\n")
			var hits [][]int
			for _, re := range res {
				hits = append(hits, re.FindAllStringIndex(body, -1)...)
			}
			if (len(hits) > 0) == o.has('v') {
				return nil
			}
			count++
			matched = true
			switch {
			case o.has('q'):
				return errStop
			case o.has('l') || o.has('L') || o.has('c'):
				return nil
			}
			prefix := ""
			if named {
				prefix = displayName(name) + ":"
			}
			if o.has('n') {
				prefix += fmt.Sprint(n) + ":"
			}
			if o.has('o') && !o.has('v') {
				for _, h := range hits {
					fmt.Fprintf(sio.Stdout, "%s%s\n", prefix, body[h[0]:h[1]])
				}
				return nil
			}
			_, err := fmt.Fprintf(sio.Stdout, "%s%s\n", prefix, body)
			return err
		})
		if err == errStop {
			return 0
		}
		switch {
		case o.has('c'):
			if named {
				fmt.Fprintf(sio.Stdout, "%s:", displayName(name))
			}
			fmt.Fprintln(sio.Stdout, count)
		case o.has('l') && count > 0, o.has('L') && count == 0:
			fmt.Fprintln(sio.Stdout, displayName(name))
		}
	}
	switch {
	case failed && !(o.has('q') && matched):
		return 2
	case matched:
		return 0
	}
	return 1
}

func orStdin(files []string) []string {
	if len(files) == 0 {
		return []string{"-"}
	}
	return files
}
