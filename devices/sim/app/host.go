package app

import (
	"fmt"
	"sync"

	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/system/activity"
	"telltale.dev/devices/sim/system/logd"
	"telltale.dev/devices/sim/ui"
)

// appLayer is where app windows stack (WindowManager.LayoutParams
// TYPE_APPLICATION); system windows go above.
const appLayer = 2

// Host runs apps' code for the activity manager (activity.Host) and offers
// the resumed activity's window to the window manager (window.Source).
type Host struct {
	factory Factory
	env     Env // the phone's part of every app's Env
	log     *logd.Log

	mu        sync.Mutex
	processes map[string]App
	live      map[int]*instance // by activity record token
	resumed   *instance
	seq       uint64
}

type instance struct {
	rec activity.Record
	act Activity
	win *ui.Window
}

// NewHost returns a host that makes apps with factory and gives each a copy
// of env with its own package and uid.
func NewHost(factory Factory, env Env, log *logd.Log) *Host {
	return &Host{factory: factory, env: env, log: log, processes: map[string]App{}, live: map[int]*instance{}}
}

var _ activity.Host = (*Host)(nil)

// Resume makes r the resumed activity, starting its app's process and
// creating the activity if needed, and delivers in. A Resume older than
// the last one seen only delivers its intent.
func (h *Host) Resume(r activity.Record, in *content.Intent) {
	h.mu.Lock()
	inst, err := h.instance(r)
	if err != nil {
		h.mu.Unlock()
		// The package went between the activity manager resolving the
		// intent and this start (uninstalled meanwhile).
		h.log.Printf("W", "ActivityThread", "Unable to start activity %s: %v", r.Component, err)
		return
	}
	var paused *instance
	resumes := false
	if r.Seq > h.seq {
		h.seq = r.Seq
		if h.resumed != inst {
			paused, h.resumed, resumes = h.resumed, inst, true
		}
	}
	h.mu.Unlock()
	if lc, ok := paused.lifecycle(); ok {
		lc.OnPause()
	}
	if in != nil {
		inst.act.OnIntent(*in)
	}
	if lc, ok := inst.lifecycle(); ok && resumes {
		lc.OnResume()
	}
}

func (i *instance) lifecycle() (Lifecycle, bool) {
	if i == nil {
		return nil, false
	}
	lc, ok := i.act.(Lifecycle)
	return lc, ok
}

// instance finds or creates the activity for r; h.mu is held.
func (h *Host) instance(r activity.Record) (*instance, error) {
	if inst, ok := h.live[r.Token]; ok {
		return inst, nil
	}
	pkg := r.Component.Package
	proc, ok := h.processes[pkg]
	if !ok {
		m, uid, installed := h.env.Packages.Installed(pkg)
		if !installed {
			return nil, fmt.Errorf("app: %s is not installed", pkg)
		}
		env := h.env
		env.Package, env.UID = pkg, uid
		proc = h.factory(m, env)
		h.processes[pkg] = proc
	}
	act := proc.NewActivity(r.Component.Class)
	inst := &instance{rec: r, act: act, win: &ui.Window{
		Package: pkg, Title: r.Component.String(), Layer: appLayer, Content: act.Screen, Key: act.Key,
	}}
	h.live[r.Token] = inst
	return inst, nil
}

// Destroy forgets finished activities. A process left without activities
// is killed at once, its state with it (modeled: Android keeps it cached
// until memory is needed).
func (h *Host) Destroy(tokens []int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range tokens {
		inst, ok := h.live[t]
		if !ok {
			continue
		}
		delete(h.live, t)
		if h.resumed == inst {
			h.resumed = nil
		}
	}
	alive := map[string]bool{}
	for _, inst := range h.live {
		alive[inst.rec.Component.Package] = true
	}
	for pkg := range h.processes {
		if !alive[pkg] {
			delete(h.processes, pkg)
		}
	}
}

// Windows is the resumed activity's window and, above it, its dialogs and
// menus (window.Source).
func (h *Host) Windows() []*ui.Window {
	h.mu.Lock()
	inst := h.resumed
	h.mu.Unlock()
	if inst == nil {
		return nil
	}
	ws := []*ui.Window{inst.win}
	if ov, ok := inst.act.(Overlays); ok {
		for i, w := range ov.Overlays() {
			// A dialog's window carries its activity's token and title.
			w.Package, w.Title, w.Layer = inst.win.Package, inst.win.Title, appLayer+1+i
			ws = append(ws, w)
		}
	}
	return ws
}

// Swipe delivers a swipe that starts on one of the host's windows (the
// window manager's Swiper): the resumed activity's screen or its dialog
// scrolls, or its seek bar moves; a short one is a tap. It says whether a
// view took it.
func (h *Host) Swipe(x1, y1, x2, y2 int, screen ui.Rect) bool {
	ws := h.Windows()
	roots := make([]*ui.Node, len(ws))
	for i, w := range ws {
		roots[len(ws)-1-i] = w.Content(screen) // topmost first
	}
	return ui.Dispatch(roots, ui.Point{X: x1, Y: y1}, ui.Point{X: x2, Y: y2}, ui.TouchSlop(screen)) != nil
}
