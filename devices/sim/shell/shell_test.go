package shell

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

func words(p []Pipeline) [][]string {
	var out [][]string
	for _, pl := range p {
		for _, c := range pl.Commands {
			var ws []string
			for _, w := range c.Words {
				ws = append(ws, w.Text)
			}
			out = append(out, ws)
		}
	}
	return out
}

func TestParseQuoting(t *testing.T) {
	cases := []struct {
		line string
		want [][]string
	}{
		{`echo a   b`, [][]string{{"echo", "a", "b"}}},
		{`echo 'a b' "c d" e\ f`, [][]string{{"echo", "a b", "c d", "e f"}}},
		{`echo "it's \"q\" \$x"`, [][]string{{"echo", `it's "q" $x`}}},
		{`am start -d 'https://x/?q=a&b=c'`, [][]string{{"am", "start", "-d", "https://x/?q=a&b=c"}}},
		{`a; b && c || d`, [][]string{{"a"}, {"b"}, {"c"}, {"d"}}},
		{"a\nb # comment", [][]string{{"a"}, {"b"}}},
		{`echo ''`, [][]string{{"echo", ""}}},
	}
	for _, c := range cases {
		p, err := Parse(c.line)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.line, err)
		}
		if got := words(p); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Parse(%q) = %q, want %q", c.line, got, c.want)
		}
	}
}

func TestParseOperatorsAndRedirects(t *testing.T) {
	p, err := Parse(`ls /x 2>/dev/null | grep y > out; echo a >> log 2>&1`)
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 2 || p[0].Next != ";" || p[1].Next != "" || len(p[0].Commands) != 2 {
		t.Fatalf("structure: %+v", p)
	}
	if r := p[0].Commands[0].Redirects; len(r) != 1 || r[0].Fd != 2 || r[0].Path != "/dev/null" {
		t.Errorf("2> redirect: %+v", r)
	}
	if r := p[0].Commands[1].Redirects; len(r) != 1 || r[0].Fd != 1 || r[0].Path != "out" || r[0].Append {
		t.Errorf("> redirect: %+v", r)
	}
	if r := p[1].Commands[0].Redirects; len(r) != 2 || !r[0].Append || !r[1].Dup {
		t.Errorf(">> and 2>&1: %+v", r)
	}
	g, _ := Parse(`rm /a/*.0 '*.0'`)
	if ws := g[0].Commands[0].Words; !ws[1].Glob || ws[2].Glob {
		t.Errorf("glob marks: %+v", ws)
	}
}

func TestParseErrors(t *testing.T) {
	for _, line := range []string{`echo 'x`, `echo "x`, `&& a`, `a &&`, `a | | b`, `echo >`, `cat < f`} {
		if _, err := Parse(line); err == nil {
			t.Errorf("Parse(%q) succeeded, want a syntax error", line)
		}
	}
}

// testShell has a few commands that show what they were given.
func testShell(files map[string]*bytes.Buffer) *Shell {
	return &Shell{
		Commands: map[string]Func{
			"echo": func(_ context.Context, sio IO, args []string) int {
				fmt.Fprintln(sio.Stdout, strings.Join(args[1:], " "))
				return 0
			},
			"fail": func(_ context.Context, sio IO, args []string) int {
				fmt.Fprintln(sio.Stderr, "failing")
				return 3
			},
			"upper": func(_ context.Context, sio IO, _ []string) int {
				b, _ := io.ReadAll(sio.Stdin)
				fmt.Fprint(sio.Stdout, strings.ToUpper(string(b)))
				return 0
			},
		},
		Glob: func(p string) []string {
			if p == "/d/*.0" {
				return []string{"/d/a.0", "/d/b.0"}
			}
			return nil
		},
		Create: func(_ context.Context, p string, appendTo bool) (io.WriteCloser, error) {
			b, ok := files[p]
			if !ok || !appendTo {
				b = &bytes.Buffer{}
				files[p] = b
			}
			return nopCloser{b}, nil
		},
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func TestRun(t *testing.T) {
	files := map[string]*bytes.Buffer{}
	sh := testShell(files)
	cases := []struct {
		line, out, err string
		code           int
	}{
		{"echo hi", "hi\n", "", 0},
		{"fail && echo no", "", "failing\n", 3},
		{"fail || echo yes", "yes\n", "failing\n", 0},
		{"fail; echo after", "after\n", "failing\n", 0},
		{"true && echo t", "t\n", "", 0},
		{"false || echo f", "f\n", "", 0},
		{"/system/bin/echo full path", "full path\n", "", 0},
		{"echo a | upper", "A\n", "", 0},
		{"echo /d/*.0 /e/*.0", "/d/a.0 /d/b.0 /e/*.0\n", "", 0},
		{"sh -c 'echo in; fail'", "in\n", "failing\n", 3},
		{"fail 2>/dev/null", "", "", 3},
		{"fail 2>&1", "failing\n", "", 3},
		{"nosuch arg", "", "/system/bin/sh: nosuch: not found\n", ExitNotFound},
		{"echo 'x", "", "/system/bin/sh: syntax error: unterminated quoted string\n", 2},
		{"echo a; exit 3; echo b", "a\n", "", 3},
		{"sh -c 'exit 4' || echo inner-only", "inner-only\n", "", 0},
		{"exit 256", "", "", 0},
	}
	for _, c := range cases {
		var o, e bytes.Buffer
		code := sh.Run(context.Background(), c.line, IO{Stdin: strings.NewReader(""), Stdout: &o, Stderr: &e})
		if o.String() != c.out || e.String() != c.err || code != c.code {
			t.Errorf("%q: got (%q, %q, %d), want (%q, %q, %d)", c.line, o.String(), e.String(), code, c.out, c.err, c.code)
		}
	}
	var o, e bytes.Buffer
	sh.Run(context.Background(), "echo one > /f; echo two >> /f; echo three > /g", IO{Stdout: &o, Stderr: &e})
	if files["/f"].String() != "one\ntwo\n" || files["/g"].String() != "three\n" || o.Len() != 0 {
		t.Errorf("redirects: /f=%q /g=%q stdout=%q", files["/f"], files["/g"], o.String())
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	<-ctx.Done()
	var o bytes.Buffer
	if code := testShell(nil).Run(ctx, "echo a; echo b", IO{Stdout: &o, Stderr: &o}); code != 130 || o.Len() != 0 {
		t.Errorf("cancelled run: code %d output %q", code, o.String())
	}
}

func TestCommandSubstitution(t *testing.T) {
	sh := testShell(nil)
	var o, e bytes.Buffer
	code := sh.Run(context.Background(), `echo /proc/$(echo 612)/ns "x $(echo a | upper) y"`, IO{Stdin: strings.NewReader(""), Stdout: &o, Stderr: &e})
	if code != 0 || o.String() != "/proc/612/ns x A y\n" {
		t.Errorf("got %q %q %d", o.String(), e.String(), code)
	}
	if _, err := Parse("echo $(echo"); err == nil {
		t.Error("unterminated $( parsed")
	}
}

// FuzzParse checks the parser never panics and that what it accepts runs.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`echo 'a b' "c" d\ e`, `a && b || c; d | e > f 2>&1`, `x $(y "$(z)")`, `'`, `2>>`, "a\n#c\nb"} {
		f.Add(s)
	}
	sh := testShell(map[string]*bytes.Buffer{})
	f.Fuzz(func(t *testing.T, line string) {
		if _, err := Parse(line); err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		sh.Run(ctx, line, IO{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard})
	})
}
