package ui

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// sendText decodes an `input text` argument the way AOSP's Input.sendText
// does: "%s" becomes a space, and nothing else is an escape.
func sendText(arg string) string {
	return strings.ReplaceAll(arg, "%s", " ")
}

// TestTypeCommandThroughARealShell runs the typing command through the
// host's POSIX sh with `input` defined as a function that records its
// arguments, then decodes them as Input.sendText would: each call must get
// exactly one argument and the phone must end up with the text as given.
func TestTypeCommandThroughARealShell(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{
		"hello",
		"two words and  double  spaces ",
		`a&b|c;d<e>f(g)h$i` + "`j`" + `\k"l'm*n?o#p~q`,
		"$(reboot)",
		"'; reboot; echo '",
		"100%sure",
		"%s%s at start and end%s",
		"50% off",
		"-5",
		"a%",
	} {
		cmd, err := typeCommand(text)
		if err != nil {
			t.Fatalf("typeCommand(%q): %v", text, err)
		}
		script := `input() { [ "$1" = text ] || exit 3; [ $# -eq 2 ] || { echo "got $# arguments" >&2; exit 4; }; printf '%s\n' "$2" >> "$OUT"; }` + "\n" + cmd
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c := exec.CommandContext(ctx, sh, "-c", script)
		dir := t.TempDir()
		c.Env = []string{"OUT=" + dir + "/typed"}
		out, err := c.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("%q: sh ran %q: %v: %s", text, cmd, err, out)
		}
		args, err := exec.Command("cat", dir+"/typed").Output()
		if err != nil {
			t.Fatal(err)
		}
		var typed strings.Builder
		for _, a := range strings.Split(strings.TrimSuffix(string(args), "\n"), "\n") {
			typed.WriteString(sendText(a))
		}
		if typed.String() != text {
			t.Errorf("typing %q through %q gave %q", text, cmd, typed.String())
		}
	}
}

func TestTypeCommandRefusesWhatInputCannotType(t *testing.T) {
	for _, text := range []string{"设置", "café", "line\nbreak", "tab\there", "emoji 😀"} {
		_, err := typeCommand(text)
		if !errors.Is(err, ErrUntypeable) {
			t.Errorf("typeCommand(%q) = %v, want ErrUntypeable", text, err)
		}
	}
	_, err := typeCommand("line\nbreak")
	if err == nil || !strings.Contains(err.Error(), "KeyEnter") {
		t.Errorf("a newline's error %v should point at KeyEnter", err)
	}
	if cmd, err := typeCommand(""); err != nil || cmd != "" {
		t.Errorf("empty text: %q %v, want nothing to run", cmd, err)
	}
}
