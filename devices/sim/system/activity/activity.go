// Package activity is the activity manager: the task stack, which activity
// is resumed, starting activities for intents (am start, monkey, a tap on a
// launcher icon), force-stop, home and back, and `dumpsys activity`. It keeps
// only records; the apps' code runs in the app host, which it tells what to
// resume.
package activity

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/system"
	"telltale.dev/devices/sim/system/logd"
)

// Record is one activity instance in a task (ActivityRecord).
type Record struct {
	Token     int
	Component content.ComponentName
	Task      int
	// Seq numbers the transitions that resumed it: the host drops a Resume
	// older than one it has already seen.
	Seq uint64
}

// Host runs the apps' code. The manager calls it outside its lock, after
// each transition.
type Host interface {
	// Resume makes r the resumed activity; in is the intent to deliver
	// (onCreate or onNewIntent), nil when r only comes back to the front.
	Resume(r Record, in *content.Intent)
	// Destroy forgets finished activities.
	Destroy(tokens []int)
}

// Resolver finds the activity an intent starts (the package manager).
type Resolver interface {
	Resolve(in content.Intent) (content.ComponentName, error)
}

// Config builds a manager.
type Config struct {
	Bus      *event.Bus
	Log      *logd.Log
	Resolver Resolver
	// SDK is the firmware's API level, which words am's exceptions.
	SDK int
	// Runtime starts monkey, an app_process tool.
	Runtime system.Runtime
	// Keyguard says whether the lock screen is up, which keeps the front
	// activity stopped after a sleep; nil: the phone has none.
	Keyguard Keyguard
}

// Manager is the activity manager.
type Manager struct {
	bus      *event.Bus
	log      *logd.Log
	resolver Resolver
	host     Host
	sdk      int
	runtime  system.Runtime

	keyguard Keyguard

	mu     sync.Mutex
	tasks  []*task // the front task last
	tokens int
	taskID int
	seq    uint64
	// asleep is the display being off; slept is the package whose front
	// activity the sleep stopped, until it starts again (sleep.go).
	asleep bool
	slept  string
}

// task is the back stack of one app (task affinity = package: modeled).
type task struct {
	id    int
	pkg   string
	stack []Record // the top activity last
}

func (t *task) top() Record { return t.stack[len(t.stack)-1] }

// New returns a manager with no tasks; Attach a host, then Boot.
func New(cfg Config) *Manager {
	m := &Manager{bus: cfg.Bus, log: cfg.Log, resolver: cfg.Resolver, sdk: cfg.SDK, runtime: cfg.Runtime,
		keyguard: cfg.Keyguard, taskID: 1}
	event.On(cfg.Bus, func(e event.PackageRemoved) { m.ForceStop(e.Package) })
	event.On(cfg.Bus, func(e event.PackageDataCleared) { m.ForceStop(e.Package) })
	event.On(cfg.Bus, func(event.Rebooted) { m.reboot() })
	event.On(cfg.Bus, func(e event.ScreenChanged) { m.screen(e.On) })
	event.On(cfg.Bus, func(event.KeyguardDismissed) { m.restartSlept() })
	return m
}

// Attach gives the manager the app host; call it once, before Boot.
func (m *Manager) Attach(h Host) { m.host = h }

// Boot starts the home activity, as the system does when it is ready.
func (m *Manager) Boot() { _, _ = m.Home() }

// reboot drops every task and boots again.
func (m *Manager) reboot() {
	m.mu.Lock()
	var gone []int
	for _, t := range m.tasks {
		for _, r := range t.stack {
			gone = append(gone, r.Token)
		}
	}
	m.tasks = nil
	m.asleep, m.slept = false, ""
	m.mu.Unlock()
	m.host.Destroy(gone)
	m.Boot()
}

// Front is the resumed activity; false when no task is left.
func (m *Manager) Front() (Record, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.tasks) == 0 {
		return Record{}, false
	}
	return m.tasks[len(m.tasks)-1].top(), true
}

// frontPkg is the front task's package; m.mu is held.
func (m *Manager) frontPkg() string {
	if len(m.tasks) == 0 {
		return ""
	}
	return m.tasks[len(m.tasks)-1].pkg
}

// Start resolves in and brings the activity to the front: onto its app's
// task, reusing the instance on top when it is the same activity (which
// gets the intent as onNewIntent), as a singleTop launch does (modeled).
func (m *Manager) Start(in content.Intent, callerUID uint32) (content.ComponentName, error) {
	l, err := m.launch(in, callerUID)
	return l.component, err
}

// How a start went, as ActivityStarter reports it to am start -W
// (WaitResult.launchState, the START_* result codes).
type outcome int

const (
	// cold: no process for the package; a new task and activity.
	cold outcome = iota
	// warm: the process was running; a new activity on its task.
	warm
	// toFront: the task existed with this activity on top and was brought
	// to the front (START_TASK_TO_FRONT; launch state HOT).
	toFront
	// deliveredToTop: the activity was already the resumed one and got the
	// intent (START_DELIVERED_TO_TOP; no launch state).
	deliveredToTop
)

// launched is a start that went through.
type launched struct {
	component content.ComponentName
	outcome   outcome
}

// launch is Start, saying how the start went.
func (m *Manager) launch(in content.Intent, callerUID uint32) (launched, error) {
	comp, err := m.resolver.Resolve(in)
	if err != nil {
		m.log.Printf("W", "ActivityTaskManager", "START u0 {%s} from uid %d failed: %v", in.Summary(), callerUID, err)
		return launched{}, err
	}
	m.mu.Lock()
	prev := m.frontPkg()
	if m.slept != comp.Package {
		m.slept = "" // it leaves the front stopped: nothing to start again
	}
	i := slices.IndexFunc(m.tasks, func(t *task) bool { return t.pkg == comp.Package })
	var t *task
	how := cold
	if i >= 0 {
		t = m.tasks[i]
		how = warm
		if t.top().Component == comp {
			how = toFront
			if i == len(m.tasks)-1 {
				how = deliveredToTop
			}
		}
		m.tasks = append(slices.Delete(m.tasks, i, i+1), t)
	} else {
		t = &task{id: m.taskID, pkg: comp.Package}
		m.taskID++
		m.tasks = append(m.tasks, t)
	}
	if len(t.stack) == 0 || t.top().Component != comp {
		m.tokens++
		t.stack = append(t.stack, Record{Token: m.tokens, Component: comp, Task: t.id})
	}
	m.seq++
	t.stack[len(t.stack)-1].Seq = m.seq
	rec := t.top()
	m.mu.Unlock()

	m.log.Printf("I", "ActivityTaskManager", "START u0 {%s} from uid %d", in.Summary(), callerUID)
	m.host.Resume(rec, &in)
	if prev != "" && prev != comp.Package {
		m.bus.Publish(event.AppBackgrounded{Package: prev})
	}
	m.bus.Publish(event.ActivityStarted{Package: comp.Package, Activity: comp.Class, Action: in.Action, Data: in.Data,
		Home: in.HasCategory(content.CategoryHome)})
	return launched{component: comp, outcome: how}, nil
}

// Home starts the home activity (KEYCODE_HOME, boot).
func (m *Manager) Home() (content.ComponentName, error) {
	return m.Start(content.Intent{Action: content.ActionMain, Categories: []string{content.CategoryHome}}, 1000)
}

// Back finishes the front activity, as an activity does when it leaves
// KEYCODE_BACK to the system. The root of the home task stays: the launcher
// ignores back.
func (m *Manager) Back() {
	m.mu.Lock()
	if len(m.tasks) == 0 {
		m.mu.Unlock()
		return
	}
	t := m.tasks[len(m.tasks)-1]
	if len(m.tasks) == 1 && len(t.stack) == 1 {
		m.mu.Unlock()
		return
	}
	done := t.top()
	t.stack = t.stack[:len(t.stack)-1]
	if len(t.stack) == 0 {
		m.tasks = m.tasks[:len(m.tasks)-1]
	}
	m.mu.Unlock()
	m.host.Destroy([]int{done.Token})
	m.resumeFront(done.Component.Package)
}

// ForceStop removes a package's task and kills its processes (am
// force-stop, pm clear, uninstall): whatever of the app was running or
// waiting to run, in the front or not, ends with ACTION_PACKAGE_RESTARTED
// (ActivityManagerService.forceStopPackageLocked).
func (m *Manager) ForceStop(pkg string) {
	defer m.bus.Publish(event.PackageRestarted{Package: pkg})
	m.mu.Lock()
	if m.slept == pkg {
		m.slept = ""
	}
	i := slices.IndexFunc(m.tasks, func(t *task) bool { return t.pkg == pkg })
	if i < 0 {
		m.mu.Unlock()
		return
	}
	wasFront := i == len(m.tasks)-1
	var gone []int
	for _, r := range m.tasks[i].stack {
		gone = append(gone, r.Token)
	}
	m.tasks = slices.Delete(m.tasks, i, i+1)
	m.mu.Unlock()
	m.host.Destroy(gone)
	if wasFront {
		m.resumeFront(pkg)
	}
}

// resumeFront resumes whatever is on top now that left's activity went; the
// home screen when nothing is.
func (m *Manager) resumeFront(left string) {
	m.mu.Lock()
	if len(m.tasks) == 0 {
		m.mu.Unlock()
		m.bus.Publish(event.AppBackgrounded{Package: left})
		m.Boot()
		return
	}
	m.seq++
	t := m.tasks[len(m.tasks)-1]
	t.stack[len(t.stack)-1].Seq = m.seq
	rec := t.top()
	m.mu.Unlock()
	m.host.Resume(rec, nil)
	if rec.Component.Package != left {
		m.bus.Publish(event.AppBackgrounded{Package: left})
	}
}

// Commands are am and monkey.
func (m *Manager) Commands() map[string]shell.Func {
	return map[string]shell.Func{"am": m.am, "monkey": m.monkey}
}

// ShellCommand answers `cmd activity`, which am wraps.
func (m *Manager) ShellCommand(ctx context.Context, sio shell.IO, args []string) int {
	return m.am(ctx, sio, append([]string{"cmd activity"}, args...))
}

func errf(sio shell.IO, format string, args ...any) int {
	fmt.Fprintf(sio.Stderr, format+"\n", args...)
	return 1
}
