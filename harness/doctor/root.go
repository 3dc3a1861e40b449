package doctor

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// magiskActivity is Magisk's superuser prompt (topjohnwu/Magisk
// ui/surequest/SuRequestActivity.kt), which `dumpsys window` names as the
// focused window while it shows.
const magiskActivity = "SuRequestActivity"

// root finds how the phone runs commands as root, the way HTTP Toolkit does
// (several su forms, each checked by its uid): adbd already root, Magisk's
// `su -c CMD`, or AOSP's `su 0 CMD`. It watches the screen while su runs,
// since Magisk asks a person the first time the shell wants root.
func (d *doctor) root(ctx context.Context) (Check, bool) {
	if out, _, err := d.shell(ctx, "id -u"); err == nil && out == "0" {
		d.r.Root = "adb root"
		return Check{Status: OK, Found: "adbd runs as root"}, true
	}
	userdebug := d.props["ro.debuggable"] == "1" && d.props["ro.build.type"] != "user"
	prompted := false
	for _, form := range []string{"su -c", "su 0"} {
		res := d.trySu(ctx, form)
		prompted = prompted || res.prompted
		switch {
		case res.uid0 && res.prompted:
			d.r.Root = form
			return Check{Status: Warn, Found: fmt.Sprintf("%s, after Magisk asked on the screen", form),
				Fix: "in Magisk > Superuser, set Shell to allowed (Forever), or the prompt stops each run until someone taps Grant"}, true
		case res.uid0:
			d.r.Root = form
			return Check{Status: OK, Found: form + " gives uid 0"}, true
		case res.prompted:
			return Check{Status: Fail, Found: fmt.Sprintf("Magisk asked for Shell's superuser access and it was denied (%s)", res.said),
				Fix: "tap Grant in Magisk's \"Superuser Request\" dialog with Forever selected (run `telltale doctor` again to see it), " +
					"or allow Shell in Magisk > Superuser; a phone meant to run without root: remove su from it"}, true
		}
	}
	if userdebug {
		d.r.Root = "adb root"
		return Check{Status: OK, Found: "no su, but a userdebug build: the run restarts adbd as root (adb root)"}, true
	}
	return Check{Status: Warn, Found: "no root (su: not found; a production build refuses adb root)",
		Fix: "fine for a stock phone: the run uses the user CA store; for full capture root it with Magisk"}, true
}

type suResult struct {
	uid0, prompted bool
	said           string
}

// trySu runs `FORM id -u` while looking at the focused window every half
// second: a Magisk prompt is reported (and a person given SuWait to answer
// it) rather than mistaken for a hang.
func (d *doctor) trySu(ctx context.Context, form string) suResult {
	type out struct {
		text string
		code int
		err  error
	}
	done := make(chan out, 1)
	sctx, cancel := context.WithTimeout(ctx, d.opts.SuWait)
	defer cancel()
	go func() {
		r, err := d.dev.Shell(sctx, form+" id -u")
		if err != nil {
			done <- out{err: err}
			return
		}
		done <- out{text: strings.TrimSpace(string(r.Stdout)), code: r.ExitCode}
	}()
	var res suResult
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case o := <-done:
			res.uid0 = o.err == nil && o.code == 0 && o.text == "0"
			res.said = firstLine(o.text)
			if o.err != nil {
				res.said = o.err.Error()
			}
			return res
		case <-tick.C:
			if res.prompted {
				continue
			}
			w, _, err := d.shell(sctx, "dumpsys window")
			if err == nil && strings.Contains(focusLine(w), magiskActivity) {
				res.prompted = true
				fmt.Fprintf(d.opts.Progress, "Magisk asks on %s for Shell's superuser access: select Forever and tap Grant (waiting %s)\n",
					d.r.Serial, d.opts.SuWait)
			}
		}
	}
}

// focusLine is the mCurrentFocus line of `dumpsys window`.
func focusLine(out string) string {
	for line := range strings.Lines(out) {
		if strings.Contains(line, "mCurrentFocus=") {
			return line
		}
	}
	return ""
}
