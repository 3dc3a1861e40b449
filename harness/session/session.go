// Package session leases a phone from the adb servers, prepares it for a
// scenario run (its own recording proxy, the run's CA, adb reverse and the
// global HTTP proxy setting), journals every change it makes, and puts the
// phone back exactly as it was found, also after a crash (Restore).
package session

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"telltale.dev/devices/adb"
	"telltale.dev/devices/profiles"
	"telltale.dev/harness/capture"
)

// ErrDeviceLost is the cause of every failure after the leased device
// dropped off its adb server.
var ErrDeviceLost = errors.New("device lost")

// DefaultCallTimeout bounds one device call (a shell command, a push).
const DefaultCallTimeout = 30 * time.Second

// ProxyPort is the device-side port of the reverse rule to the proxy.
const ProxyPort = 8080

// Recorder is what a session needs from the recording proxy.
type Recorder interface {
	// ProxyAddr is the proxy's host address, "127.0.0.1:PORT".
	ProxyAddr(ctx context.Context) (string, error)
	Mark(ctx context.Context, name string) (capture.Flow, error)
	Flows(ctx context.Context, since int64) ([]capture.Flow, error)
	Terminate(ctx context.Context) error
}

// Session is one leased device prepared for scenarios.
type Session struct {
	Lease    Lease
	Profile  *profiles.Profile
	Firmware *profiles.Firmware
	// Props are the device's build properties, read at Open.
	Props map[string]string
	// Settle is how long actions wait for telemetry to flush.
	Settle time.Duration
	// CAStore is "system" or "user"; Warnings say what a reader of the report
	// must know (a user-store CA most apps ignore).
	CAStore  string
	Warnings []string

	client  *adb.Client
	dev     *adb.Device
	journal *Journal
	proxy   Recorder
	lock    *Lock
	runDir  string
	log     io.Writer
	timeout time.Duration
	// restarting is set while adbd restarts (adb root), when the device
	// leaving the bus is expected.
	restarting atomic.Bool
	su         string // how su takes a command ("-c" or "0"); "" when adbd is root or no su

	ctx    context.Context // cancelled with ErrDeviceLost when the device drops
	cancel context.CancelCauseFunc

	mu      sync.Mutex
	entries []Entry // this session's journal entries, oldest first
	marks   int
	before  Snapshot
	idle    []capture.Flow
}

// Baseline is the session's idle window, nil until recorded.
func (s *Session) Baseline() []capture.Flow {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.idle
}

// SetBaseline stores the idle window (non-nil, even when empty).
func (s *Session) SetBaseline(flows []capture.Flow) {
	if flows == nil {
		flows = []capture.Flow{}
	}
	s.mu.Lock()
	s.idle = flows
	s.mu.Unlock()
}

// Dir is the session's own directory in the run directory.
func (s *Session) Dir() string { return filepath.Join(s.runDir, "devices", slug(s.Lease.Serial)) }

// Lost returns the reason the device is gone, or nil.
func (s *Session) Lost() error {
	if s.ctx.Err() == nil {
		return nil
	}
	return context.Cause(s.ctx)
}

// bind returns a context that also ends when the device is lost, with the
// call timeout applied, so no device call outlives its deadline.
func (s *Session) bind(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout <= 0 {
		timeout = s.timeout
	}
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("device %s did not answer within %s", s.Lease.Serial, timeout))
	stop := context.AfterFunc(s.ctx, func() { cancel() })
	return ctx, func() { stop(); cancel() }
}

// wrap turns an error of a call on a lost device into ErrDeviceLost, checking
// the adb server when the watcher has not yet seen the loss.
func (s *Session) wrap(ctx context.Context, what string, err error) error {
	if err == nil {
		return nil
	}
	if lost := s.Lost(); lost != nil {
		return fmt.Errorf("%s: %w", what, lost)
	}
	if errors.Is(err, adb.ErrDeviceNotFound) || errors.Is(err, adb.ErrDeviceOffline) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		if s.checkGone(ctx) {
			return fmt.Errorf("%s: %w", what, s.Lost())
		}
	}
	return fmt.Errorf("%s on %s: %w", what, s.Lease.Serial, err)
}

// checkGone asks the adb server whether the device is still there, and
// marks the session lost when it is not.
func (s *Session) checkGone(ctx context.Context) bool {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	st, err := s.dev.State(cctx)
	if err == nil && st == "device" {
		return false
	}
	reason := "state " + st
	if err != nil {
		reason = err.Error()
	}
	s.cancel(fmt.Errorf("%w: %s on %s (%s)", ErrDeviceLost, s.Lease.Serial, s.Lease.Server, reason))
	return true
}

// Shell runs a command line on the device and fails on a non-zero exit.
func (s *Session) Shell(ctx context.Context, cmd string, args ...string) (string, error) {
	cctx, cancel := s.bind(ctx, 0)
	defer cancel()
	out, err := s.dev.RunCommand(cctx, cmd, args...)
	return out, s.wrap(ctx, "adb shell "+cmd, err)
}

// Do journals a change, then runs its command. The journal entry is synced
// before the device is touched, so a crash in between still leaves the undo.
func (s *Session) Do(ctx context.Context, e Entry, cmd string, args ...string) (string, error) {
	if err := s.Record(e); err != nil {
		return "", err
	}
	return s.Shell(ctx, cmd, args...)
}

// Record writes a change to the journal before it is made.
func (s *Session) Record(e Entry) error {
	e.Server, e.Serial = s.Lease.Server, s.Lease.Serial
	e, err := s.journal.Append(e)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.entries = append(s.entries, e)
	s.mu.Unlock()
	return nil
}

// Setting reads a setting; nil when it is not set.
func (s *Session) Setting(ctx context.Context, ns, key string) (*string, error) {
	out, err := s.Shell(ctx, "settings get", ns, key)
	if err != nil {
		return nil, err
	}
	v := strings.TrimRight(out, "\r\n")
	if v == "null" {
		return nil, nil
	}
	return &v, nil
}

// PutSetting journals the old value and sets a new one.
func (s *Session) PutSetting(ctx context.Context, ns, key, value string) error {
	old, err := s.Setting(ctx, ns, key)
	if err != nil {
		return err
	}
	_, err = s.Do(ctx, Entry{Op: OpSetting, Namespace: ns, Key: key, Old: old, Value: value}, "settings put", ns, key, value)
	return err
}

// Install journals and installs an APK from the host.
func (s *Session) Install(ctx context.Context, apkPath, pkg string) error {
	if err := s.Record(Entry{Op: OpInstall, Package: pkg, Path: apkPath}); err != nil {
		return err
	}
	cctx, cancel := s.bind(ctx, 2*s.timeout)
	defer cancel()
	return s.wrap(ctx, "install "+pkg, s.dev.Install(cctx, apkPath))
}

// Mark posts a named mark to the proxy and returns it as recorded.
func (s *Session) Mark(ctx context.Context, name string) (capture.Flow, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return s.proxy.Mark(cctx, name)
}

// NextWindow returns a window name unique in this session: "browse-incognito-3".
func (s *Session) NextWindow(action string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.marks++
	return fmt.Sprintf("%s-%d", action, s.marks)
}

// Flows returns the proxy's flows with Seq > since.
func (s *Session) Flows(ctx context.Context, since int64) ([]capture.Flow, error) {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return s.proxy.Flows(cctx, since)
}

// Wait sleeps for d, or returns early with the reason when ctx ends or the
// device is lost.
func (s *Session) Wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-s.ctx.Done():
		return s.Lost()
	}
}

// Snapshot is the device's settings, namespace -> key -> value.
type Snapshot map[string]map[string]string

var namespaces = []string{"system", "secure", "global"}

// TakeSnapshot lists every setting in the three namespaces.
func (s *Session) TakeSnapshot(ctx context.Context) (Snapshot, error) {
	snap := Snapshot{}
	for _, ns := range namespaces {
		out, err := s.Shell(ctx, "settings list", ns)
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		for _, line := range strings.Split(out, "\n") {
			line = strings.TrimRight(line, "\r")
			if k, v, ok := strings.Cut(line, "="); ok {
				m[k] = v
			}
		}
		snap[ns] = m
	}
	return snap, nil
}

// Diff lists every setting that differs between two snapshots, one line each.
func (a Snapshot) Diff(b Snapshot) []string {
	var out []string
	for _, ns := range namespaces {
		for k, v := range a[ns] {
			if w, ok := b[ns][k]; !ok {
				out = append(out, fmt.Sprintf("%s:%s was %q, now unset", ns, k, v))
			} else if w != v {
				out = append(out, fmt.Sprintf("%s:%s was %q, now %q", ns, k, v, w))
			}
		}
		for k, w := range b[ns] {
			if _, ok := a[ns][k]; !ok {
				out = append(out, fmt.Sprintf("%s:%s was unset, now %q", ns, k, w))
			}
		}
	}
	sort.Strings(out)
	return out
}

func writeJSONFile(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func slug(s string) string {
	var b bytes.Buffer
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}
