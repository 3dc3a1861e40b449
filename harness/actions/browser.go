package actions

import (
	"context"
	"fmt"

	"telltale.dev/devices/profiles"
	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/journal"
	"telltale.dev/harness/session"
)

// BrowseIncognito opens the canary URL in an incognito tab of the profile's
// browser, through its menu and address bar (flow browse-incognito, with
// ${url}): no browser opens incognito from an intent the shell sends.
func BrowseIncognito(ctx context.Context, s *session.Session, c canary.Canary) (*Result, error) {
	p := phoneOf(s)
	return window(ctx, s, profiles.ActionBrowseIncognito, []canary.Canary{c}, func(ctx context.Context) error {
		if err := p.ready(ctx); err != nil {
			return err
		}
		return p.flow(ctx, profiles.ActionBrowseIncognito, map[string]string{"url": c.Value})
	})
}

// Search types the canary phrase into the address bar of the browser's
// incognito tab, which sends it to the browser's search engine (flow
// search, with ${phrase}).
func Search(ctx context.Context, s *session.Session, c canary.Canary) (*Result, error) {
	p := phoneOf(s)
	return window(ctx, s, profiles.ActionSearch, []canary.Canary{c}, func(ctx context.Context) error {
		if err := p.ready(ctx); err != nil {
			return err
		}
		return p.flow(ctx, profiles.ActionSearch, map[string]string{"phrase": c.Value})
	})
}

// Switch says whether the profile's switch name is on, as the app's screen
// shows it (the checked state of the switch on its row); it is read once
// per session and then known from what SetSwitch did.
func Switch(ctx context.Context, s *session.Session, name string) (bool, error) {
	p := phoneOf(s)
	p.mu.Lock()
	on, known := p.switches[name]
	p.mu.Unlock()
	if known {
		return on, nil
	}
	on, err := p.switchTo(ctx, name, "")
	if err != nil {
		return false, err
	}
	p.remember(name, on)
	return on, nil
}

// SetSwitch turns the profile's switch name on or off on the app's screen,
// as a person does, and journals how to put it back the same way.
func SetSwitch(ctx context.Context, s *session.Session, name string, on bool) error {
	p := phoneOf(s)
	sw, ok := p.profile().Switches[name]
	if !ok {
		return fmt.Errorf("profile %s has no switch %q", p.profile().Name, name)
	}
	was, err := Switch(ctx, s, name)
	if err != nil {
		return err
	}
	if was == on {
		return nil
	}
	undo, err := p.run.RecordSwitch(sw, onOff(was))
	if err != nil {
		return err
	}
	if err := s.Record(journal.Entry{Op: journal.OpUI, Value: fmt.Sprintf("switch %s was %s", name, onOff(was)), Flow: undo}); err != nil {
		return err
	}
	if _, err := p.switchTo(ctx, name, onOff(on)); err != nil {
		return err
	}
	p.remember(name, on)
	return nil
}

// switchTo opens the switch's page, reads it, sets it to `to` ("" reads
// only) and leaves; it returns the state it found.
func (p *phone) switchTo(ctx context.Context, name, to string) (bool, error) {
	sw, ok := p.profile().Switches[name]
	if !ok {
		return false, fmt.Errorf("profile %s has no switch %q", p.profile().Name, name)
	}
	if err := p.ready(ctx); err != nil {
		return false, err
	}
	ctx, cancel := bound(ctx, p.s)
	defer cancel()
	was, err := p.run.Switch(ctx, sw, to)
	return was, p.lost(err)
}

func (p *phone) remember(name string, on bool) {
	p.mu.Lock()
	p.switches[name] = on
	p.mu.Unlock()
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
