package ui

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"telltale.dev/devices/adb"
)

// Key codes by name, as `input keyevent` takes them (AOSP KeyEvent.java).
const (
	KeyHome   = "KEYCODE_HOME"   // 3
	KeyBack   = "KEYCODE_BACK"   // 4
	KeyEnter  = "KEYCODE_ENTER"  // 66
	KeyDel    = "KEYCODE_DEL"    // 67, backspace
	KeyMenu   = "KEYCODE_MENU"   // 82
	KeyPower  = "KEYCODE_POWER"  // 26, toggles the screen
	KeySleep  = "KEYCODE_SLEEP"  // 223, screen off whatever its state
	KeyWakeup = "KEYCODE_WAKEUP" // 224, screen on; the keyguard stays up
)

var keyForm = regexp.MustCompile(`^(KEYCODE_[A-Z0-9_]+|[0-9]+)$`)

// ErrUntypeable is returned for text `input text` cannot type.
var ErrUntypeable = errors.New("input text cannot type this")

// typeCommand builds the shell line that types text with `input text`.
//
// AOSP's Input.sendText (cmds/input, kept by Android 10's InputShellCommand)
// takes exactly one argument, turns "%s" into a space, and maps every
// character through the virtual keyboard's KeyCharacterMap, which has no
// keys for anything outside printable ASCII: such text is refused here with
// a clear error instead of being half typed. The phone's sh parses the line
// first, so the argument is single-quoted (spaces, & | ; < > ( ) $ ` \ " ' *
// ? # ~ arrive as typed). A literal "%s" has no escape in sendText, so the
// text is split between the '%' and the 's' into several `input text` calls.
func typeCommand(text string) (string, error) {
	for i, r := range text {
		if r < 0x20 || r > 0x7e {
			hint := "only printable ASCII can be typed with `input text`"
			if r == '\n' || r == '\r' {
				hint = "type the lines separately and press KeyEnter between them"
			}
			return "", fmt.Errorf("%w: %q at offset %d in %q: %s", ErrUntypeable, r, i, text, hint)
		}
	}
	var cmds []string
	for chunk := range strings.SplitSeq(strings.ReplaceAll(text, "%s", "%\x00s"), "\x00") {
		if chunk == "" {
			continue
		}
		cmds = append(cmds, "input text "+adb.Quote(strings.ReplaceAll(chunk, " ", "%s")))
	}
	return strings.Join(cmds, " && "), nil
}
