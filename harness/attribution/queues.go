package attribution

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// QueueService is the dumpsys service through which the simulated phone
// reports its telemetry queues. Only the simulated phone has it (a real
// phone's SDK queues are private to their apps): the tracker uses it when
// `dumpsys -l` lists it, and otherwise waits the profile's flush interval.
const QueueService = "telltale_telemetry"

// queuePoll is how often a wait on the queues asks the phone again; the
// log wakes it sooner when flows arrive.
const queuePoll = time.Second

// Queue is one SDK queue on the phone, as `dumpsys telltale_telemetry`
// reports it.
type Queue struct {
	// SDK and App name the queue: the reporting service and the app whose
	// data holds it.
	SDK, App string
	// Length is the number of events queued and not yet sent.
	Length int
	// Due is how long until the SDK uploads; negative when no upload is
	// scheduled (it waits for a new event, its app, or a network).
	Due time.Duration
}

func (q Queue) String() string {
	s := fmt.Sprintf("%s in %s: %d queued", q.SDK, q.App, q.Length)
	if q.Due >= 0 {
		s += fmt.Sprintf(", next upload in %s", q.Due.Round(100*time.Millisecond))
	} else {
		s += ", no upload scheduled"
	}
	return s
}

type queueState struct {
	checked bool // dumpsys -l was asked
	present bool // and lists QueueService
	last    []Queue
	said    string // the last progress line, not repeated
}

// hasQueues says, asking the phone once, whether it reports its queues.
func (t *Tracker) hasQueues(ctx context.Context) (bool, error) {
	t.mu.Lock()
	st := t.queues
	t.mu.Unlock()
	if st.checked {
		return st.present, nil
	}
	out, err := t.s.Shell(ctx, "dumpsys -l")
	if err != nil {
		return false, fmt.Errorf("list the phone's services (dumpsys -l): %w", err)
	}
	present := false
	for _, line := range strings.Split(out, "\n") {
		if strings.TrimSpace(line) == QueueService {
			present = true
		}
	}
	t.mu.Lock()
	t.queues.checked, t.queues.present = true, present
	t.mu.Unlock()
	return present, nil
}

// drained says whether the phone's telemetry queues are all empty; false
// on a phone that cannot say.
func (t *Tracker) drained(ctx context.Context) (bool, error) {
	qs, ok, err := t.Queues(ctx)
	if err != nil || !ok {
		return false, err
	}
	n, busy := holding(qs)
	if n > 0 {
		t.say(fmt.Sprintf("waiting for %d queued telemetry event(s): %s", n, busy))
	}
	return n == 0, nil
}

// holding counts the events qs hold and names the queues that hold them.
func holding(qs []Queue) (n int, busy string) {
	var names []string
	for _, q := range qs {
		n += q.Length
		if q.Length > 0 {
			names = append(names, q.String())
		}
	}
	return n, strings.Join(names, "; ")
}

// Queues reads the phone's telemetry queues; ok is false on a phone that
// does not report them.
func (t *Tracker) Queues(ctx context.Context) (qs []Queue, ok bool, err error) {
	if ok, err := t.hasQueues(ctx); !ok || err != nil {
		return nil, false, err
	}
	out, err := t.s.Shell(ctx, "dumpsys", QueueService)
	if err != nil {
		return nil, true, fmt.Errorf("read the telemetry queues (dumpsys %s): %w", QueueService, err)
	}
	qs, err = ParseQueues(out)
	if err != nil {
		return nil, true, err
	}
	t.mu.Lock()
	t.queues.last = qs
	t.mu.Unlock()
	return qs, true, nil
}

// say reports progress once per distinct line.
func (t *Tracker) say(line string) {
	t.mu.Lock()
	repeat := t.queues.said == line
	t.queues.said = line
	t.mu.Unlock()
	if !repeat {
		t.progress("%s", line)
	}
}

// ParseQueues reads `dumpsys telltale_telemetry` (devices/sim/sdk): a
// title line, then one line per SDK queue,
//
//	queue sdk=sensors-analytics app=com.mi.globalbrowser length=2 next_flush=2020-04-30T12:00:15.000Z in_ms=12000 db=...
//
// (next_flush=none and no in_ms when no upload is scheduled), then a
// "total length=N ..." line. Output without the total line is refused: a
// cut or foreign answer must not read as "empty", which ends waits.
func ParseQueues(out string) ([]Queue, error) {
	qs := []Queue{}
	total := -1
	for _, line := range strings.Split(out, "\n") {
		kind, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
		if kind != "queue" && kind != "total" {
			continue
		}
		kv := map[string]string{}
		for _, f := range strings.Fields(rest) {
			if k, v, ok := strings.Cut(f, "="); ok {
				kv[k] = v
			}
		}
		n, err := strconv.Atoi(kv["length"])
		if err != nil || n < 0 {
			return nil, fmt.Errorf("dumpsys %s: no queue length in %q", QueueService, line)
		}
		if kind == "total" {
			total = n
			continue
		}
		q := Queue{SDK: kv["sdk"], App: kv["app"], Length: n, Due: -1}
		if ms, err := strconv.ParseInt(kv["in_ms"], 10, 64); err == nil && kv["next_flush"] != "none" {
			q.Due = time.Duration(ms) * time.Millisecond
		}
		qs = append(qs, q)
	}
	if total < 0 {
		return nil, fmt.Errorf("dumpsys %s: no total line in %q: not the simulated phone's queue report", QueueService, strings.TrimSpace(out))
	}
	sum := 0
	for _, q := range qs {
		sum += q.Length
	}
	if sum != total {
		return nil, fmt.Errorf("dumpsys %s: the queues hold %d events but the total says %d", QueueService, sum, total)
	}
	return qs, nil
}
