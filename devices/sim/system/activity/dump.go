package activity

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"

	"telltale.dev/devices/sim/shell"
)

// Dump is `dumpsys activity [activities]` in the shape of Android 10's
// ActivityStackSupervisor dump, reduced to the stacks, their records and
// the resumed activity that tools grep for (mResumedActivity). Modeled
// subset; every argument shows this section.
func (m *Manager) Dump(_ context.Context, sio shell.IO, _ []string) int {
	m.mu.Lock()
	tasks := make([]task, len(m.tasks))
	for i, t := range m.tasks {
		tasks[i] = task{id: t.id, pkg: t.pkg, stack: slices.Clone(t.stack)}
	}
	m.mu.Unlock()
	w := sio.Stdout
	fmt.Fprintln(w, "ACTIVITY MANAGER ACTIVITIES (dumpsys activity activities)")
	fmt.Fprintln(w, "Display #0 (activities from top to bottom):")
	for i := len(tasks) - 1; i >= 0; i-- {
		t := tasks[i]
		fmt.Fprintf(w, "\n  Stack #%d: type=standard mode=fullscreen\n  isSleeping=false\n", t.id)
		fmt.Fprintf(w, "    * TaskRecord{%07x #%d A=%s U=0 StackId=%d sz=%d}\n", hash(t.id), t.id, t.pkg, t.id, len(t.stack))
		for j := len(t.stack) - 1; j >= 0; j-- {
			fmt.Fprintf(w, "      * Hist #%d: %s\n", j, record(t.stack[j]))
		}
		if i == len(tasks)-1 {
			fmt.Fprintf(w, "\n    mResumedActivity: %s\n", record(t.top()))
		}
	}
	if len(tasks) > 0 {
		fmt.Fprintf(w, "\n ResumedActivity: %s\n", record(tasks[len(tasks)-1].top()))
	}
	return 0
}

// record is ActivityRecord.toString: "ActivityRecord{HASH u0 pkg/.Cls tN}".
func record(r Record) string {
	return fmt.Sprintf("ActivityRecord{%07x u0 %s t%d}", hash(r.Token), r.Component.ShortString(), r.Task)
}

// hash stands in for an identity hash code: fixed per object.
func hash(n int) uint32 {
	h := fnv.New32a()
	fmt.Fprint(h, n)
	return h.Sum32() & 0xfffffff
}
