package system

import (
	"fmt"

	"telltale.dev/devices/sim/shell"
)

// ExitException is what `cmd SERVICE ...` (and the tools that wrap it: am,
// pm, settings) exits with when the service's handler throws: the
// handler's result starts at -1 and stays there, which the shell sees as
// 255 (frameworks/base ShellCommand.exec on Android 10,
// modules-utils BasicShellCommandHandler.exec from Android 11 on).
const ExitException = 255

// Throwable is a Java exception as printStackTrace shows it: the class, the
// message and the frames below it ("com.android.Foo.bar(Foo.java)").
type Throwable struct {
	Class, Message string
	Frames         []string
}

// Throw prints what a service's shell command handler prints when onCommand
// throws t, as the firmware of API level sdk words it, and returns the
// exit status. verb is the command's first argument ("put", "start").
//
// Android 10's ShellCommand.exec gives a SecurityException its own header
// ("Security exception: MSG" and a blank line) and any other throwable a
// blank line and "Exception occurred while executing:"; Android 11's
// BasicShellCommandHandler prints a blank line and "Exception occurred
// while executing 'VERB':" for every throwable (the SettingsProvider
// refusal quoted in songhanghang/auto_set_proxy#1 and
// mosmetro-android#244, MIUI on Android 11 and 12). Everything goes to
// stderr. Frames carry no line numbers (modeled: they differ per build).
func Throw(sio shell.IO, sdk int, verb string, t Throwable) int {
	w := sio.Stderr
	switch {
	case sdk >= 30:
		fmt.Fprintf(w, "\nException occurred while executing '%s':\n", verb)
	case t.Class == "java.lang.SecurityException":
		fmt.Fprintf(w, "Security exception: %s\n\n", t.Message)
	default:
		fmt.Fprint(w, "\nException occurred while executing:\n")
	}
	t.print(sio)
	return ExitException
}

// print is Throwable.printStackTrace.
func (t Throwable) print(sio shell.IO) {
	fmt.Fprintf(sio.Stderr, "%s: %s\n", t.Class, t.Message)
	for _, f := range t.Frames {
		fmt.Fprintf(sio.Stderr, "\tat %s\n", f)
	}
}

// PrintStackTrace prints t as printStackTrace does, for tools that catch an
// exception themselves (app_process tools' BaseCommand.run).
func PrintStackTrace(sio shell.IO, t Throwable) { t.print(sio) }

// UnknownCommand is ShellCommand.handleDefaultCommands for a verb the
// service does not know: "Unknown command: VERB" on stdout, exit 255.
func UnknownCommand(sio shell.IO, verb string) int {
	fmt.Fprintf(sio.Stdout, "Unknown command: %s\n", verb)
	return ExitException
}
