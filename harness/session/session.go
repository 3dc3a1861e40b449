// Package session is one leased phone prepared for scenarios: its own
// recording proxy, the run's CA, adb reverse and the global HTTP proxy
// setting, every change journaled before it is made and put back at Close,
// and every device call bounded by a deadline and ended at once when the
// phone drops off its adb server. The parts have their own packages: lease
// (finding and holding phones), journal (the record of changes), androidca
// (the CA recipes) and restore (undoing changes).
package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"telltale.dev/devices/adb"
	"telltale.dev/devices/profiles"
	"telltale.dev/harness/androidca"
	"telltale.dev/harness/capture"
	"telltale.dev/harness/journal"
	"telltale.dev/harness/lease"
	"telltale.dev/harness/proxy"
	"telltale.dev/harness/redirect"
	"telltale.dev/harness/restore"
)

// ErrDeviceLost is the cause of every failure after the leased device
// dropped off its adb server.
var ErrDeviceLost = errors.New("device lost")

// DefaultCallTimeout bounds one device call (a shell command, a push).
const DefaultCallTimeout = 30 * time.Second

// ProxyPort is the device-side port of the reverse rule to the proxy.
const ProxyPort = 8080

// Session is one leased device prepared for scenarios. Its state is read
// through methods: nothing a caller holds can change it.
type Session struct {
	lease    lease.Lease
	profile  *profiles.Profile
	firmware *profiles.Firmware
	props    map[string]string
	settle   time.Duration
	caStore  string
	warnings []string

	client  *adb.Client
	dev     *adb.Device
	journal *journal.Journal
	proxy   proxy.Recorder
	lock    *lease.Lock
	dir     string
	log     io.Writer
	timeout time.Duration
	// probeTimeout bounds the wait for the probe request to show up.
	probeTimeout time.Duration
	// restarting is set while adbd restarts (adb root), when the device
	// leaving the bus is expected.
	restarting atomic.Bool

	ctx    context.Context // cancelled with ErrDeviceLost when the device drops
	cancel context.CancelCauseFunc

	// root is how commands run as root on the phone; nil without root.
	root *androidca.Root
	// capture is the mode chosen at Open; apps names the phone's uids.
	capture Capture
	apps    map[int]string
	// rulesBefore are the phone's iptables rules before transparent
	// capture changed them, to check the restore against.
	rulesBefore redirect.State

	mu      sync.Mutex
	entries []journal.Entry // this session's journal entries, oldest first
	marks   int
	before  restore.Snapshot
}

// Lease is the device the session holds.
func (s *Session) Lease() lease.Lease { return s.lease }

// Profile is the device's model profile.
func (s *Session) Profile() *profiles.Profile { return s.profile }

// Firmware is the profile's entry for the device's firmware.
func (s *Session) Firmware() *profiles.Firmware { return s.firmware }

// Prop is one of the build properties read at Open ("" when absent).
func (s *Session) Prop(name string) string { return s.props[name] }

// Props is a copy of the build properties read at Open.
func (s *Session) Props() map[string]string { return maps.Clone(s.props) }

// SDK is the device's API level.
func (s *Session) SDK() int {
	n, _ := strconv.Atoi(s.props["ro.build.version.sdk"])
	if n == 0 && s.firmware != nil {
		n = s.firmware.SDK
	}
	return n
}

// Settle is how long actions wait for telemetry to flush.
func (s *Session) Settle() time.Duration { return s.settle }

// CAStore is where the run's CA went: "system", or "user" (see Warnings).
func (s *Session) CAStore() string { return s.caStore }

// Warnings say what a reader of the report must know (a user-store CA most
// apps ignore).
func (s *Session) Warnings() []string { return append([]string(nil), s.warnings...) }

// Dir is the session's own directory in the run directory.
func (s *Session) Dir() string { return s.dir }

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
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("device %s did not answer within %s", s.lease.Serial, timeout))
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
	return fmt.Errorf("%s on %s: %w", what, s.lease.Serial, err)
}

// checkGone asks the adb server whether the device is still there, and
// marks the session lost when it is not.
func (s *Session) checkGone(ctx context.Context) bool {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	st, err := s.dev.State(cctx)
	if err == nil && st == adb.StateDevice {
		return false
	}
	reason := "state " + st
	if err != nil {
		reason = err.Error()
	}
	s.cancel(fmt.Errorf("%w: %s on %s (%s)", ErrDeviceLost, s.lease.Serial, s.lease.Server, reason))
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
func (s *Session) Do(ctx context.Context, e journal.Entry, cmd string, args ...string) (string, error) {
	if err := s.Record(e); err != nil {
		return "", err
	}
	return s.Shell(ctx, cmd, args...)
}

// Record writes a change to the journal before it is made.
func (s *Session) Record(e journal.Entry) error {
	e.Server, e.Serial = s.lease.Server, s.lease.Serial
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
	if err := s.RecordSetting(ctx, ns, key, value); err != nil {
		return err
	}
	_, err := s.Shell(ctx, "settings put", ns, key, value)
	return err
}

// RecordSetting journals a setting's value before it is changed (by
// PutSetting, or on the screen by an app), and first the values of the
// settings the system writes because of it (restore.Derived: the
// global_http_proxy_* keys of http_proxy), so that an undo from the journal
// alone puts those back too.
func (s *Session) RecordSetting(ctx context.Context, ns, key, value string) error {
	for _, d := range restore.Derived(ns, key) {
		dns, dkey, _ := strings.Cut(d, ":")
		old, err := s.Setting(ctx, dns, dkey)
		if err != nil {
			return err
		}
		if err := s.Record(journal.Entry{Op: journal.OpSetting, Namespace: dns, Key: dkey, Old: old}); err != nil {
			return err
		}
	}
	old, err := s.Setting(ctx, ns, key)
	if err != nil {
		return err
	}
	return s.Record(journal.Entry{Op: journal.OpSetting, Namespace: ns, Key: key, Old: old, Value: value})
}

// Install journals and installs an APK from the host.
func (s *Session) Install(ctx context.Context, apkPath, pkg string) error {
	if err := s.Record(journal.Entry{Op: journal.OpInstall, Package: pkg, Path: apkPath}); err != nil {
		return err
	}
	cctx, cancel := s.bind(ctx, 2*s.timeout)
	defer cancel()
	return s.wrap(ctx, "install "+pkg, s.dev.Install(cctx, apkPath))
}

// TakeSnapshot lists every setting of the device.
func (s *Session) TakeSnapshot(ctx context.Context) (restore.Snapshot, error) {
	cctx, cancel := s.bind(ctx, 0)
	defer cancel()
	snap, err := restore.TakeSnapshot(cctx, s.dev)
	return snap, s.wrap(ctx, "read settings", err)
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

// WaitFlows is Flows that waits up to wait for a record above since to
// arrive (a long poll), so a follower of the log needs no polling loop.
func (s *Session) WaitFlows(ctx context.Context, since int64, wait time.Duration) ([]capture.Flow, error) {
	cctx, cancel := context.WithTimeout(ctx, wait+30*time.Second)
	defer cancel()
	return proxy.WaitFlows(cctx, s.proxy, since, wait)
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
