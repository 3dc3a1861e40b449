package groundtruth_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"telltale.dev/devices/sim/sdk/groundtruth"
)

// Lines written concurrently come back whole; Latest folds them to each
// event's last state; Uploads counts the requests that carried sent events.
func TestLogLatestAndUploads(t *testing.T) {
	log := &groundtruth.Log{}
	w := groundtruth.NewWriter(log)
	at := time.Date(2020, 4, 30, 12, 0, 0, 0, time.UTC)
	lines := []groundtruth.Record{
		{ID: "ev1", State: groundtruth.Queued, Event: "browser_visit", Values: map[string]string{"url": "https://c.example/"}},
		{ID: "ev2", State: groundtruth.Queued, Event: "$AppEnd"},
		{ID: "ev1", State: groundtruth.Failed, Attempt: 1, Upload: "u1", Reason: "no-reverse"},
		{ID: "ev2", State: groundtruth.Failed, Attempt: 1, Upload: "u1", Reason: "no-reverse"},
		{ID: "ev1", State: groundtruth.Sent, Attempt: 2, Upload: "u2", Delivered: true},
		{ID: "ev2", State: groundtruth.Sent, Attempt: 2, Upload: "u2", Delivered: true},
		{ID: "ev3", State: groundtruth.Queued, Event: "screen_lock"},
		{ID: "ev3", State: groundtruth.Sent, Attempt: 1, Upload: "u3", Delivered: true},
		{ID: "ev4", State: groundtruth.Queued, Event: "app_open"},
	}
	var wg sync.WaitGroup
	for i := range lines {
		lines[i].Time = at.Add(time.Duration(i) * time.Second)
	}
	// The order of the lines of one event matters; events may interleave.
	for _, id := range []string{"ev1", "ev2", "ev3", "ev4"} {
		wg.Go(func() {
			for _, r := range lines {
				if r.ID == id {
					if err := w.Write(r); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	recs, err := log.Records()
	if err != nil || len(recs) != len(lines) {
		t.Fatalf("%d records (%v)", len(recs), err)
	}
	var last []string
	for _, r := range groundtruth.Latest(recs) {
		last = append(last, r.ID+":"+r.State)
	}
	got := strings.Join(last, " ")
	for _, want := range []string{"ev1:sent", "ev2:sent", "ev3:sent", "ev4:queued"} {
		if !strings.Contains(got, want) {
			t.Errorf("latest states %q lack %s", got, want)
		}
	}
	if n := groundtruth.Uploads(recs); n != 2 {
		t.Errorf("Uploads = %d, want 2 (u2, u3)", n)
	}
	if again, _ := log.Drain(); len(again) != len(lines) {
		t.Errorf("drain: %d", len(again))
	}
	if rest, _ := log.Drain(); len(rest) != 0 {
		t.Errorf("a second drain returned %d", len(rest))
	}
	if _, err := groundtruth.Parse(strings.NewReader("{\"id\":\"x\"}\nnot json\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("a bad line: %v", err)
	}
}
