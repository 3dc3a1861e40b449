package actions

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"telltale.dev/devices/adb"
	"telltale.dev/devices/profiles"
	"telltale.dev/harness/flows"
	"telltale.dev/harness/session"
	"telltale.dev/harness/ui"
)

// AccessPoint is the test rig's Wi-Fi access point: it starts and stops
// broadcasting a network, so the phone can join one named by a canary. The
// simulated phone's environment is one (devices/sim/rig); for real phones
// the framework runs a user's command (--ap-hook).
type AccessPoint interface {
	Add(ctx context.Context, ssid string) error
	Remove(ctx context.Context, ssid string) error
}

// Options are what the actions of one session need besides the session.
type Options struct {
	// Log gets one line per UI step the actions take.
	Log io.Writer
	// AccessPoint is the rig's access point; nil fails connect-wifi with
	// what to set up.
	AccessPoint AccessPoint
}

// phone is a session's screen: its UI driver, its profile's flows for its
// firmware, and what the actions learned of it (the in-app switches).
type phone struct {
	s    *session.Session
	ui   *ui.Driver
	run  *flows.Runner
	opts Options

	mu       sync.Mutex
	switches map[string]bool
}

var (
	phonesMu sync.Mutex
	phones   = map[*session.Session]*phone{}
)

// Attach sets the options of s's actions (the framework does, with the
// run's log and access point); without it they log nothing and have no
// access point.
func Attach(s *session.Session, opts Options) {
	p := phoneOf(s)
	p.mu.Lock()
	p.opts = opts
	p.mu.Unlock()
	if opts.Log != nil {
		p.run.Log = opts.Log
	}
}

// UI is the driver of s's screen, shared by its actions.
func UI(s *session.Session) *ui.Driver { return phoneOf(s).ui }

// phoneOf returns s's phone, made on first use. Sessions that ended are
// dropped, so the map does not grow over a long run.
func phoneOf(s *session.Session) *phone {
	phonesMu.Lock()
	defer phonesMu.Unlock()
	for old := range phones {
		if old.Lost() != nil {
			delete(phones, old)
		}
	}
	if p := phones[s]; p != nil {
		return p
	}
	l := s.Lease()
	srv, _ := adb.ParseServer(l.Server) // the session was opened on it
	drv := ui.New(adb.New(srv).Device(l.Serial), ui.Options{})
	globals := map[string]string{"browser": s.Profile().Actions.Browser.Component}
	p := &phone{s: s, ui: drv, switches: map[string]bool{}}
	p.run = flows.New(flows.Phone{UI: drv, Shell: s.Shell, Lost: s.Lost}, s.Profile().FlowsFor(s.Firmware()), globals)
	phones[s] = p
	return p
}

// bound returns ctx ended with the session's loss, so a flow stops at once
// when the phone drops off its adb server rather than at a call deadline.
func bound(ctx context.Context, s *session.Session) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	go func() {
		// Wait returns when ctx ends (the action is over) or the phone is lost.
		if err := s.Wait(ctx, 24*time.Hour); err != nil && s.Lost() != nil {
			cancel(s.Lost())
		}
	}()
	return ctx, func() { cancel(context.Canceled) }
}

// flow runs one of the profile's flows, naming a lost phone as such.
func (p *phone) flow(ctx context.Context, name string, params map[string]string) error {
	if !p.run.Has(name) {
		return fmt.Errorf("profile %s firmware %s has no flow %q: add one to its flows (devices/profiles/flows/ has examples)",
			p.s.Profile().Name, p.s.Firmware().Version, name)
	}
	ctx, cancel := bound(ctx, p.s)
	defer cancel()
	return p.lost(p.run.Run(ctx, name, params))
}

// lost turns an error on a phone that dropped off into
// session.ErrDeviceLost. The session's watcher may not have seen the loss
// yet: one command through the session asks the adb server.
func (p *phone) lost(err error) error {
	if err == nil || errors.Is(err, session.ErrDeviceLost) {
		return err
	}
	if p.s.Lost() == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, _ = p.s.Shell(ctx, "true")
		cancel()
	}
	if l := p.s.Lost(); l != nil {
		return fmt.Errorf("%w (while: %v)", l, err)
	}
	return err
}

// ready makes the screen usable, as it was when the run began (the doctor
// checked): an earlier action, or the phone's own sleep timeout, may have
// turned it off.
func (p *phone) ready(ctx context.Context) error {
	ctx, cancel := bound(ctx, p.s)
	defer cancel()
	return p.lost(flows.Ready(ctx, flows.Phone{UI: p.ui, Shell: p.s.Shell}))
}

// until asks done every pause until it holds, for at most limit.
func (p *phone) until(ctx context.Context, limit time.Duration, what string, done func() (bool, error)) error {
	deadline := time.Now().Add(limit)
	for {
		ok, err := done()
		if err != nil || ok {
			return p.lost(err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("waited %s for %s", limit, what)
		}
		if err := p.s.Wait(ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
}

// shellOK runs a command whose output says whether it worked: Android's
// tools print "Error:" or an exception and may still exit 0.
func (p *phone) shellOK(ctx context.Context, cmd string, args ...string) (string, error) {
	out, err := p.s.Shell(ctx, cmd, args...)
	if err != nil {
		return out, err
	}
	for line := range strings.Lines(out) {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "Error") || strings.Contains(t, "Exception") || strings.HasPrefix(t, "Failure") {
			return out, fmt.Errorf("%s %s: %s", cmd, strings.Join(args, " "), t)
		}
	}
	return out, nil
}

func (p *phone) sdk() int { return p.s.SDK() }

func (p *phone) profile() *profiles.Profile { return p.s.Profile() }
