// Package actions does the user actions a scenario asks for on a prepared
// session, the way the device's profile says, each inside a marked window of
// the proxy's flow log (harness/attribution), and returns what was
// attributed to it.
//
// Each action is done the way a person does it, in the app that reports
// it: the browser's menu and address bar, the Settings app, the file
// manager's dialogs, MIUI's install dialog, through the profile's UI flows
// (telltale.dev/harness/flows); shell commands only where they are what a
// person would use (am start -W for a launcher activity, the battery and
// Wi-Fi test commands). Every command's output is read, since Android's
// tools print errors and exit 0.
package actions

import (
	"context"

	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/attribution"
	"telltale.dev/harness/session"
)

// Result is one action's window and what was attributed to it.
type Result = attribution.Result

// window runs do inside a new window of the session's log: see
// attribution.Tracker.Run.
func window(ctx context.Context, s *session.Session, action string, cs []canary.Canary, do func(context.Context) error) (*Result, error) {
	return attribution.For(s).Run(ctx, action, cs, do)
}

// Baseline records the session's idle window once: the flows of one settle
// window with no action, which every later Diff is taken against.
func Baseline(ctx context.Context, s *session.Session) (*Result, error) {
	return attribution.For(s).Baseline(ctx, s.Settle())
}
