package session

import (
	"bytes"
	"context"
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
	"telltale.dev/harness/ca"
	"telltale.dev/harness/capture"
)

// Config is what Open needs besides the lease.
type Config struct {
	RunDir  string
	Profile *profiles.Profile
	CA      *ca.CA
	// StartProxy starts this device's recording proxy; flowDir is where its
	// flow log should live, name the container name to give it (journaled
	// before the start, so `telltale restore` removes it after any crash).
	StartProxy func(ctx context.Context, flowDir, name string) (Recorder, error)
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
}

// System CA store locations. Android 14 (API 34) reads the conscrypt APEX's
// copy instead of /system's.
const (
	systemCACerts = "/system/etc/security/cacerts"
	apexCACerts   = "/apex/com.android.conscrypt/cacerts"
	userCADir     = "/sdcard/Download"
	stagingDir    = "/data/local/tmp/telltale-cacerts"
	apexSDK       = 34
)

// Open leases and prepares the device: reads its build properties,
// snapshots its settings, starts its proxy, installs the run's CA, points
// the device at the proxy through adb reverse and proves the path carries a
// request. On error the session has already put back what it changed.
func Open(ctx context.Context, l Lease, cfg Config) (s *Session, err error) {
	if cfg.Profile == nil || cfg.CA == nil || cfg.StartProxy == nil {
		return nil, errors.New("session: Open needs a profile, a CA and StartProxy")
	}
	lock, err := Acquire(l)
	if err != nil {
		return nil, err
	}
	srv, err := adb.ParseServer(l.Server)
	if err != nil {
		lock.Release()
		return nil, err
	}
	j, err := OpenJournal(cfg.RunDir, cfg.SeqBase*seqSpan)
	if err != nil {
		lock.Release()
		return nil, err
	}
	client := adb.New(srv)
	s = &Session{
		Lease: l, Profile: cfg.Profile,
		client: client, dev: client.Device(l.Serial), journal: j, lock: lock,
		runDir: cfg.RunDir, log: cfg.Log, timeout: cfg.CallTimeout,
	}
	if s.log == nil {
		s.log = io.Discard
	}
	if s.timeout <= 0 {
		s.timeout = DefaultCallTimeout
	}
	s.ctx, s.cancel = context.WithCancelCause(context.Background())
	defer func() {
		if err != nil {
			err = errors.Join(err, s.Close(context.WithoutCancel(ctx)))
			s = nil
		}
	}()
	go s.watch(l)

	if err := s.readDevice(ctx, cfg.Settle); err != nil {
		return s, err
	}
	if s.before, err = s.TakeSnapshot(ctx); err != nil {
		return s, err
	}
	if err := writeJSONFile(filepath.Join(s.Dir(), "settings-before.json"), s.before); err != nil {
		return s, err
	}
	fmt.Fprintf(s.log, "session %s: starting proxy\n", l.Serial)
	flowDir := filepath.Join(s.Dir(), "proxy")
	if err := os.MkdirAll(flowDir, 0o755); err != nil {
		return s, err
	}
	name := ProxyName(cfg.RunDir, l.Serial)
	if err := s.Record(Entry{Op: OpContainer, Value: name}); err != nil {
		return s, err
	}
	rec, err := cfg.StartProxy(ctx, flowDir, name)
	if err != nil {
		return s, fmt.Errorf("start proxy for %s: %w", l.Serial, err)
	}
	s.proxy = rec
	if err := s.installCA(ctx, cfg.CA); err != nil {
		return s, err
	}
	if err := s.routeToProxy(ctx); err != nil {
		return s, err
	}
	probeTimeout := cfg.ProbeTimeout
	if probeTimeout <= 0 {
		probeTimeout = 30 * time.Second
	}
	if err := s.probe(ctx, probeTimeout); err != nil {
		return s, err
	}
	return s, nil
}

// ProxyName is the container name of a device's proxy in a run: unique per
// run directory and serial, and known before the container exists.
func ProxyName(runDir, serial string) string {
	return "telltale-proxy-" + slug(filepath.Base(runDir)) + "-" + slug(serial)
}

// watch ends the session's context with ErrDeviceLost as soon as the adb
// server reports the device offline or gone, or the server itself stops
// answering. WatchDevices also re-lists the devices, so a TCP device that
// adb 29 marks offline without telling its trackers is reported too.
func (s *Session) watch(l Lease) {
	lost := func(reason string) {
		s.cancel(fmt.Errorf("%w: %s on %s (%s)", ErrDeviceLost, l.Serial, l.Server, reason))
	}
	events, err := s.client.WatchDevices(s.ctx)
	if err != nil {
		if s.ctx.Err() == nil {
			lost(err.Error())
		}
		return
	}
	for ev := range events {
		if ev.Serial != l.Serial || ev.NewState == "device" || s.restarting.Load() {
			continue
		}
		state := ev.NewState
		if state == "" {
			state = "gone"
		}
		lost("state " + state)
		return
	}
	if s.ctx.Err() == nil {
		lost("the adb server stopped answering device tracking")
	}
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
	s.Props = props
	for i := range s.Profile.Firmware {
		if s.Profile.Firmware[i].Version == s.Lease.Firmware {
			s.Firmware = &s.Profile.Firmware[i]
		}
	}
	if s.Firmware == nil {
		return fmt.Errorf("session: profile %s has no firmware %s", s.Profile.Name, s.Lease.Firmware)
	}
	s.Settle = settle
	if s.Settle <= 0 {
		if s.Settle, err = time.ParseDuration(s.Profile.Settle); err != nil || s.Settle <= 0 {
			s.Settle = 3 * time.Second
		}
	}
	return nil
}

// SDK is the device's API level.
func (s *Session) SDK() int {
	n, _ := strconv.Atoi(s.Props["ro.build.version.sdk"])
	if n == 0 && s.Firmware != nil {
		n = s.Firmware.SDK
	}
	return n
}

// installCA puts the run's CA where the device's apps will trust it: the
// system store on devices that allow `adb root` or have `su` (a rooted
// phone), else the user store with a loud warning.
func (s *Session) installCA(ctx context.Context, c *ca.CA) error {
	if s.Profile.Root {
		err := s.rootAndWait(ctx)
		if err == nil {
			return s.installSystemCA(ctx, c)
		}
		if lost := s.Lost(); lost != nil {
			return err
		}
		s.warn(fmt.Sprintf("adb root failed (%v): trying su, then the user CA store", err))
	}
	if s.detectSu(ctx) {
		return s.installSystemCA(ctx, c)
	}
	if lost := s.Lost(); lost != nil {
		return lost
	}
	return s.installUserCA(ctx, c)
}

// detectSu finds how this device's su runs a command as root: Magisk and
// SuperSU take `su -c CMD`, the userdebug su takes `su 0 CMD`.
func (s *Session) detectSu(ctx context.Context) bool {
	for _, style := range []string{"-c", "0"} {
		out, err := s.Shell(ctx, "su "+style+" id -u")
		if err == nil && strings.TrimSpace(out) == "0" {
			s.su = style
			return true
		}
	}
	return false
}

// rootShell runs a command line as root: directly after `adb root`, or
// through su.
func (s *Session) rootShell(ctx context.Context, cmd string) (string, error) {
	if s.su == "" {
		return s.Shell(ctx, cmd)
	}
	return s.Shell(ctx, "su "+s.su+" "+adb.Quote(cmd))
}

func (s *Session) rootAndWait(ctx context.Context) error {
	if out, err := s.Shell(ctx, "id -u"); err == nil && strings.TrimSpace(out) == "0" {
		return nil
	}
	cctx, cancel := s.bind(ctx, 0)
	defer cancel()
	// adbd restarts as root: the transport drops and comes back, which the
	// watcher must not take for a lost device.
	s.restarting.Store(true)
	defer s.restarting.Store(false)
	if err := s.dev.Root(cctx); err != nil {
		return s.wrap(ctx, "adb root", err)
	}
	if _, _, err := splitPort(s.Lease.Serial); err == nil {
		// A TCP device (emulator console port, simulated phone): the server
		// retries a dropped one only after ~10 s; reconnecting is at once.
		_ = s.client.Disconnect(cctx, s.Lease.Serial)
		_ = s.client.Connect(cctx, s.Lease.Serial)
	}
	deadline := time.Now().Add(s.timeout)
	for time.Now().Before(deadline) {
		if err := s.dev.WaitForDevice(cctx); err == nil {
			if out, err := s.dev.RunCommand(cctx, "id -u"); err == nil && strings.TrimSpace(out) == "0" {
				return nil
			}
		}
		if err := s.Wait(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("adb root on %s: adbd did not come back as root within %s", s.Lease.Serial, s.timeout)
}

// installSystemCA follows the recipe that works on read-only system images:
// copy the existing certificates aside, mount a tmpfs over the directory,
// copy them back and add ours. API 34+ reads the conscrypt APEX copy
// instead, which is private to each mount namespace: the tmpfs is bind-
// mounted over it in adbd's namespace and in the zygotes' (apps forked from
// then on see it; apps already running keep their view until restarted).
func (s *Session) installSystemCA(ctx context.Context, c *ca.CA) error {
	if err := s.Record(Entry{Op: OpFile, Path: stagingDir, Su: s.su}); err != nil {
		return err
	}
	if _, err := s.Shell(ctx, "mkdir -p", stagingDir); err != nil {
		return err
	}
	name := c.AndroidName()
	staged := stagingDir + "/" + name
	if err := s.push(ctx, c.CertPEM(), staged, 0o644); err != nil {
		return err
	}
	if err := s.Record(Entry{Op: OpCASystem, Paths: []string{systemCACerts}, Su: s.su}); err != nil {
		return err
	}
	dir, keep := systemCACerts, stagingDir+"/keep"
	steps := []string{
		"mkdir -p " + keep,
		"cp " + dir + "/* " + keep + "/",
		"mount -t tmpfs tmpfs " + dir,
		"cp " + keep + "/* " + dir + "/",
		"cp " + staged + " " + dir + "/" + name,
		"chown root:root " + dir + "/" + name,
		"chmod 644 " + dir + "/" + name,
	}
	for _, step := range steps {
		if _, err := s.rootShell(ctx, step); err != nil {
			return fmt.Errorf("install CA into %s: %w", dir, err)
		}
	}
	// Enforcing SELinux reads only files labelled as system files; a
	// permissive or label-less image needs nothing, so this may fail.
	_, _ = s.rootShell(ctx, "chcon u:object_r:system_file:s0 "+dir+"/"+name)
	check := []string{dir}
	if s.SDK() >= apexSDK {
		if err := s.bindAPEX(ctx); err != nil {
			return err
		}
		check = append(check, apexCACerts)
	}
	for _, d := range check {
		if _, err := s.stat(ctx, d+"/"+name); err != nil {
			return fmt.Errorf("install CA into %s: the certificate is not there afterwards: %w", d, err)
		}
	}
	s.CAStore = "system"
	return nil
}

// bindAPEX shows the system store's tmpfs at the conscrypt APEX path, in
// adbd's mount namespace and each zygote's.
func (s *Session) bindAPEX(ctx context.Context) error {
	out, _ := s.rootShell(ctx, "pidof zygote zygote64") // none found: exit 1, no pids
	pids := strings.Fields(out)
	if err := s.Record(Entry{Op: OpCASystem, Paths: []string{apexCACerts}, Namespaces: pids, Su: s.su}); err != nil {
		return err
	}
	bind := "mount --bind " + systemCACerts + " " + apexCACerts
	if _, err := s.rootShell(ctx, bind); err != nil {
		return fmt.Errorf("install CA into %s: %w", apexCACerts, err)
	}
	for _, pid := range pids {
		if _, err := s.rootShell(ctx, nsenter(pid, bind)); err != nil {
			return fmt.Errorf("install CA into %s for zygote %s: %w", apexCACerts, pid, err)
		}
	}
	return nil
}

// nsenter runs cmd in process pid's mount namespace.
func nsenter(pid, cmd string) string {
	return "nsenter --mount=/proc/" + pid + "/ns/mnt -- " + cmd
}

// installUserCA copies the CA where the user can install it. Without root,
// Android (7+) only lets the user add a CA to the user store through
// Settings, and apps trust that store only when they opt in: so most
// traffic will show up as TLS failures. Say so loudly.
func (s *Session) installUserCA(ctx context.Context, c *ca.CA) error {
	path := userCADir + "/telltale-" + c.AndroidName() + ".crt"
	if err := s.Record(Entry{Op: OpFile, Path: path}); err != nil {
		return err
	}
	if _, err := s.Shell(ctx, "mkdir -p", userCADir); err != nil {
		return err
	}
	if err := s.push(ctx, c.CertPEM(), path, 0o644); err != nil {
		return err
	}
	s.CAStore = "user"
	s.warn(fmt.Sprintf("WARNING: %s cannot take a system CA (no root): the run's CA was copied to %s for the user "+
		"store. Most apps do not trust user CAs, so their traffic appears as TLS failures (\"contacted, not readable\"); "+
		"a missing leak there proves nothing.", s.Lease.Serial, path))
	return nil
}

func (s *Session) warn(msg string) {
	s.Warnings = append(s.Warnings, msg)
	fmt.Fprintln(s.log, msg)
}

func (s *Session) push(ctx context.Context, data []byte, path string, mode os.FileMode) error {
	cctx, cancel := s.bind(ctx, 0)
	defer cancel()
	return s.wrap(ctx, "push "+path, s.dev.Push(cctx, bytes.NewReader(data), path, mode, time.Now()))
}

func (s *Session) stat(ctx context.Context, path string) (*adb.DirEntry, error) {
	cctx, cancel := s.bind(ctx, 0)
	defer cancel()
	e, err := s.dev.Stat(cctx, path)
	return e, s.wrap(ctx, "stat "+path, err)
}

// routeToProxy makes the device's localhost:8080 reach the proxy and points
// the global HTTP proxy setting at it.
func (s *Session) routeToProxy(ctx context.Context) error {
	addr, err := s.proxy.ProxyAddr(ctx)
	if err != nil {
		return fmt.Errorf("proxy address: %w", err)
	}
	_, port, err := splitPort(addr)
	if err != nil {
		return fmt.Errorf("proxy address: %w", err)
	}
	local := fmt.Sprintf("tcp:%d", ProxyPort)
	if err := s.Record(Entry{Op: OpReverse, Local: local}); err != nil {
		return err
	}
	cctx, cancel := s.bind(ctx, 0)
	err = s.dev.Reverse(cctx, local, fmt.Sprintf("tcp:%d", port))
	cancel()
	if err != nil {
		return s.wrap(ctx, "adb reverse", err)
	}
	return s.PutSetting(ctx, "global", "http_proxy", fmt.Sprintf("127.0.0.1:%d", ProxyPort))
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

// probe proves that the device's traffic reaches the proxy before any
// scenario runs; see probeRequest for how.
func (s *Session) probe(ctx context.Context, timeout time.Duration) error {
	mark, err := s.Mark(ctx, "probe")
	if err != nil {
		return fmt.Errorf("probe: mark the proxy log: %w", err)
	}
	token := fmt.Sprintf("telltale-probe-%d", time.Now().UnixNano())
	_ = s.probeRequest(ctx, token)
	deadline := time.Now().Add(timeout)
	for {
		flows, err := s.Flows(ctx, mark.Seq)
		if err != nil {
			return fmt.Errorf("probe: read the proxy log: %w", err)
		}
		for _, f := range flows {
			if f.Kind == capture.KindHTTP || f.Kind == capture.KindTLSFailure {
				fmt.Fprintf(s.log, "session %s: probe: proxy saw %s\n", s.Lease.Serial, describeFlow(f))
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("probe: no request from %s reached the proxy within %s: check that adb reverse works "+
				"(adb -s %s reverse --list) and that apps honour settings global http_proxy", s.Lease.Serial, timeout, s.Lease.Serial)
		}
		if err := s.Wait(ctx, 250*time.Millisecond); err != nil {
			return fmt.Errorf("probe: %w", err)
		}
	}
}

func describeFlow(f capture.Flow) string {
	if f.Request != nil {
		return f.Request.Method + " " + f.Request.URL
	}
	if f.TLS != nil {
		return "TLS to " + f.TLS.SNI
	}
	return string(f.Kind)
}
