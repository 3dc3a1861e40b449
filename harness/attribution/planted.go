package attribution

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"telltale.dev/fixtures/canary"
)

// PlantedFile is the name of the planted file in a device's directory.
const PlantedFile = "planted.jsonl"

// Planted is one window's canaries, as the planted file records them.
type Planted struct {
	Window   string          `json:"window"`
	Action   string          `json:"action"`
	Seq      int64           `json:"seq"` // the start mark's
	Time     time.Time       `json:"time"`
	Canaries []canary.Canary `json:"canaries"`
}

// recordPlanted appends p to the planted file and syncs it before the
// action runs: a run killed mid-action still says what it planted.
func (t *Tracker) recordPlanted(p Planted) error {
	if t.opts.Planted == "" || len(p.Canaries) == 0 {
		return nil
	}
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(t.opts.Planted, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("record the planted canaries: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("record the planted canaries in %s: %w", t.opts.Planted, err)
	}
	return nil
}

// ReadPlanted reads a planted file; a missing file is nothing planted. A
// last line cut short by a crash is left out.
func ReadPlanted(path string) ([]Planted, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Planted
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		var p Planted
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			if !sc.Scan() { // the last line, cut by a crash
				break
			}
			return nil, fmt.Errorf("%s line %d: %w", path, n, err)
		}
		out = append(out, p)
	}
	return out, sc.Err()
}
