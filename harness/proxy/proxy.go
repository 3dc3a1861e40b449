// Package proxy runs the recording proxy for a test run: as a container
// built locally and started through testcontainers-go (the default), or
// in-process when no Docker engine answers. Both sit behind Recorder.
//
// testcontainers-go's Ryuk reaper needs an image from a registry, which the
// harness does not have: this package sets TESTCONTAINERS_RYUK_DISABLED=true
// when it is unset, and containers are removed by Terminate instead.
package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/testcontainers/testcontainers-go"

	"telltale.dev/harness/capture"
	"telltale.dev/harness/mitm"
)

// Recorder is a running recording proxy.
type Recorder interface {
	// ProxyAddr is "127.0.0.1:PORT" on the host, for clients (or adb
	// reverse) to use as their HTTP proxy.
	ProxyAddr(ctx context.Context) (string, error)
	// ControlURL is the base URL of the control API.
	ControlURL(ctx context.Context) (string, error)
	// Flows returns the records with seq above since.
	Flows(ctx context.Context, since int64) ([]capture.Flow, error)
	// Mark appends a named mark and returns it with its seq.
	Mark(ctx context.Context, name string) (capture.Flow, error)
	// OpenApp opens a listener for one app's connections alone, so the
	// flows from it carry the app, and returns where the host's adb server
	// reaches it, as the target of `adb reverse`
	// ("localfilesystem:/tmp/telltale-apps-.../10123.sock").
	OpenApp(ctx context.Context, app capture.App) (string, error)
	// Terminate stops the proxy: it stops accepting, lets the exchanges in
	// flight finish for up to the drain timeout (WithDrainTimeout), and
	// returns once every completed exchange is in the flow log.
	Terminate(ctx context.Context) error
}

// Mode is the proxy's mode: Sinkhole (answer locally) or Forward.
type Mode = mitm.Mode

// Modes, re-exported so callers need not import mitm.
const (
	Sinkhole = mitm.Sinkhole
	Forward  = mitm.Forward
)

// Option configures Run and Start. It is a testcontainers.ContainerCustomizer
// so it mixes with testcontainers' own options in Run.
type Option func(*options)

// Customize does nothing: Run reads Options itself, as testcontainers-go
// modules do with their own option types.
func (Option) Customize(*testcontainers.GenericContainerRequest) error { return nil }

type options struct {
	certPEM, keyPEM  []byte
	mode             Mode
	flowDir          string
	upstreams        map[string]string
	upstreamInsecure bool
	bodyLimit        int64
	drain            time.Duration
}

func defaultOptions() options { return options{mode: Sinkhole, drain: mitm.DefaultDrainTimeout} }

// WithCA makes the proxy intercept with this CA (PEM certificate and key).
// Without it the proxy makes its own; fetch it from /ca.pem.
func WithCA(certPEM, keyPEM []byte) Option {
	return func(o *options) { o.certPEM, o.keyPEM = certPEM, keyPEM }
}

// WithMode sets Sinkhole (the default) or Forward.
func WithMode(m Mode) Option { return func(o *options) { o.mode = m } }

// WithFlowDir keeps the flow log in hostDir/flows.jsonl on the host, so it
// outlives the proxy.
func WithFlowDir(hostDir string) Option { return func(o *options) { o.flowDir = hostDir } }

// WithUpstreamMap sends "host" or "host:port" to another address in forward
// mode. For the container, addresses must be reachable from inside it.
func WithUpstreamMap(m map[string]string) Option {
	return func(o *options) {
		if o.upstreams == nil {
			o.upstreams = map[string]string{}
		}
		for k, v := range m {
			o.upstreams[k] = v
		}
	}
}

// WithUpstreamInsecure skips verifying upstream certificates (test servers).
func WithUpstreamInsecure() Option { return func(o *options) { o.upstreamInsecure = true } }

// WithBodyLimit sets how many bytes of each body are stored.
func WithBodyLimit(n int64) Option { return func(o *options) { o.bodyLimit = n } }

// WithDrainTimeout sets how long Terminate lets exchanges in flight finish
// (each is recorded as it completes) before it closes their connections;
// mitm.DefaultDrainTimeout by default. The container's stop timeout is this
// plus stopGrace, so Docker never kills a proxy that is still draining.
func WithDrainTimeout(d time.Duration) Option { return func(o *options) { o.drain = d } }

func collect(opts []testcontainers.ContainerCustomizer) (options, []testcontainers.ContainerCustomizer) {
	o := defaultOptions()
	var rest []testcontainers.ContainerCustomizer
	for _, c := range opts {
		if opt, ok := c.(Option); ok {
			opt(&o)
		} else {
			rest = append(rest, c)
		}
	}
	return o, rest
}

// args are the proxy flags that options add to the image's entrypoint.
func (o options) args() []string {
	a := []string{"--mode", string(o.mode), "--drain-timeout", o.drain.String()}
	for k, v := range o.upstreams {
		a = append(a, "--upstream-map", k+"="+v)
	}
	if o.upstreamInsecure {
		a = append(a, "--upstream-insecure")
	}
	if o.bodyLimit > 0 {
		a = append(a, "--body-limit", strconv.FormatInt(o.bodyLimit, 10))
	}
	return a
}

// disableRyuk must run before testcontainers reads its configuration.
func disableRyuk() {
	if _, ok := os.LookupEnv("TESTCONTAINERS_RYUK_DISABLED"); !ok {
		os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
}

// control is a client of the control API, shared by both kinds of Recorder.
type control struct {
	base string
	hc   *http.Client
}

func newControl(base string) *control {
	return &control{base: base, hc: &http.Client{Timeout: 5 * time.Minute}}
}

func (c *control) flows(ctx context.Context, since int64, wait time.Duration) ([]capture.Flow, error) {
	u := c.base + "/flows?since=" + strconv.FormatInt(since, 10)
	if wait > 0 {
		u += "&wait=" + url.QueryEscape(wait.String())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("proxy: get flows: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("proxy: get flows: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return capture.ReadLog(resp.Body)
}

func (c *control) mark(ctx context.Context, name string) (capture.Flow, error) {
	body, _ := json.Marshal(map[string]string{"name": name})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/marks", bytes.NewReader(body))
	if err != nil {
		return capture.Flow{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return capture.Flow{}, fmt.Errorf("proxy: post mark: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return capture.Flow{}, fmt.Errorf("proxy: post mark: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return capture.Flow{}, fmt.Errorf("proxy: post mark %q: %s: %s", name, resp.Status, strings.TrimSpace(string(b)))
	}
	var f capture.Flow
	if err := json.Unmarshal(b, &f); err != nil {
		return capture.Flow{}, fmt.Errorf("proxy: mark reply: %w", err)
	}
	return f, nil
}

// openApp asks the proxy for app's listener and returns its socket as the
// proxy sees it.
func (c *control) openApp(ctx context.Context, app capture.App) (string, error) {
	body, _ := json.Marshal(app)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/apps", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("proxy: open a listener for %s: %w", app.String(), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("proxy: open a listener for %s: %w", app.String(), err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("proxy: open a listener for %s: %s: %s", app.String(), resp.Status, strings.TrimSpace(string(b)))
	}
	var l mitm.AppListener
	if err := json.Unmarshal(b, &l); err != nil {
		return "", fmt.Errorf("proxy: POST /apps reply: %w", err)
	}
	return l.Socket, nil
}

// appDir makes the directory of a proxy's per-app sockets: under the
// system's temporary directory, since a socket path must fit in 107 bytes
// and run directories can be deep. The adb server, which may run as another
// user, must reach the sockets in it.
func appDir() (string, error) {
	pruneAppDirs()
	dir, err := os.MkdirTemp("", appDirPrefix+strconv.Itoa(os.Getpid())+"-")
	if err == nil {
		err = os.Chmod(dir, 0o755)
	}
	if err != nil {
		return "", fmt.Errorf("proxy: directory for per-app listeners: %w", err)
	}
	return dir, nil
}

// appDirPrefix names per-app socket directories, followed by the pid of
// the process that made one.
const appDirPrefix = "telltale-apps-"

// pruneAppDirs removes the per-app socket directories of processes that
// are gone: a run killed with kill -9 cannot remove its own. A directory
// whose process lives, or that this user cannot signal, is kept.
func pruneAppDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), appDirPrefix+"*-*"))
	for _, d := range dirs {
		pid, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(d), appDirPrefix), "-")
		n, err := strconv.Atoi(pid)
		if err != nil || n <= 0 {
			continue
		}
		if errors.Is(syscall.Kill(n, 0), syscall.ESRCH) {
			_ = os.RemoveAll(d) // best effort: a leftover only costs an inode
		}
	}
}

// reverseTarget is how `adb reverse` names a Unix socket on the host.
func reverseTarget(hostPath string) string { return "localfilesystem:" + hostPath }

func (c *control) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("proxy: get %s: %w", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("proxy: get %s: %s", path, resp.Status)
	}
	return b, err
}

// WaitFlows is Flows that waits up to wait for at least one record above
// since, for polling without busy loops.
func WaitFlows(ctx context.Context, r Recorder, since int64, wait time.Duration) ([]capture.Flow, error) {
	base, err := r.ControlURL(ctx)
	if err != nil {
		return nil, err
	}
	return newControl(base).flows(ctx, since, wait)
}

// CACert fetches the CA certificate (PEM) the proxy intercepts with.
func CACert(ctx context.Context, r Recorder) ([]byte, error) {
	base, err := r.ControlURL(ctx)
	if err != nil {
		return nil, err
	}
	return newControl(base).get(ctx, "/ca.pem")
}
