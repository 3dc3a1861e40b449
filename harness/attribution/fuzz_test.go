package attribution

import (
	"strings"
	"testing"
)

// FuzzParseQueues: whatever a phone answers, ParseQueues does not panic,
// and what it accepts adds up to the total line it read: no answer reads as
// empty queues unless it says so.
func FuzzParseQueues(f *testing.F) {
	q := &queuePhone{}
	q.held.Store(3)
	out, _ := q.shell("dumpsys " + QueueService)
	f.Add(out)
	f.Add("Telltale telemetry queues\ntotal length=0 next_flush=none\n")
	f.Add("queue sdk=a app=b length=-1\ntotal length=-1\n")
	f.Add("Can't find service: telltale_telemetry\n")
	f.Fuzz(func(t *testing.T, out string) {
		qs, err := ParseQueues(out)
		if err != nil {
			return
		}
		if !strings.Contains(out, "total") {
			t.Fatalf("accepted an answer with no total line: %q", out)
		}
		for _, q := range qs {
			if q.Length < 0 {
				t.Fatalf("accepted a negative queue length %d in %q", q.Length, out)
			}
		}
	})
}
