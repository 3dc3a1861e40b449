package attribution

import (
	"context"

	"telltale.dev/harness/bypass"
)

// socketWatcher is a session that can watch the phone's sockets for
// connections around the proxy (harness/session's can).
type socketWatcher interface {
	WatchBypass(ctx context.Context) (*bypass.Watch, error)
}

// watchSockets starts watching the phone's sockets for w's window; a
// phone whose sockets cannot be read says why in r.Unwatched. The watch
// outlives ctx (a --pipeline window stays open after its spec): the
// window's end stops it.
func (t *Tracker) watchSockets(ctx context.Context, w *window, r *Result) {
	sw, ok := t.s.(socketWatcher)
	if !ok {
		return
	}
	watch, err := sw.WatchBypass(context.WithoutCancel(ctx))
	if err != nil {
		r.Unwatched = err.Error()
		return
	}
	t.mu.Lock()
	w.watch = watch
	t.mu.Unlock()
}

// stopWatch ends the watch of r's window and keeps in r the connections
// that went around the proxy meanwhile.
func (t *Tracker) stopWatch(ctx context.Context, r *Result) {
	t.mu.Lock()
	var watch *bypass.Watch
	if w := t.windows[r.Window]; w != nil {
		watch, w.watch = w.watch, nil
	}
	t.mu.Unlock()
	if watch == nil {
		return
	}
	got, err := watch.Stop(ctx)
	r.Bypassed = got
	if err != nil {
		r.Unwatched = err.Error()
	}
}
