//go:build soak

package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/sim"
	"telltale.dev/devices/sim/rig/rigtest"
	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/actions"
	"telltale.dev/harness/journal"
	"telltale.dev/harness/lease"
	"telltale.dev/harness/session"
)

// soakMarkEnv tags every process this test starts (children inherit it, and
// adb's daemonised server keeps it), so leaked adb servers are found by
// their environment, apart from other users' servers on the same machine.
const soakMarkEnv = "TELLTALE_SOAK_MARK"

// TestSoakSessionFaults opens sessions on a simulated phone over and over
// for SOAK_DURATION (default 60s, at most 40 cycles) and, at a random
// moment of each (during Open or amid actions), reboots the phone, kills
// it (it comes back fresh on the same address) or drops it off the adb
// server. Every cycle must end, after the session's Close and `telltale
// restore RUN_DIR`, with the phone's settings equal to the snapshot taken
// before, no reverse rule, the original CA store, nothing pending in the
// journal, no proxy container, and no adb server but the test's own.
func TestSoakSessionFaults(t *testing.T) {
	duration := time.Minute
	if v := os.Getenv("SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("SOAK_DURATION=%q: want a positive Go duration such as 60s or 10m", v)
		}
		duration = d
	}
	t.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	t.Setenv(soakMarkEnv, fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano()))
	r := rigtest.New(t) // after the mark, so its adb server carries it
	c := r.Client()
	p := startPhone(t, r, "redmi-note-8", "V11.0.3.0")
	serial := p.Serial()
	ours := markedADBServers(t)
	if len(ours) != 1 {
		t.Fatalf("adb processes started by this test: %v, want the one test server", ours)
	}

	ctx, cancel := context.WithTimeout(context.Background(), duration+10*time.Minute)
	defer cancel()
	base := containerSession(t, ctx, "", "soak CA") // each cycle sets its own run directory
	l := lease.Lease{Server: c.Addr(), Serial: serial, Profile: base.Profile.Name, Firmware: "V11.0.3.0.PCOMIXM"}

	faults := map[string]func(context.Context) error{
		// The phone's own `reboot`: mounts (the CA) and root are gone when
		// it is back, settings and files stay.
		"reboot": func(ctx context.Context) error {
			if _, err := c.Device(serial).RunCommand(ctx, "reboot"); err != nil {
				return fmt.Errorf("reboot: %w", err)
			}
			time.Sleep(sim.RebootDowntime)
			return r.Connect(ctx, serial)
		},
		// The phone dies and a fresh one (same identity) comes up on the
		// same address: nothing the session changed survives.
		"kill": func(ctx context.Context) error {
			p.Phone.Close()
			time.Sleep(time.Duration(500+rand.IntN(1500)) * time.Millisecond)
			np, err := r.Start(ctx, sim.Config{Model: p.model, Firmware: p.fw, Addr: serial})
			if err != nil {
				return fmt.Errorf("restart the killed phone on %s: %w", serial, err)
			}
			p.Phone = np
			return nil
		},
		// The cable is pulled: the server forgets the phone for a while.
		"unplug": func(ctx context.Context) error {
			if err := c.Disconnect(ctx, serial); err != nil {
				return fmt.Errorf("adb disconnect: %w", err)
			}
			time.Sleep(time.Duration(500+rand.IntN(2500)) * time.Millisecond)
			return r.Connect(ctx, serial)
		},
	}
	kinds := []string{"reboot", "kill", "unplug"}
	ran := map[string]int{}
	start := time.Now()
	for cycle := 0; cycle < 40 && time.Since(start) < duration; cycle++ {
		kind := kinds[cycle%len(kinds)]
		at := time.Duration(rand.IntN(4000)) * time.Millisecond // Open plus one pass of actions takes about 4s
		dir := filepath.Join(t.TempDir(), "run")
		cycleStart := time.Now()
		note := soakCycle(t, ctx, cycle, kind, at, faults[kind], l, forRun(base, dir), phoneAP{p})
		passes := restoreUntilClean(t, ctx, dir)
		p.checkRestored(t)
		if left := containersFor(t, dir); len(left) > 0 {
			t.Errorf("cycle %d (%s): proxy containers left: %v", cycle, kind, left)
		}
		if entries, err := journal.Read(dir); err != nil || len(journal.Pending(entries)) != 0 {
			t.Errorf("cycle %d (%s): journal: %d changes not undone (%v)", cycle, kind, len(journal.Pending(entries)), err)
		}
		if now := markedADBServers(t); !slices.Equal(now, ours) {
			t.Errorf("cycle %d (%s): adb processes %v, want only the test server %v", cycle, kind, now, ours)
		}
		ran[kind]++
		t.Logf("cycle %d: %s at %s, %s; restore passes %d; %.1fs", cycle, kind, at, note, passes, time.Since(cycleStart).Seconds())
		if t.Failed() {
			return
		}
	}
	for _, k := range kinds {
		if ran[k] == 0 {
			t.Errorf("no %s cycle ran in %s: raise SOAK_DURATION", k, duration)
		}
	}
}

// soakCycle opens a session, changes the phone until the fault has struck
// (at most three passes of the actions), closes the session and returns
// what happened. The fault runs concurrently, at moment at after Open began.
func soakCycle(t *testing.T, ctx context.Context, cycle int, kind string, at time.Duration, fault func(context.Context) error,
	l lease.Lease, cfg session.Config, ap actions.AccessPoint) string {
	ctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()
	struck := make(chan error, 1)
	go func() {
		select {
		case <-time.After(at):
			struck <- fault(ctx)
		case <-ctx.Done():
			struck <- ctx.Err()
		}
	}()
	s, err := session.Open(ctx, l, cfg)
	note := "struck during Open"
	if err == nil {
		actions.Attach(s, actions.Options{AccessPoint: ap})
		gen := canary.NewGenerator(int64(cycle))
		steps := []func() (*actions.Result, error){
			func() (*actions.Result, error) {
				return actions.ChangeSetting(ctx, s, "system", "screen_brightness", gen.Number("b"))
			},
			func() (*actions.Result, error) { return actions.CreateFolder(ctx, s, gen.Folder("f")) },
			func() (*actions.Result, error) { return actions.InstallApp(ctx, s, gen.Package("p")) },
			func() (*actions.Result, error) { return actions.Charge(ctx, s, "ac", gen.Number("n")) },
			func() (*actions.Result, error) { return actions.ConnectWifi(ctx, s, gen.SSID("w"), 50) },
		}
		done, failed := 0, false
		for pass := 0; pass < 3 && !failed && len(struck) == 0; pass++ {
			for _, step := range steps {
				if _, err := step(); err != nil {
					failed = true
					break
				}
				done++
			}
		}
		note = fmt.Sprintf("struck after %d actions", done)
		if err := s.Close(ctx); err != nil {
			note += "; Close: " + firstLine(err.Error())
		}
	} else {
		note += ": " + firstLine(err.Error())
	}
	if err := <-struck; err != nil {
		t.Fatalf("cycle %d: %s: %v", cycle, kind, err)
	}
	return note
}

// restoreUntilClean runs `telltale restore` until it has nothing left to
// do; a phone just back from a fault may need a second pass.
func restoreUntilClean(t *testing.T, ctx context.Context, dir string) int {
	t.Helper()
	var last string
	for attempt := 1; attempt <= 5; attempt++ {
		var out, errOut syncBuffer
		if code := restoreMain(ctx, []string{dir}, &out, &errOut); code == 0 {
			return attempt
		}
		last = out.String() + errOut.String()
		time.Sleep(2 * time.Second)
	}
	t.Errorf("telltale restore %s still fails after 5 attempts:\n%s", dir, last)
	return 5
}

// markedADBServers lists the adb processes carrying this test's mark, as
// "PID CMDLINE".
func markedADBServers(t *testing.T) []string {
	t.Helper()
	mark := []byte(soakMarkEnv + "=" + os.Getenv(soakMarkEnv) + "\x00")
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range dirs {
		comm, err := os.ReadFile(filepath.Join(d, "comm"))
		if err != nil || strings.TrimSpace(string(comm)) != "adb" {
			continue
		}
		env, err := os.ReadFile(filepath.Join(d, "environ"))
		if err != nil || !strings.Contains(string(env), string(mark)) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join(d, "cmdline"))
		out = append(out, filepath.Base(d)+" "+strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " ")))
	}
	slices.Sort(out)
	return out
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
