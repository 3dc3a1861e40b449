package shell_test

import (
	"bytes"
	"context"
	"os/exec"
	"regexp"
	"testing"
)

// mkshScripts use the shell itself (and toybox applets whose output
// matches coreutils' for these arguments), so Debian's mksh, the same
// MirBSD Korn shell Android ships, must print the same.
var mkshScripts = []string{
	"echo hi", `echo 'a  b' "c" d\ e`, "echo $((7 % 3)) $((1 << 4)) $((-5 / 2)) $((2*3+1))",
	"x=abc; echo ${x#a} ${x%c} ${x:-d} ${#x} ${y:-unset}", "for i in 1 2 3; do echo $((i*2)); done",
	"i=0; while [ $i -lt 3 ]; do i=$((i+1)); done; echo $i", "case abc in a*) echo A;; *) echo B;; esac",
	"f() { echo \"in $1\"; return 3; }; f x; echo $?", "false && echo no; false || echo yes",
	"set -e; false; echo no", "echo a; exit 3; echo b", "exit 256", "nosuch arg; echo $?", "nosuch",
	"echo 'x", "echo \"x", "a &&", "&& a", "a | | b", "echo >", "if true; then echo", "for",
	"echo a; fi", "echo a\nif", "case x in", "(", "echo a; }", "while true; do", "echo $(",
	"read a b; echo \"[$b][$a]\"", "while read l; do echo \"<$l>\"; done", "echo 'a\\tb'", "echo -n x; echo y",
	"command -v echo; command -v if; command -v nosuch; echo $?", "type echo; type if; f() { :; }; type f",
	"export A=1; echo $A; unset A; echo \"${A-gone}\"", "echo `echo bq` $(echo sub)", "x=5; [ $x -gt 3 ] && echo big",
	"test 1 -eq 1; echo $?; [ a = b ]; echo $?", "sh -c 'exit 4' || echo inner", "sh -c 'echo $0 $1' a b",
	"false | true; echo $?", "echo a | read x; echo \"[$x]\"", "echo $0", "cd /nonexist-dir; echo $?",
	"printf '%s=%d\\n' a 1 b 2", "echo hello | tr a-z A-Z", "printf 'b\\na\\n' | sort", "seq 1 3 | tail -n 1",
}

// TestMatchesMksh runs each script in our shell and in Debian's mksh
// (installed by make deps) started as /system/bin/sh, and compares
// stdout, stderr and status. Debian's build marks messages "E: "/"W: ",
// which Android's does not print; that mark is dropped before comparing.
func TestMatchesMksh(t *testing.T) {
	mksh, err := exec.LookPath("mksh")
	if err != nil {
		t.Fatal("mksh is not installed; run make deps (it installs Debian's mksh)")
	}
	mark := regexp.MustCompile(`(?m)^[EW]: `)
	for _, script := range mkshScripts {
		ctx := ctxFor(t)
		cmd := exec.CommandContext(ctx, mksh, "-c", script)
		cmd.Args[0] = "/system/bin/sh"
		cmd.Dir = "/"
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/"}
		var o, e bytes.Buffer
		cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader([]byte("one two\nthree\n")), &o, &e
		code := 0
		if err := cmd.Run(); err != nil {
			ee, ok := err.(*exec.ExitError)
			if !ok {
				t.Fatalf("mksh %q: %v", script, err)
			}
			code = ee.ExitCode()
		}
		wantErr := mark.ReplaceAllString(e.String(), "")
		out, errOut, got := newPhone(t).run(context.Background(), script, "one two\nthree\n")
		if out != o.String() || errOut != wantErr || got != code {
			t.Errorf("%q\n ours stdout %q stderr %q status %d\n mksh stdout %q stderr %q status %d",
				script, out, errOut, got, o.String(), wantErr, code)
		}
	}
}
