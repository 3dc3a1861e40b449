package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"telltale.dev/devices/adb"
	"telltale.dev/devices/profiles"
	"telltale.dev/harness/androidca"
	"telltale.dev/harness/ca"
	"telltale.dev/harness/journal"
	"telltale.dev/harness/lease"
	"telltale.dev/harness/proxy"
)

// Config is what Open needs besides the lease.
type Config struct {
	// RunDir is the run directory, whose journal records every change.
	RunDir string
	// Dir is this device's own directory (its flow log, the settings
	// snapshots); the run directory's layout names it.
	Dir     string
	Profile *profiles.Profile
	CA      *ca.CA
	// StartProxy starts this device's recording proxy, its flow log in
	// flowDir, as a container named name (ProxyName).
	StartProxy func(ctx context.Context, flowDir, name string) (proxy.Recorder, error)
	// ProxyName names the proxy's container, journaled before it starts so
	// `telltale restore` removes it after any crash; "" for a proxy that
	// dies with the process (in-process).
	ProxyName string
	// Settle overrides the profile's settle window when non-zero.
	Settle time.Duration
	// CallTimeout bounds each device call (DefaultCallTimeout when zero).
	CallTimeout time.Duration
	// ProbeTimeout bounds the wait for the probe request (30s when zero).
	ProbeTimeout time.Duration
	// Log receives progress lines (nil: discarded).
	Log io.Writer
	// SeqBase keeps this process's journal sequence numbers apart from other
	// processes writing the same journal (use the Ginkgo process number).
	SeqBase int
	// Capture is how the phone's traffic reaches the proxy (--capture);
	// "" is CaptureProxy.
	Capture Capture
}

func (c Config) check() error {
	var missing []string
	for name, ok := range map[string]bool{"RunDir": c.RunDir != "", "Dir": c.Dir != "", "Profile": c.Profile != nil, "CA": c.CA != nil, "StartProxy": c.StartProxy != nil} {
		if !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("session: Open needs Config.%s", strings.Join(missing, ", Config."))
	}
	return nil
}

// Open leases and prepares the device: reads its build properties,
// snapshots its settings, starts its proxy, installs the run's CA, points
// the device at the proxy through adb reverse (and the proxy setting, or
// iptables in transparent capture) and proves the path carries a request.
// On error the session has already put back what it changed.
func Open(ctx context.Context, l lease.Lease, cfg Config) (s *Session, err error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	srv, err := adb.ParseServer(l.Server)
	if err != nil {
		return nil, err
	}
	lock, err := lease.Acquire(l)
	if err != nil {
		return nil, err
	}
	j, err := journal.Open(cfg.RunDir, cfg.SeqBase*journal.SeqSpan)
	if err != nil {
		lock.Release()
		return nil, err
	}
	client := adb.New(srv)
	s = &Session{
		lease: l, profile: cfg.Profile,
		client: client, dev: client.Device(l.Serial), journal: j, lock: lock,
		dir: cfg.Dir, log: cfg.Log, timeout: cfg.CallTimeout, probeTimeout: cfg.ProbeTimeout,
	}
	if s.log == nil {
		s.log = io.Discard
	}
	if s.timeout <= 0 {
		s.timeout = DefaultCallTimeout
	}
	if s.probeTimeout <= 0 {
		s.probeTimeout = 30 * time.Second
	}
	s.ctx, s.cancel = context.WithCancelCause(context.Background())
	defer func() {
		if err != nil {
			err = errors.Join(err, s.Close(context.WithoutCancel(ctx)))
			s = nil
		}
	}()
	go s.watch()

	if err := s.readDevice(ctx, cfg.Settle); err != nil {
		return s, err
	}
	if s.before, err = s.TakeSnapshot(ctx); err != nil {
		return s, err
	}
	if err := writeJSONFile(filepath.Join(s.dir, "settings-before.json"), s.before); err != nil {
		return s, err
	}
	if err := s.startProxy(ctx, cfg); err != nil {
		return s, err
	}
	if err := s.installCA(ctx, cfg.CA); err != nil {
		return s, err
	}
	if err := s.chooseCapture(ctx, cfg.Capture); err != nil {
		return s, err
	}
	if err := s.readApps(ctx); err != nil {
		return s, err
	}
	if err := s.routeToProxy(ctx); err != nil {
		return s, err
	}
	return s, s.Probe(ctx)
}

func (s *Session) readDevice(ctx context.Context, settle time.Duration) error {
	cctx, cancel := s.bind(ctx, 0)
	defer cancel()
	if err := s.dev.WaitForDevice(cctx); err != nil {
		return s.wrap(ctx, "wait for device", err)
	}
	props, err := s.dev.Properties(cctx)
	if err != nil {
		return s.wrap(ctx, "read build properties", err)
	}
	s.props = props
	for i := range s.profile.Firmware {
		if s.profile.Firmware[i].Version == s.lease.Firmware {
			s.firmware = &s.profile.Firmware[i]
		}
	}
	if s.firmware == nil {
		return fmt.Errorf("session: profile %s has no firmware %s: add it to the profile (%s)", s.profile.Name, s.lease.Firmware, profiles.EnvDir)
	}
	s.settle = settle
	if s.settle <= 0 {
		if s.settle, err = time.ParseDuration(s.profile.Settle); err != nil || s.settle <= 0 {
			s.settle = 3 * time.Second
		}
	}
	return nil
}

func (s *Session) startProxy(ctx context.Context, cfg Config) error {
	fmt.Fprintf(s.log, "session %s: starting proxy\n", s.lease.Serial)
	flowDir := filepath.Join(s.dir, "proxy")
	if err := os.MkdirAll(flowDir, 0o755); err != nil {
		return fmt.Errorf("session: flow log directory: %w", err)
	}
	if cfg.ProxyName != "" {
		if err := s.Record(journal.Entry{Op: journal.OpContainer, Value: cfg.ProxyName}); err != nil {
			return err
		}
	}
	rec, err := cfg.StartProxy(ctx, flowDir, cfg.ProxyName)
	if err != nil {
		return fmt.Errorf("start proxy for %s: %w", s.lease.Serial, err)
	}
	s.proxy = rec
	return nil
}

// installCA puts the run's CA where the device's apps will trust it: the
// system store on devices that allow `adb root` or have `su` (a rooted
// phone), else the user store with a loud warning.
func (s *Session) installCA(ctx context.Context, c *ca.CA) error {
	d := device{s}
	if s.profile.Root {
		err := s.becomeRoot(ctx)
		if err == nil {
			root := androidca.AdbdRoot
			s.root = &root
			return s.installSystemCA(ctx, c, androidca.AdbdRoot)
		}
		if lost := s.Lost(); lost != nil {
			return err
		}
		s.warn(fmt.Sprintf("adb root failed (%v): trying su, then the user CA store", err))
	}
	root, ok, err := androidca.FindSu(ctx, d)
	if err != nil {
		return err
	}
	if ok {
		s.root = &root
		return s.installSystemCA(ctx, c, root)
	}
	path, err := androidca.InstallUser(ctx, d, c, s.Record)
	if err != nil {
		return err
	}
	s.caStore = androidca.StoreUser
	s.warn(androidca.UserStoreWarning(s.lease.Serial, path))
	return nil
}

func (s *Session) installSystemCA(ctx context.Context, c *ca.CA, root androidca.Root) error {
	if err := androidca.InstallSystem(ctx, device{s}, c, root, s.SDK(), s.Record); err != nil {
		return err
	}
	s.caStore = androidca.StoreSystem
	return nil
}

func (s *Session) warn(msg string) {
	s.warnings = append(s.warnings, msg)
	fmt.Fprintln(s.log, msg)
}

// device is the session's phone as the CA recipes use it: each call bound
// by the session's deadline and ended when the phone is lost.
type device struct{ s *Session }

func (d device) Shell(ctx context.Context, cmd string, args ...string) (*adb.ShellResult, error) {
	cctx, cancel := d.s.bind(ctx, 0)
	defer cancel()
	res, err := d.s.dev.Shell(cctx, cmd, args...)
	return res, d.s.wrap(ctx, "adb shell "+cmd, err)
}

func (d device) Push(ctx context.Context, r io.Reader, path string, mode os.FileMode, mtime time.Time, opts ...adb.TransferOption) error {
	cctx, cancel := d.s.bind(ctx, 0)
	defer cancel()
	return d.s.wrap(ctx, "push "+path, d.s.dev.Push(cctx, r, path, mode, mtime, opts...))
}

func (d device) Stat(ctx context.Context, path string) (*adb.DirEntry, error) {
	cctx, cancel := d.s.bind(ctx, 0)
	defer cancel()
	e, err := d.s.dev.Stat(cctx, path)
	return e, d.s.wrap(ctx, "stat "+path, err)
}

// routeToProxy makes the device's localhost:8080 reach the proxy, and then
// points the global HTTP proxy setting at it, or in transparent capture has
// iptables send the phone's connections there.
func (s *Session) routeToProxy(ctx context.Context) error {
	addr, err := s.proxy.ProxyAddr(ctx)
	if err != nil {
		return fmt.Errorf("proxy address: %w", err)
	}
	_, port, err := splitPort(addr)
	if err != nil {
		return fmt.Errorf("proxy address: %w", err)
	}
	if err := s.reverse(ctx, ProxyPort, fmt.Sprintf("tcp:%d", port)); err != nil {
		return err
	}
	if s.capture == CaptureTransparent {
		return s.routeTransparent(ctx)
	}
	return s.PutSetting(ctx, "global", "http_proxy", fmt.Sprintf("127.0.0.1:%d", ProxyPort))
}

// reverse journals and makes an adb reverse rule from the phone's
// localhost:port to target on the host.
func (s *Session) reverse(ctx context.Context, port int, target string) error {
	local := fmt.Sprintf("tcp:%d", port)
	if err := s.Record(journal.Entry{Op: journal.OpReverse, Local: local}); err != nil {
		return err
	}
	cctx, cancel := s.bind(ctx, 0)
	err := s.dev.Reverse(cctx, local, target)
	cancel()
	return s.wrap(ctx, "adb reverse "+local, err)
}

func splitPort(addr string) (string, int, error) {
	i := strings.LastIndex(addr, ":")
	if i < 0 {
		return "", 0, fmt.Errorf("%q has no port", addr)
	}
	p, err := strconv.Atoi(addr[i+1:])
	if err != nil {
		return "", 0, fmt.Errorf("%q: %w", addr, err)
	}
	return addr[:i], p, nil
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
