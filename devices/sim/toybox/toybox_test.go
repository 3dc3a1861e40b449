package toybox_test

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	simclock "telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/toybox"
	"telltale.dev/devices/sim/vfs"
)

// newShell wires toybox as the phone does: applets over a file system with
// Android's layout, the shell's FS view, and a fixed clock.
func newShell(t testing.TB) (*shell.Shell, *vfs.FS) {
	t.Helper()
	clock := func() time.Time { return time.Date(2024, 3, 5, 14, 7, 9, 0, time.UTC) }
	fs := vfs.New("/system")
	fs.SetClock(clock)
	for _, d := range []string{"/sdcard", "/data/local/tmp"} {
		if err := fs.MkdirAll(d, 0o771, vfs.RootUID); err != nil {
			t.Fatal(err)
		}
		if err := fs.Chown(d, vfs.ShellUID, vfs.ShellUID, vfs.RootUID); err != nil {
			t.Fatal(err)
		}
	}
	sh := &shell.Shell{FS: toybox.Files(fs)}
	sh.Commands = toybox.Commands(fs, sh, toybox.System{Clock: stoppedClock{simclock.Real(), clock()}, Machine: "aarch64"})
	maps.Copy(sh.Commands, map[string]shell.Func{
		"su": func(ctx context.Context, sio shell.IO, args []string) int {
			return sh.Run(shell.WithUID(ctx, vfs.RootUID), strings.Join(args[2:], " "), sio)
		},
	})
	return sh, fs
}

func run(t testing.TB, sh *shell.Shell, script, stdin string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var o, e strings.Builder
	code := sh.Run(ctx, script, shell.IO{Stdin: strings.NewReader(stdin), Stdout: &o, Stderr: &e})
	return o.String(), e.String(), code
}

const lines = "b 2\na 10\nc 1\na 10\n"

// TestApplets checks each applet's output and errors as toybox prints them.
func TestApplets(t *testing.T) {
	cases := []struct {
		script, stdin, out, err string
		code                    int
	}{
		{"head -n 2", lines, "b 2\na 10\n", "", 0},
		{"head -1", lines, "b 2\n", "", 0},
		{"head -c 3", lines, "b 2", "", 0},
		{"tail -n 1", lines, "a 10\n", "", 0},
		{"tail -n +3", lines, "c 1\na 10\n", "", 0},
		{"tail -2", lines, "c 1\na 10\n", "", 0},
		{"wc -l", lines, "4\n", "", 0},
		{"wc", lines, "4 8 18\n", "", 0},
		{"printf 'x y\\n' > /sdcard/w; wc -w /sdcard/w /sdcard/w", "", "2 /sdcard/w\n2 /sdcard/w\n4 total\n", "", 0},
		{"cut -d' ' -f2", lines, "2\n10\n1\n10\n", "", 0},
		{"cut -c1-2", "hello\n", "he\n", "", 0},
		{"tr a-z A-Z", "abc\n", "ABC\n", "", 0},
		{"tr -d '0-9\\n'", lines, "b a c a ", "", 0},
		{"tr -s ' '", "a   b\n", "a b\n", "", 0},
		{"sort", lines, "a 10\na 10\nb 2\nc 1\n", "", 0},
		{"sort -u", lines, "a 10\nb 2\nc 1\n", "", 0},
		{"sort -n -k2", lines, "c 1\nb 2\na 10\na 10\n", "", 0},
		{"sort -r", lines, "c 1\nb 2\na 10\na 10\n", "", 0},
		{"sort | uniq -c", lines, "      2 a 10\n      1 b 2\n      1 c 1\n", "", 0},
		{"uniq -d", "a\na\nb\n", "a\n", "", 0},
		{"sed 's/a/X/g'", "banana\n", "bXnXnX\n", "", 0},
		{"sed -n '2p'", lines, "a 10\n", "", 0},
		{"sed '1d;$d'", lines, "a 10\nc 1\n", "", 0},
		{`sed 's/\(.\) \(.*\)/\2:\1/'`, "b 2\n", "2:b\n", "", 0},
		{"sed -E 's/([a-z]+)/<&>/'", "ab cd\n", "<ab> cd\n", "", 0},
		{"sed -n '/c/,$p'", lines, "c 1\na 10\n", "", 0},
		{"sed 3q", lines, "b 2\na 10\nc 1\n", "", 0},
		{"printf 'a\\nb\\n' > /sdcard/s; sed -i 's/a/z/' /sdcard/s; cat /sdcard/s", "", "z\nb\n", "", 0},
		{"sed 'y/a/b/'", "a\n", "", "sed: bad command 'y'\n", 1},
		{"grep a", lines, "a 10\na 10\n", "", 0},
		{"grep -c a", lines, "2\n", "", 0},
		{"grep -v a", lines, "b 2\nc 1\n", "", 0},
		{"grep -n '^c'", lines, "3:c 1\n", "", 0},
		{"grep -E '1|2'", lines, "b 2\na 10\nc 1\na 10\n", "", 0},
		{"grep -q zzz", lines, "", "", 1},
		{"grep -o '[0-9][0-9]*'", "a1b22\n", "1\n22\n", "", 0},
		{"grep x /sdcard/none", "", "", "grep: /sdcard/none: No such file or directory\n", 2},
		{"grep -i B", lines, "b 2\n", "", 0},
		{"grep -w a", "a\nab\n", "a\n", "", 0},
		{"seq 3", "", "1\n2\n3\n", "", 0},
		{"seq -s , 2 2 6", "", "2,4,6\n", "", 0},
		{"seq 5 -2 1", "", "5\n3\n1\n", "", 0},
		{"echo hi | base64", "", "aGkK\n", "", 0},
		{"echo aGkK | base64 -d", "", "hi\n", "", 0},
		{"echo -n abc | md5sum", "", "900150983cd24fb0d6963f7d28e17f72  -\n", "", 0},
		{"echo -n abc | sha1sum", "", "a9993e364706816aba3e25717850c26c9cd0d89d  -\n", "", 0},
		{"echo -n abc | sha256sum", "", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  -\n", "", 0},
		{"echo 'a b c' | xargs -n 2 echo", "", "a b\nc\n", "", 0},
		{"echo /sdcard | xargs ls -d", "", "/sdcard\n", "", 0},
		{"echo x | xargs nosuch", "", "", "/system/bin/sh: nosuch: inaccessible or not found\n", 127},
		{"basename /a/b.txt .txt; dirname /a/b.txt", "", "b\n/a\n", "", 0},
		{"date", "", "Tue Mar  5 14:07:09 UTC 2024\n", "", 0},
		{"date +%Y-%m-%dT%H:%M:%S%z", "", "2024-03-05T14:07:09+0000\n", "", 0},
		{"date -d @0 +%s:%Y", "", "0:1970\n", "", 0},
		{"date -d @0 +%a%t%b%n%j%%%q", "", "Thu\tJan\n001%%q\n", "", 0},
		{"uname; uname -m; uname -a", "", "Linux\naarch64\nLinux localhost 4.14.186-perf+ #1 SMP PREEMPT Wed Jan 13 00:00:00 CST 2021 aarch64 Toybox\n", "", 0},
		{"id -u; id -un; whoami; su -c id", "", "2000\nshell\nshell\nuid=0(root) gid=0(root) groups=0(root) context=u:r:su:s0\n", "", 0},
		{"which ls su nosuch", "", "/system/bin/ls\n/system/bin/su\n", "", 1},
		{"env -i A=1 env", "", "A=1\n", "", 0},
		{"true; echo $?; false; echo $?", "", "0\n1\n", "", 0},
		{"toybox ls -d /sdcard; toybox nosuch", "", "/sdcard\n", "toybox: Unknown command nosuch (see \"toybox --help\")\n", 1},
		{"/system/bin/[ -d /sdcard ] && toybox test -e /sdcard && echo ok", "", "ok\n", "", 0},
		{"mkdir /sdcard/a/b", "", "", "mkdir: '/sdcard/a/b': No such file or directory\n", 1},
		{"mkdir -p /sdcard/a/b && ls /sdcard/a", "", "b\n", "", 0},
		{"mkdir /system/x", "", "", "mkdir: '/system/x': Read-only file system\n", 1},
		{"mkdir /data/x", "", "", "mkdir: '/data/x': Permission denied\n", 1},
		{"ls /nonexist", "", "", "ls: /nonexist: No such file or directory\n", 1},
		{"touch /sdcard/f && ls -l /sdcard", "", "-rw-r--r-- 1 shell  shell         0 2024-03-05 14:07 f\n", "", 0},
		{"mkdir -p /sdcard/d/e && touch /sdcard/d/e/f && cp -r /sdcard/d /sdcard/c && find /sdcard/c", "",
			"/sdcard/c\n/sdcard/c/e\n/sdcard/c/e/f\n", "", 0},
		{"mkdir /sdcard/d && cp /sdcard/d /sdcard/e", "", "", "cp: /sdcard/d: Is a directory (use -r)\n", 1},
		{"touch /sdcard/m && mv /sdcard/m /sdcard/n && ls /sdcard", "", "n\n", "", 0},
		{"mkdir /sdcard/d && rm /sdcard/d", "", "", "rm: /sdcard/d: Is a directory\n", 1},
		{"rm /sdcard/none; rm -f /sdcard/none; echo $?", "", "0\n", "rm: /sdcard/none: No such file or directory\n", 0},
		{"touch /sdcard/x && chmod u+x,go-r /sdcard/x && stat -c %a /sdcard/x", "", "700\n", "", 0},
		{"touch /sdcard/x && chmod 640 /sdcard/x && stat -c '%A %U %G' /sdcard/x", "", "-rw-r-----    shell    shell\n", "", 0},
		{"touch /sdcard/x && chown root /sdcard/x", "", "", "chown: /sdcard/x: Operation not permitted\n", 1},
		{"echo t > /sdcard/t && ln -s /sdcard/t /sdcard/l && readlink /sdcard/l && cat /sdcard/l && ls -l /sdcard/l", "",
			"/sdcard/t\nt\nlrwxrwxrwx 1 shell  shell         9 2024-03-05 14:07 /sdcard/l -> /sdcard/t\n", "", 0},
		{"ln /sdcard/t /sdcard/h", "", "", "ln: cannot link '/sdcard/h' to '/sdcard/t': Invalid cross-device link\n", 1},
		{"stat -c '%n %s %F' /sdcard", "", "/sdcard 4096 directory\n", "", 0},
		{"find /sdcard -type d -maxdepth 0", "", "/sdcard\n", "", 0},
		{"df /data", "", "Filesystem      1K-blocks     Used Available Use% Mounted on\n/dev/block/dm-5  52656780  9854320  42671004  19% /data\n", "", 0},
		{"mount -t tmpfs tmpfs /sdcard", "", "", "mount: permission denied (are you root?)\n", 1},
		{"su -c 'mount -t tmpfs tmpfs /system' && touch /system/x && ls /system", "", "", "touch: '/system/x': Permission denied\n", 1},
		{"su -c 'mount -t tmpfs tmpfs /system; touch /system/x; umount /system'; ls /system", "", "", "", 0},
		{"pidof zygote64 system_server; pidof nothing", "", "611 1021\n", "", 1},
		{"cat /dev/null; echo x > /dev/null; echo $?", "", "0\n", "", 0},
		{"printf '%5s|%-3d|%x|%c|%%\\n' ab 7 255 zed", "", "   ab|7  |ff|z|%\n", "", 0},
		{"printf '%d\\n' nan", "", "0\n", "printf: invalid number 'nan'\n", 1},
		{"echo -e 'a\\tb'; /system/bin/echo 'a\\tb'", "", "a\tb\na\\tb\n", "", 0},
		{"sleep 0.01 && sleep 1x", "", "", "sleep: bad time '1x'\n", 1},
		{"ls -z", "", "", "ls: Unknown option 'z' (see \"ls --help\")\n", 1},
	}
	for _, c := range cases {
		t.Run(c.script, func(t *testing.T) {
			sh, _ := newShell(t)
			out, errOut, code := run(t, sh, c.script, c.stdin)
			if out != c.out || errOut != c.err || code != c.code {
				t.Errorf("\n got stdout %q stderr %q status %d\nwant stdout %q stderr %q status %d", out, errOut, code, c.out, c.err, c.code)
			}
		})
	}
}

// stoppedClock shows one fixed time (date, stat) and waits in real time
// (sleep), so outputs are stable and nothing hangs.
type stoppedClock struct {
	simclock.Clock
	at time.Time
}

func (c stoppedClock) Now() time.Time { return c.at }
