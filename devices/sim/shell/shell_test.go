package shell_test

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/vfs"
)

// TestScripts runs scripts as `adb shell` hands them to the phone and
// checks what mksh with toybox prints for them on Android.
func TestScripts(t *testing.T) {
	cases := []struct {
		name, script, stdin string
		out, err            string
		code                int
	}{
		{"loop piped to tail", "for i in 1 2 3; do echo $((i*2)); done | tail -n 1", "", "6\n", "", 0},
		{"adb logcat wrapper", `export ANDROID_LOG_TAGS="''" ; exec logcat -d`, "",
			"--------- beginning of main\nI/test: tags='' args=-d\n", "", 0},
		{"exec ends the script", "exec echo one; echo two", "", "one\n", "", 0},
		{"write then read", "echo a > /sdcard/x; cat /sdcard/x", "", "a\n", "", 0},
		{"append and input redirect", "echo a > /sdcard/y; echo b >> /sdcard/y; wc -l < /sdcard/y", "", "2\n", "", 0},
		{"stderr to null", "ls /nonexist 2>/dev/null; echo $?", "", "1\n", "", 0},
		{"stderr into the pipe", "ls /nonexist 2>&1 | tr a-z A-Z", "", "LS: /NONEXIST: NO SUCH FILE OR DIRECTORY\n", "", 0},
		{"stdout to null", "echo hidden >/dev/null", "", "", "", 0},
		{"quoting", `echo 'a  b' "c $((1+1))" d\ e '$HOME'`, "", "a  b c 2 d e $HOME\n", "", 0},
		{"command substitution", "echo /proc/$(echo 612)/ns \"x $(echo a | tr a A) y\" `echo bq`", "", "/proc/612/ns x A y bq\n", "", 0},
		{"and or", "false && echo no; false || echo yes; true && echo t", "", "yes\nt\n", "", 0},
		{"if elif else", "if [ 1 -gt 2 ]; then echo a; elif [ -d /sdcard ]; then echo b; else echo c; fi", "", "b\n", "", 0},
		{"while with arithmetic", "i=0; while [ $i -lt 3 ]; do i=$((i+1)); done; echo $i", "", "3\n", "", 0},
		{"case", "case abc in a*) echo A;; *) echo B;; esac", "", "A\n", "", 0},
		{"function and return", "f() { echo \"in $1\"; return 3; }; f x; echo $?", "", "in x\n3\n", "", 0},
		{"read from stdin", "read a b; echo \"[$b][$a]\"", "one two\n", "[two][one]\n", "", 0},
		{"cd and pwd", "cd /sdcard && pwd && echo hi > f && ls", "", "/sdcard\nf\n", "", 0},
		{"cd into nothing", "cd /nonexist; echo $?", "", "2\n", "/system/bin/sh: cd: /nonexist: No such file or directory\n", 0},
		{"set -e stops", "set -e; false; echo no", "", "", "", 1},
		{"exit status", "echo a; exit 3; echo b", "", "a\n", "", 3},
		{"exit wraps", "exit 256", "", "", "", 0},
		{"nested sh -c exits itself", "sh -c 'exit 4' || echo inner-only", "", "inner-only\n", "", 0},
		{"sh -c names", "sh -c 'echo $0 $1' a b", "", "a b\n", "", 0},
		{"glob through the phone", "touch /sdcard/a.0 /sdcard/b.0 && echo /sdcard/*.0 /sdcard/*.none", "", "/sdcard/a.0 /sdcard/b.0 /sdcard/*.none\n", "", 0},
		{"quoted glob stays", "echo '/sdcard/*'", "", "/sdcard/*\n", "", 0},
		{"test and [", "test -d /sdcard && [ ! -e /sdcard/none ] && echo ok", "", "ok\n", "", 0},
		{"unknown command", "nosuch arg; echo $?", "", "127\n", "/system/bin/sh: nosuch: inaccessible or not found\n", 0},
		{"unknown command exits 127", "nosuch", "", "", "/system/bin/sh: nosuch: inaccessible or not found\n", 127},
		{"full path to a command", "/system/bin/echo hi", "", "hi\n", "", 0},
		{"path outside PATH", "/bin/echo hi", "", "", "/system/bin/sh: /bin/echo: inaccessible or not found\n", 127},
		{"redirect into a missing dir", "echo a > /nonexist/x", "", "", "/system/bin/sh: /nonexist/x: create: No such file or directory\n", 1},
		{"redirect onto read-only system", "echo a > /system/x", "", "", "/system/bin/sh: /system/x: create: Read-only file system\n", 1},
		{"input from a missing file", "cat < /nonexist", "", "", "/system/bin/sh: /nonexist: open: No such file or directory\n", 1},
		{"unclosed quote", "echo 'x", "", "", "/system/bin/sh: no closing quote\n", 1},
		{"unexpected token", "echo a; fi", "", "", "/system/bin/sh: syntax error: unexpected 'fi'\n", 1},
		{"runs lines before the error", "echo a\nif", "", "a\n", "/system/bin/sh: syntax error: unmatched 'if'\n", 1},
		{"dangling operator", "a | | b", "", "", "/system/bin/sh: syntax error: unexpected '|'\n", 1},
		{"command -v", "command -v ls echo nosuch; echo $?", "", "/system/bin/ls\necho\n1\n", "", 0},
		{"type", "f() { :; }; type ls echo f if nosuch", "", "ls is a tracked alias for /system/bin/ls\necho is a shell builtin\nf is a function\nif is a reserved word\nnosuch not found\n", "", 1},
		{"which", "which ls sh nosuch; echo $?", "", "/system/bin/ls\n/system/bin/sh\n1\n", "", 0},
		{"mksh echo expands escapes", `echo 'a\tb'`, "", "a\tb\n", "", 0},
		{"printf is toybox's", `printf '%s-%d\n' a 5 b 6`, "", "a-5\nb-6\n", "", 0},
		{"environment", "echo $HOME $TMPDIR $SHELL $USER; echo $0", "", "/ /data/local/tmp /system/bin/sh shell\n/system/bin/sh\n", "", 0},
		{"exported to commands", "A=1; export B=2; env | grep -e ^A= -e ^B=", "", "B=2\n", "", 0},
		{"no host uid", `echo "[$UID][$EUID]"; [ "$PPID" = 540 ] && echo adbd-child`, "", "[][]\nadbd-child\n", "", 0},
		{"su runs as root", "id -u; su -c id -u; su -c 'echo r > /sdcard/r'; stat -c %U /sdcard/r", "", "2000\n0\n    root\n", "", 0},
		{"shell may not write root's files", "su -c 'echo r > /data/local/tmp/r; chmod 644 /data/local/tmp/r'; echo s >> /data/local/tmp/r",
			"", "", "/system/bin/sh: /data/local/tmp/r: create: Permission denied\n", 1},
		{"background job finishes", "echo bg & wait; echo fg", "", "bg\nfg\n", "", 0},
		{"runaway recursion stops the script", "f() { f; }; f; echo after", "", "", "/system/bin/sh: f: recursion too deep\n", 1},
		{"pipeline status is the last", "false | true; echo $?; true | false; echo $?", "", "0\n1\n", "", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, code := newPhone(t).run(ctxFor(t), c.script, c.stdin)
			if out != c.out || errOut != c.err || code != c.code {
				t.Errorf("%s\n got stdout %q stderr %q status %d\nwant stdout %q stderr %q status %d",
					c.script, out, errOut, code, c.out, c.err, c.code)
			}
		})
	}
}

// TestHostIsInvisible shows the interpreter never reaches the host: files
// that exist on the machine running the test are not there for the phone,
// and what the phone writes does not land on the host.
func TestHostIsInvisible(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("host data\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := newPhone(t)
	if err := p.fs.MkdirAll(dir, 0o777, vfs.RootUID); err != nil { // the same path, on the phone
		t.Fatal(err)
	}
	for _, script := range []string{
		"cat " + secret, "cat < " + secret, ". " + secret, "[ -e " + secret + " ]", "cd /etc",
		"command -v /bin/sh", "type /bin/ls", "/bin/ls /", "ls /etc", "sh " + secret, "cat /proc/self/environ",
	} {
		out, errOut, code := p.run(ctxFor(t), script, "")
		if code == 0 || strings.Contains(out+errOut, "host data") {
			t.Errorf("%q reached the host: stdout %q stderr %q status %d", script, out, errOut, code)
		}
	}
	if out, _, _ := p.run(ctxFor(t), "echo "+dir+"/sec*", ""); out != dir+"/sec*\n" {
		t.Errorf("a glob matched the host's files: %q", out)
	}
	p.run(ctxFor(t), "echo phone > "+filepath.Join(dir, "written"), "")
	if _, err := os.Stat(filepath.Join(dir, "written")); !os.IsNotExist(err) {
		t.Errorf("a redirect wrote the host's file system: %v", err)
	}
	if got, err := p.fs.ReadFile(filepath.Join(dir, "written")); err != nil || string(got) != "phone\n" {
		t.Errorf("the redirect should land on the phone: %q %v", got, err)
	}
}

// TestStdinScript is adb's `shell:` with no command: a script arrives on
// stdin and runs line by line, each line before the next is read.
func TestStdinScript(t *testing.T) {
	p := newPhone(t)
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	var errOut strings.Builder
	done := make(chan int, 1)
	go func() {
		done <- p.sh.Exec(ctxFor(t), shell.IO{Stdin: inR, Stdout: outW, Stderr: &errOut}, []string{"sh"})
		outW.Close()
	}()
	lines := bufio.NewReader(outR)
	io.WriteString(inW, "echo first\n")
	// The answer to the first line comes while the shell still waits for
	// the second: it was run as soon as it was read.
	if got, err := lines.ReadString('\n'); got != "first\n" || err != nil {
		t.Fatalf("first line: %q %v", got, err)
	}
	io.WriteString(inW, "nosuch\nif true\nthen echo in-if\nfi\nexit 4\necho never\n")
	if got, err := lines.ReadString('\n'); got != "in-if\n" || err != nil {
		t.Fatalf("after the if: %q %v", got, err)
	}
	if code := <-done; code != 4 {
		t.Errorf("status %d, want 4 from exit", code)
	}
	if want := "/system/bin/sh: <stdin>[2]: nosuch: inaccessible or not found\n"; errOut.String() != want {
		t.Errorf("stderr %q, want %q", errOut.String(), want)
	}
	inW.Close()
}

// TestCancelStopsScripts: the session's end kills a running command and a
// shell waiting for input.
func TestCancelStopsScripts(t *testing.T) {
	p := newPhone(t)
	for _, c := range []struct {
		name  string
		args  []string
		stdin io.Reader
	}{
		{"sleep", []string{"sh", "-c", "echo started; sleep 100; echo after"}, strings.NewReader("")},
		{"busy loop", []string{"sh", "-c", "echo started; while :; do :; done"}, strings.NewReader("")},
		{"waiting for input", []string{"sh"}, io.MultiReader(strings.NewReader("echo started\n"), idle(t))},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(ctxFor(t))
			outR, outW := io.Pipe()
			done := make(chan int, 1)
			go func() {
				done <- p.sh.Exec(ctx, shell.IO{Stdin: c.stdin, Stdout: outW, Stderr: io.Discard}, c.args)
				outW.Close()
			}()
			if got, _ := bufio.NewReader(outR).ReadString('\n'); got != "started\n" {
				t.Fatalf("script did not start: %q", got)
			}
			cancel()
			go io.Copy(io.Discard, outR)
			select {
			case code := <-done:
				if code != 130 {
					t.Errorf("status %d, want 130", code)
				}
			case <-ctxFor(t).Done():
				t.Fatal("the script outlived its context")
			}
		})
	}
}

// idle is an adb stdin that delivers nothing until the test ends.
func idle(t *testing.T) io.Reader {
	r, w := io.Pipe()
	t.Cleanup(func() { w.Close() })
	return r
}
