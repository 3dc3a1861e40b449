package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"

	"telltale.dev/harness/ca"
	"telltale.dev/harness/capture"
	"telltale.dev/harness/mitm"
)

var fallbackOnce sync.Once

// Start runs the proxy in a container when a Docker engine answers, and
// in-process otherwise (saying so once through slog).
func Start(ctx context.Context, opts ...Option) (Recorder, error) {
	disableRyuk()
	if err := pingDocker(ctx); err != nil {
		fallbackOnce.Do(func() {
			slog.Warn("no Docker engine answered; running the recording proxy in-process", "err", err)
		})
		return StartInProcess(ctx, opts...)
	}
	img, err := BuildImage(ctx)
	if err != nil {
		return nil, err
	}
	custom := make([]testcontainers.ContainerCustomizer, len(opts))
	for i, o := range opts {
		custom[i] = o
	}
	return Run(ctx, img, custom...)
}

func pingDocker(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	_, err = cli.Ping(ctx, client.PingOptions{})
	return err
}

// InProcess is the proxy running inside this process, on 127.0.0.1.
type InProcess struct {
	srv       *mitm.Server
	log       *capture.LogWriter
	proxyLn   net.Listener
	control   *http.Server
	ctl       *control
	drain     time.Duration
	wg        sync.WaitGroup
	tmpDir    string
	appDir    string // the per-app sockets
	closeOnce sync.Once
	closeErr  error
}

// StartInProcess runs the proxy in this process. Its flow log is
// WithFlowDir's flows.jsonl, or a temporary one removed by Terminate.
func StartInProcess(ctx context.Context, opts ...Option) (*InProcess, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if o.drain <= 0 {
		return nil, fmt.Errorf("proxy: drain timeout %v: want a positive duration", o.drain)
	}
	var authority *ca.CA
	var err error
	if o.certPEM != nil {
		authority, err = ca.Parse(o.certPEM, o.keyPEM)
	} else {
		authority, err = ca.New("telltale run CA")
	}
	if err != nil {
		return nil, err
	}
	p := &InProcess{drain: o.drain}
	dir := o.flowDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "telltale-flows-"); err != nil {
			return nil, fmt.Errorf("proxy: %w", err)
		}
		p.tmpDir = dir
	}
	if p.appDir, err = appDir(); err != nil {
		p.cleanupTmp()
		return nil, err
	}
	if p.log, err = capture.NewLogWriter(filepath.Join(dir, "flows.jsonl")); err != nil {
		p.cleanupTmp()
		return nil, err
	}
	p.srv, err = mitm.New(mitm.Config{CA: authority, Log: p.log, Mode: o.mode, UpstreamMap: o.upstreams,
		UpstreamInsecure: o.upstreamInsecure, BodyLimit: o.bodyLimit, AppDir: p.appDir})
	if err != nil {
		p.log.Close()
		p.cleanupTmp()
		return nil, err
	}
	var lc net.ListenConfig
	if p.proxyLn, err = lc.Listen(ctx, "tcp", "127.0.0.1:0"); err != nil {
		p.log.Close()
		p.cleanupTmp()
		return nil, fmt.Errorf("proxy: listen: %w", err)
	}
	controlLn, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		p.proxyLn.Close()
		p.log.Close()
		p.cleanupTmp()
		return nil, fmt.Errorf("proxy: listen: %w", err)
	}
	p.ctl = newControl("http://" + controlLn.Addr().String())
	// The proxy outlives the ctx that started it, as a container would;
	// Terminate stops it.
	p.control = &http.Server{Handler: p.srv.ControlHandler(), ReadHeaderTimeout: 10 * time.Second}
	p.wg.Go(func() { p.srv.ServeProxy(p.proxyLn) })
	p.wg.Go(func() { p.control.Serve(controlLn) })
	if o.mode == Forward {
		slog.Warn("in-process proxy in forward mode: requests go to their upstream servers", "upstream-map", o.upstreams)
	}
	return p, nil
}

func (p *InProcess) cleanupTmp() {
	for _, d := range []string{p.tmpDir, p.appDir} {
		if d != "" {
			os.RemoveAll(d)
		}
	}
}

// ProxyAddr is the proxy's address.
func (p *InProcess) ProxyAddr(context.Context) (string, error) { return p.proxyLn.Addr().String(), nil }

// ControlURL is the control API's base URL.
func (p *InProcess) ControlURL(context.Context) (string, error) { return p.ctl.base, nil }

// Flows returns the records with seq above since.
func (p *InProcess) Flows(ctx context.Context, since int64) ([]capture.Flow, error) {
	return p.ctl.flows(ctx, since, 0)
}

// Mark appends a named mark.
func (p *InProcess) Mark(ctx context.Context, name string) (capture.Flow, error) {
	return p.ctl.mark(ctx, name)
}

// OpenApp opens app's own listener and returns its `adb reverse` target.
func (p *InProcess) OpenApp(ctx context.Context, app capture.App) (string, error) {
	sock, err := p.ctl.openApp(ctx, app)
	if err != nil {
		return "", err
	}
	return reverseTarget(sock), nil
}

// LogPath is the flow log's file.
func (p *InProcess) LogPath() string { return p.log.Path() }

// Terminate stops the proxy as a container's does on `docker stop`: it
// stops accepting, lets the exchanges in flight finish for up to the drain
// timeout (or until ctx ends), then closes the control API and, once the
// last exchange is recorded, the log. A drain cut short is an error; the
// exchanges it cut are in the log with the error that ended them.
func (p *InProcess) Terminate(ctx context.Context) error {
	p.closeOnce.Do(func() {
		drainCtx, cancel := context.WithTimeout(ctx, p.drain)
		defer cancel()
		drainErr := p.srv.Shutdown(drainCtx)
		// Long-polls answered when the proxy stopped; anything else on
		// the control API is short.
		if err := p.control.Shutdown(drainCtx); err != nil {
			p.control.Close()
		}
		p.wg.Wait()
		p.closeErr = errors.Join(drainErr, p.log.Close())
		p.cleanupTmp()
	})
	if p.closeErr != nil {
		return fmt.Errorf("proxy: terminate: %w", p.closeErr)
	}
	return nil
}
