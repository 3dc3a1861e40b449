package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"telltale.dev/harness/ca"
	"telltale.dev/harness/capture"
	"telltale.dev/harness/mitm"
)

func init() {
	register(command{name: "proxy", summary: "run the recording MITM proxy", run: runProxy})
}

// upstreamMap is a repeatable host=addr flag.
type upstreamMap map[string]string

func (m upstreamMap) String() string {
	parts := make([]string, 0, len(m))
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ",")
}

func (m upstreamMap) Set(v string) error {
	for _, kv := range strings.Split(v, ",") {
		host, addr, ok := strings.Cut(kv, "=")
		if !ok || host == "" || addr == "" {
			return fmt.Errorf("want host=addr (or host:port=addr), got %q", kv)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("upstream address %q: want host:port: %w", addr, err)
		}
		m[host] = addr
	}
	return nil
}

func runProxy(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8080", "address for HTTP proxy clients")
	control := fs.String("control", "127.0.0.1:8081", "address of the control API")
	caDir := fs.String("ca-dir", "", "directory holding ca.pem and ca.key (made when missing)")
	flows := fs.String("flows", "", "flow log to append to (JSON lines)")
	modeName := fs.String("mode", "sinkhole", "sinkhole (answer locally) or forward (send upstream)")
	transparent := fs.String("transparent", "", "also accept redirected TLS (routed by SNI) on this address")
	appDir := fs.String("app-dir", "", "directory for per-app listeners (Unix sockets opened through POST /apps), so flows carry the app")
	bodyLimit := fs.Int64("body-limit", mitm.DefaultBodyLimit, "bytes of each body to store; the rest is counted")
	insecure := fs.Bool("upstream-insecure", false, "forward mode: do not verify upstream certificates (test upstreams)")
	drain := fs.Duration("drain-timeout", mitm.DefaultDrainTimeout,
		"on SIGTERM or SIGINT, how long exchanges in flight may take to finish before their connections are closed (a second signal stops at once); keep it under the stop timeout, 10s for docker stop")
	verbose := fs.Bool("v", false, "log each bad request")
	upstreams := upstreamMap{}
	fs.Var(upstreams, "upstream-map", "forward mode: send host (or host:port) to addr, as host=addr; repeatable")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *bodyLimit <= 0 {
		fmt.Fprintln(os.Stderr, "telltale proxy: --body-limit must be positive")
		return 2
	}
	if *drain <= 0 {
		fmt.Fprintln(os.Stderr, "telltale proxy: --drain-timeout must be positive, such as 8s")
		return 2
	}
	if *caDir == "" || *flows == "" || fs.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "telltale proxy: --ca-dir and --flows are required, and no positional arguments")
		fs.Usage()
		return 2
	}
	mode, err := mitm.ParseMode(*modeName)
	if err != nil {
		fmt.Fprintln(os.Stderr, "telltale proxy:", err)
		return 2
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if err := serveProxy(ctx, logger, proxyConfig{
		listen: *listen, control: *control, transparent: *transparent, appDir: *appDir, caDir: *caDir, flows: *flows,
		mode: mode, bodyLimit: *bodyLimit, insecure: *insecure, upstreams: upstreams, drain: *drain,
	}); err != nil {
		logger.Error("proxy stopped", "err", err)
		return 1
	}
	return 0
}

type proxyConfig struct {
	listen, control, transparent, appDir, caDir, flows string
	mode                                               mitm.Mode
	bodyLimit                                          int64
	insecure                                           bool
	upstreams                                          map[string]string
	drain                                              time.Duration
}

func serveProxy(ctx context.Context, logger *slog.Logger, pc proxyConfig) error {
	authority, err := ca.LoadOrCreate(pc.caDir)
	if err != nil {
		return fmt.Errorf("%w (check --ca-dir)", err)
	}
	log, err := capture.NewLogWriter(pc.flows)
	if err != nil {
		return fmt.Errorf("%w (check --flows)", err)
	}
	defer log.Close()
	srv, err := mitm.New(mitm.Config{
		CA: authority, Log: log, Mode: pc.mode, UpstreamMap: pc.upstreams,
		UpstreamInsecure: pc.insecure, BodyLimit: pc.bodyLimit, Logger: logger, AppDir: pc.appDir,
	})
	if err != nil {
		return err
	}
	proxyLn, err := net.Listen("tcp", pc.listen)
	if err != nil {
		return fmt.Errorf("proxy listener: %w", err)
	}
	controlLn, err := net.Listen("tcp", pc.control)
	if err != nil {
		proxyLn.Close()
		return fmt.Errorf("control listener: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	run := func(f func() error) {
		wg.Go(func() {
			if err := f(); err != nil && !errors.Is(err, mitm.ErrServerClosed) {
				errs <- err
				cancel()
			}
		})
	}
	run(func() error { return srv.ServeProxy(proxyLn) })
	hs := &http.Server{Handler: srv.ControlHandler(), ReadHeaderTimeout: 10 * time.Second}
	run(func() error {
		if err := hs.Serve(controlLn); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("control API: %w", err)
		}
		return nil
	})
	attrs := []any{"proxy", proxyLn.Addr().String(), "control", controlLn.Addr().String(),
		"mode", string(pc.mode), "flows", pc.flows, "ca", authority.Fingerprint()}
	if pc.transparent != "" {
		tln, err := net.Listen("tcp", pc.transparent)
		if err != nil {
			srv.Close()
			hs.Close()
			wg.Wait()
			return fmt.Errorf("transparent listener: %w", err)
		}
		run(func() error { return srv.ServeTransparent(tln) })
		attrs = append(attrs, "transparent", tln.Addr().String())
	}
	if pc.mode == mitm.Forward {
		logger.Warn("forward mode: requests are sent to their upstream servers, not answered locally", "upstream-map", pc.upstreams)
	}
	logger.Info("listening", attrs...)
	<-ctx.Done()
	drainErr := drainProxy(logger, srv, hs, pc.drain)
	wg.Wait()
	st := srv.Stats()
	logger.Info("stopped", "flows", st.Flows, "marks", st.Marks, "tls-failures", st.TLSFailures,
		"websockets", st.WebSockets, "last-seq", st.LastSeq, "log-errors", st.LogErrors)
	// The log closes only now, after the last exchange was recorded.
	err = errors.Join(drainErr, log.Close())
	select {
	case lnErr := <-errs:
		return errors.Join(lnErr, err)
	default:
		return err
	}
}

// drainProxy stops the proxy as net/http's Server.Shutdown does: no new
// connections, idle ones closed, exchanges in flight given up to drain to
// finish (a second SIGTERM or SIGINT cuts that short). The control API
// closes after it, so /flows serves what the drain recorded.
func drainProxy(logger *slog.Logger, srv *mitm.Server, control *http.Server, drain time.Duration) error {
	logger.Info("stopping: finishing the exchanges in flight", "connections", srv.Stats().ActiveConnections, "drain-timeout", drain)
	ctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	again := make(chan os.Signal, 1)
	signal.Notify(again, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(again)
	go func() {
		select {
		case <-again:
			logger.Warn("second signal: closing the connections still busy")
			cancel()
		case <-ctx.Done():
		}
	}()
	err := srv.Shutdown(ctx)
	if cerr := control.Shutdown(ctx); cerr != nil {
		control.Close()
	}
	return err
}
