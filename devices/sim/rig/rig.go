// Package rig holds simulated phones on an adb server the way a bench holds
// real ones: each phone is started, `adb connect`ed and online before it is
// handed out, its ground-truth log is kept, and Close stops all of it. The
// suite's sim: devices, the command tests, the recall test and the session
// tests all start their phones here.
package rig

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"telltale.dev/devices/adb"
	"telltale.dev/devices/sim"
)

// connectTimeout bounds `adb connect` plus the wait for a new phone to come
// online when the caller's context allows longer.
const connectTimeout = 30 * time.Second

// Rig is simulated phones on one adb server.
type Rig struct {
	client    *adb.Client
	ownServer bool
	truthDir  string

	mu     sync.Mutex
	phones []*sim.Phone
	truths []*os.File
}

// Option configures a rig.
type Option func(*Rig)

// WithTruthDir has every phone started without a Truth writer of its own
// append its ground-truth log to DIR/sim-N-truth.jsonl (N counts from 1 in
// start order), where a run directory keeps it next to the flows.
func WithTruthDir(dir string) Option { return func(r *Rig) { r.truthDir = dir } }

// StartServer starts a private adb server on a free port (never the user's
// 5037) and returns a rig on it; Close kills that server.
func StartServer(ctx context.Context, opts ...Option) (*Rig, error) {
	path, err := exec.LookPath("adb")
	if err != nil {
		return nil, fmt.Errorf("simulated phones need the adb server: %w (apt-get install adb, or make deps)", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	c := adb.New(adb.Server{Host: "127.0.0.1", Port: port, Path: path})
	if err := c.StartServer(ctx); err != nil {
		return nil, fmt.Errorf("start a private adb server on port %d: %w", port, err)
	}
	r := On(c, opts...)
	r.ownServer = true
	return r, nil
}

// On returns a rig on an adb server someone else runs (a test's own
// server); Close leaves that server running.
func On(c *adb.Client, opts ...Option) *Rig {
	r := &Rig{client: c}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Client is the rig's adb server.
func (r *Rig) Client() *adb.Client { return r.client }

// Start starts a phone, has the adb server connect to it and waits until it
// is online. A phone started on the address of one that was just killed is
// connected again once the server lets the old transport go.
func (r *Rig) Start(ctx context.Context, cfg sim.Config) (*sim.Phone, error) {
	if cfg.Truth == nil && r.truthDir != "" {
		f, err := r.truthFile()
		if err != nil {
			return nil, err
		}
		cfg.Truth = f
	}
	p, err := sim.Start(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("start a simulated %s: %w", describe(cfg), err)
	}
	r.mu.Lock()
	r.phones = append(r.phones, p)
	r.mu.Unlock()
	if err := r.Connect(ctx, p.Serial()); err != nil {
		return nil, err
	}
	return p, nil
}

func describe(cfg sim.Config) string {
	model := cfg.Model
	if cfg.Profile != nil {
		model = cfg.Profile.Name
	}
	if model == "" {
		model = "phone"
	}
	if cfg.Firmware != "" {
		model += " " + cfg.Firmware
	}
	return model
}

func (r *Rig) truthFile() (*os.File, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := os.MkdirAll(r.truthDir, 0o755); err != nil {
		return nil, fmt.Errorf("ground-truth log directory: %w", err)
	}
	path := filepath.Join(r.truthDir, fmt.Sprintf("sim-%d-truth.jsonl", len(r.truths)+1))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("ground-truth log: %w", err)
	}
	r.truths = append(r.truths, f)
	return f, nil
}

// Connect has the server connect to the listening phone at serial
// ("host:port") and waits until it is online: a new phone, or one back from
// a reboot or a pulled cable. A server that still holds the transport of a
// phone killed on that address answers "already connected" and brings it
// back online itself.
func (r *Rig) Connect(ctx context.Context, serial string) error {
	ctx, cancel := context.WithTimeoutCause(ctx, connectTimeout,
		fmt.Errorf("%s did not come online on the adb server %s within %s", serial, r.client.Addr(), connectTimeout))
	defer cancel()
	if err := r.client.Connect(ctx, serial); err != nil {
		return fmt.Errorf("adb connect %s: %w", serial, err)
	}
	if err := r.client.Device(serial).WaitForDevice(ctx); err != nil {
		return fmt.Errorf("wait for %s: %w", serial, context.Cause(ctx))
	}
	return nil
}

// Close stops every phone, closes their ground-truth logs and, when the rig
// started its adb server, kills it. It reports every failure.
func (r *Rig) Close(ctx context.Context) error {
	r.mu.Lock()
	phones, truths := r.phones, r.truths
	r.phones, r.truths = nil, nil
	r.mu.Unlock()
	var errs []error
	for _, p := range phones {
		// A phone the caller already closed (a killed phone) is fine.
		if err := p.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, fmt.Errorf("stop simulated phone %s: %w", p.Serial(), err))
		}
	}
	for _, f := range truths {
		if err := f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close ground-truth log: %w", err))
		}
	}
	if r.ownServer {
		if err := r.client.KillServer(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop the private adb server %s: %w", r.client.Addr(), err))
		}
	}
	return errors.Join(errs...)
}

// freePort returns a port nothing listens on; the kernel's ephemeral range
// is above the 5555-5585 ports the adb server scans.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
