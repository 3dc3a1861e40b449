package framework

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"telltale.dev/devices/sim/sdk/groundtruth"
	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/attribution"
	"telltale.dev/reports/run"
)

// GroundTruthFile is where the check of the simulated phones' ground truth
// is kept in a run directory's logs/.
const GroundTruthFile = "ground-truth.json"

// TruthCheck is what the simulated phones' ground-truth logs say about the
// canaries a run planted: nothing planted may leave a phone after the
// harness took its proxy away, since a real phone would then send it to
// the vendor's servers.
type TruthCheck struct {
	// Events are the telemetry events that carried a planted canary; Sent
	// those the phone sent before its teardown.
	Events int `json:"events"`
	Sent   int `json:"sent"`
	// Margin is how long before its phone's teardown the last of them was
	// sent.
	Margin time.Duration `json:"margin_ns"`
	// Problems are the events sent after their phone's teardown, or still
	// on the phone (queued, or failing) when it stopped.
	Problems []string `json:"problems"`
}

func (c TruthCheck) String() string {
	if len(c.Problems) > 0 {
		return fmt.Sprintf("ground truth: %d of %d event(s) with a planted canary were not sent before teardown:\n  %s",
			len(c.Problems), c.Events, strings.Join(c.Problems, "\n  "))
	}
	if c.Events == 0 {
		return "ground truth: no telemetry event carried a planted canary"
	}
	return fmt.Sprintf("ground truth: %d event(s) carried a planted canary; all were sent through the proxy before teardown (the last %s before it)",
		c.Events, c.Margin.Round(time.Millisecond))
}

// ReadTruthCheck reads the ground-truth check of a run directory; ok is
// false for a run without simulated phones (or that stopped before it).
func ReadTruthCheck(runDir string) (c TruthCheck, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(runDir, run.LogsDir, GroundTruthFile))
	if errors.Is(err, fs.ErrNotExist) {
		return c, false, nil
	}
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil {
		return c, false, fmt.Errorf("read the ground-truth check: %w", err)
	}
	return c, true, nil
}

// checkGroundTruth reads, for each simulated phone (serials in the order
// the rig started them, whose ground truth is logs/sim-N-truth.jsonl), the
// canaries its session planted and its teardown time, and checks every
// event that carried one of them.
func checkGroundTruth(runDir string, serials []string) (TruthCheck, error) {
	c := TruthCheck{Problems: []string{}}
	r, err := run.Open(runDir)
	if err != nil {
		return c, err
	}
	for i, serial := range serials {
		planted, err := attribution.ReadPlanted(filepath.Join(runDir, run.DevicesDir, run.Slug(serial), attribution.PlantedFile))
		if err != nil {
			return c, err
		}
		var cs []canary.Canary
		for _, p := range planted {
			cs = append(cs, p.Canaries...)
		}
		if len(cs) == 0 {
			continue
		}
		dev, _ := r.Device(serial)
		f, err := os.Open(filepath.Join(runDir, run.LogsDir, fmt.Sprintf("sim-%d-truth.jsonl", i+1)))
		if errors.Is(err, fs.ErrNotExist) {
			c.Problems = append(c.Problems, fmt.Sprintf("%s: no ground-truth log", serial))
			continue
		}
		if err != nil {
			return c, err
		}
		recs, err := groundtruth.Parse(f)
		f.Close()
		if err != nil {
			return c, fmt.Errorf("%s: %w", serial, err)
		}
		c.add(serial, dev.Teardown, cs, recs)
	}
	return c, nil
}

// add checks one phone's events.
func (c *TruthCheck) add(serial string, teardown time.Time, cs []canary.Canary, recs []groundtruth.Record) {
	sent := map[string]time.Time{}
	for _, rec := range recs {
		if rec.State == groundtruth.Sent && sent[rec.ID].IsZero() {
			sent[rec.ID] = rec.Time
		}
	}
	for _, last := range groundtruth.Latest(recs) {
		id := carried(last, cs)
		if id == "" {
			continue
		}
		c.Events++
		what := fmt.Sprintf("%s: %s event %s (%s, canary %s)", serial, last.SDK, last.ID, last.Event, id)
		at, wasSent := sent[last.ID]
		switch {
		case teardown.IsZero():
			c.Problems = append(c.Problems, what+": the phone's teardown was not recorded")
		case wasSent && at.After(teardown):
			c.Problems = append(c.Problems, fmt.Sprintf("%s: sent %s after teardown", what, at.Sub(teardown).Round(time.Millisecond)))
		case last.State == groundtruth.Queued || last.State == groundtruth.Failed:
			c.Problems = append(c.Problems, fmt.Sprintf("%s: still %s on the phone when it stopped (last %s); it would leave after the proxy was gone",
				what, last.State, strings.TrimSpace(last.Reason+" "+last.Time.Format(time.RFC3339))))
		case wasSent:
			c.Sent++
			if c.Margin == 0 || teardown.Sub(at) < c.Margin {
				c.Margin = teardown.Sub(at)
			}
		}
	}
}

// carried is the id of the first canary rec's values carry, or "". A number
// canary counts only as a whole value, as the detector matches it.
func carried(rec groundtruth.Record, cs []canary.Canary) string {
	for _, v := range rec.Values {
		for _, c := range cs {
			if v == c.Value || c.Kind != canary.KindNumber && strings.Contains(v, c.Value) {
				return c.ID
			}
		}
	}
	return ""
}
