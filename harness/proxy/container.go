package proxy

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"telltale.dev/harness/capture"
)

//go:embed Dockerfile
var dockerfile []byte

const (
	imageRepo   = "telltale-proxy"
	proxyPort   = "8080/tcp"
	controlPort = "8081/tcp"
)

// BinaryEnv names a prebuilt static telltale binary to put in the image
// instead of building one (for machines without the source tree).
const BinaryEnv = "TELLTALE_PROXY_BINARY"

// BuildImage builds the proxy image from this package's Dockerfile and a
// static build of telltale.dev/cmd/telltale, tagged with the binary's
// SHA-256 so the image is rebuilt only when the code changed. It needs the
// Go toolchain and the telltale source tree (or BinaryEnv), and a Docker
// engine; nothing is pulled.
func BuildImage(ctx context.Context) (string, error) {
	disableRyuk()
	bin, cleanup, err := staticBinary(ctx)
	if err != nil {
		return "", err
	}
	defer cleanup()
	data, err := os.ReadFile(bin)
	if err != nil {
		return "", fmt.Errorf("proxy: read binary: %w", err)
	}
	sum := sha256.Sum256(data)
	tag := imageRepo + ":" + hex.EncodeToString(sum[:8])

	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return "", fmt.Errorf("proxy: Docker engine: %w (is dockerd running and DOCKER_HOST right?)", err)
	}
	defer cli.Close()
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		return tag, nil
	} else if !cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("proxy: inspect image %s: %w", tag, err)
	}

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"Dockerfile", 0o644, dockerfile}, {"telltale", 0o755, data}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: time.Unix(0, 0)}); err != nil {
			return "", fmt.Errorf("proxy: build context: %w", err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return "", fmt.Errorf("proxy: build context: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return "", fmt.Errorf("proxy: build context: %w", err)
	}
	res, err := cli.ImageBuild(ctx, &buf, client.ImageBuildOptions{
		Tags: []string{tag}, Remove: true, ForceRemove: true, Dockerfile: "Dockerfile",
		Labels: map[string]string{"dev.telltale.component": "proxy"},
	})
	if err != nil {
		return "", fmt.Errorf("proxy: build image: %w", err)
	}
	defer res.Body.Close()
	// The build reports failure inside its JSON stream, not as an error.
	dec := json.NewDecoder(res.Body)
	for {
		var msg struct {
			Stream string `json:"stream"`
			Error  string `json:"error"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return "", fmt.Errorf("proxy: build image output: %w", err)
		}
		if msg.Error != "" {
			return "", fmt.Errorf("proxy: build image %s: %s", tag, msg.Error)
		}
	}
	pruneOldImages(ctx, cli, tag)
	return tag, nil
}

// staleImage is how old a proxy image must be before a new build removes
// it: younger ones may belong to a run that built them a moment ago and is
// about to start them.
const staleImage = time.Hour

// pruneOldImages removes earlier proxy images, so a tree under active
// development does not pile up one image per edit. Images still used by a
// container are kept (no force), and failures only cost disk space.
func pruneOldImages(ctx context.Context, cli *testcontainers.DockerClient, keep string) {
	res, err := cli.ImageList(ctx, client.ImageListOptions{Filters: make(client.Filters).Add("reference", imageRepo)})
	if err != nil {
		return
	}
	for _, img := range res.Items {
		if time.Since(time.Unix(img.Created, 0)) < staleImage {
			continue
		}
		for _, ref := range img.RepoTags {
			if ref != keep && strings.HasPrefix(ref, imageRepo+":") {
				cli.ImageRemove(ctx, ref, client.ImageRemoveOptions{})
			}
		}
	}
}

// staticBinary builds telltale with CGO off (the image has no libc) or
// takes BinaryEnv.
func staticBinary(ctx context.Context) (string, func(), error) {
	if p := os.Getenv(BinaryEnv); p != "" {
		return p, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "telltale-proxy-build-")
	if err != nil {
		return "", nil, fmt.Errorf("proxy: %w", err)
	}
	cleanup := func() { os.RemoveAll(dir) }
	out := filepath.Join(dir, "telltale")
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", out, "telltale.dev/cmd/telltale")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if msg, err := cmd.CombinedOutput(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("proxy: go build telltale.dev/cmd/telltale (run inside the telltale source tree, or set %s): %w\n%s",
			BinaryEnv, err, strings.TrimSpace(string(msg)))
	}
	return out, cleanup, nil
}

// Container is the proxy running in a container. It implements Recorder.
type Container struct {
	*testcontainers.DockerContainer
	ctl  *control
	stop time.Duration // SIGTERM to SIGKILL: the drain and stopGrace
	// appDir holds the per-app sockets on the host, mounted at
	// containerAppDir.
	appDir string
}

// containerAppDir is where the proxy in the container makes its per-app
// sockets.
const containerAppDir = "/apps"

// stopGrace is what the proxy may take past its drain timeout to record the
// exchanges it cut, close its log and exit, before Docker kills it.
const stopGrace = 2 * time.Second

// stopTimeout is the container's stop timeout for a drain timeout, in the
// whole seconds Docker counts in.
func stopTimeout(drain time.Duration) time.Duration {
	return (drain + stopGrace + time.Second - 1).Truncate(time.Second)
}

// Run starts the proxy image img (from BuildImage) with its ports published
// on 127.0.0.1 only, and waits until /healthz answers.
func Run(ctx context.Context, img string, opts ...testcontainers.ContainerCustomizer) (*Container, error) {
	disableRyuk()
	o, rest := collect(opts)
	if o.drain <= 0 {
		return nil, fmt.Errorf("proxy: drain timeout %v: want a positive duration", o.drain)
	}
	stop := stopTimeout(o.drain)
	apps, err := appDir()
	if err != nil {
		return nil, err
	}
	loopback := netip.MustParseAddr("127.0.0.1")
	custom := []testcontainers.ContainerCustomizer{
		testcontainers.WithExposedPorts(proxyPort, controlPort),
		testcontainers.WithCmd(append(o.args(), "--app-dir", containerAppDir)...),
		// A plain `docker stop` gives the proxy its drain too.
		testcontainers.WithConfigModifier(func(cfg *container.Config) {
			secs := int(stop / time.Second)
			cfg.StopTimeout = &secs
		}),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.PortBindings = network.PortMap{}
			for _, p := range []string{proxyPort, controlPort} {
				hc.PortBindings[network.MustParsePort(p)] = []network.PortBinding{{HostIP: loopback}}
			}
			if o.flowDir != "" {
				hc.Binds = append(hc.Binds, o.flowDir+":/flows")
			}
			hc.Binds = append(hc.Binds, apps+":"+containerAppDir)
		}),
		testcontainers.WithWaitStrategy(healthz{timeout: 30 * time.Second}),
	}
	if o.flowDir != "" {
		abs, err := filepath.Abs(o.flowDir)
		if err != nil {
			os.RemoveAll(apps)
			return nil, fmt.Errorf("proxy: flow dir: %w", err)
		}
		if err := os.MkdirAll(abs, 0o755); err != nil {
			os.RemoveAll(apps)
			return nil, fmt.Errorf("proxy: flow dir: %w", err)
		}
		o.flowDir = abs
	}
	if o.certPEM != nil {
		custom = append(custom, testcontainers.WithFiles(
			testcontainers.ContainerFile{Reader: bytes.NewReader(o.certPEM), ContainerFilePath: "/ca/ca.pem", FileMode: 0o644},
			testcontainers.ContainerFile{Reader: bytes.NewReader(o.keyPEM), ContainerFilePath: "/ca/ca.key", FileMode: 0o600},
		))
	}
	dc, err := testcontainers.Run(ctx, img, append(custom, rest...)...)
	if err != nil {
		if dc != nil {
			dc.Terminate(context.WithoutCancel(ctx))
		}
		os.RemoveAll(apps)
		return nil, fmt.Errorf("proxy: run container from %s: %w", img, err)
	}
	c := &Container{DockerContainer: dc, stop: stop, appDir: apps}
	base, err := c.ControlURL(ctx)
	if err != nil {
		dc.Terminate(context.WithoutCancel(ctx))
		os.RemoveAll(apps)
		return nil, err
	}
	c.ctl = newControl(base)
	return c, nil
}

func (c *Container) hostAddr(ctx context.Context, port string) (string, error) {
	p, err := c.MappedPort(ctx, port)
	if err != nil {
		return "", fmt.Errorf("proxy: published port for %s: %w", port, err)
	}
	return "127.0.0.1:" + p.Port(), nil
}

// ProxyAddr is the proxy's address on the host.
func (c *Container) ProxyAddr(ctx context.Context) (string, error) { return c.hostAddr(ctx, proxyPort) }

// ControlURL is the control API's base URL on the host.
func (c *Container) ControlURL(ctx context.Context) (string, error) {
	a, err := c.hostAddr(ctx, controlPort)
	if err != nil {
		return "", err
	}
	return "http://" + a, nil
}

// Flows returns the records with seq above since.
func (c *Container) Flows(ctx context.Context, since int64) ([]capture.Flow, error) {
	return c.ctl.flows(ctx, since, 0)
}

// Mark appends a named mark.
func (c *Container) Mark(ctx context.Context, name string) (capture.Flow, error) {
	return c.ctl.mark(ctx, name)
}

// OpenApp opens app's own listener in the container and returns its `adb
// reverse` target: the socket as the host sees it, through the mount.
func (c *Container) OpenApp(ctx context.Context, app capture.App) (string, error) {
	sock, err := c.ctl.openApp(ctx, app)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(containerAppDir, sock)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", fmt.Errorf("proxy: the container made the socket for %s at %s, outside %s", app.String(), sock, containerAppDir)
	}
	return reverseTarget(filepath.Join(c.appDir, rel)), nil
}

// Terminate stops the container (SIGTERM: the proxy drains, see
// WithDrainTimeout, and closes its log) and removes it; a bind-mounted flow
// directory stays. A running proxy that does not stop cleanly, as when the
// drain was cut short, is an error quoting the end of its log.
func (c *Container) Terminate(ctx context.Context) error {
	var stopErr error
	st, err := c.State(ctx)
	running := err == nil && st.Running
	if err := c.Stop(ctx, &c.stop); err == nil && running {
		stopErr = c.exitStatus(ctx)
	}
	if err := c.DockerContainer.Terminate(ctx, testcontainers.StopTimeout(c.stop)); err != nil {
		return errors.Join(stopErr, fmt.Errorf("proxy: terminate: %w", err))
	}
	os.RemoveAll(c.appDir)
	return stopErr
}

// exitStatus reports a stopped proxy that did not exit 0, with the end of
// its log, which removing the container is about to take away.
func (c *Container) exitStatus(ctx context.Context) error {
	st, err := c.State(ctx)
	if err != nil || st.ExitCode == 0 {
		return nil
	}
	var tail []byte
	if rc, err := c.Logs(ctx); err == nil {
		tail, _ = io.ReadAll(io.LimitReader(rc, 1<<20))
		rc.Close()
		tail = tail[max(0, len(tail)-2048):]
	}
	return fmt.Errorf("proxy: the container exited with status %d when stopped (137 means Docker killed it %v after SIGTERM); the end of its log:\n%s",
		st.ExitCode, c.stop, bytes.TrimSpace(tail))
}

// healthz waits until /healthz answers on the published control port at
// 127.0.0.1. testcontainers' HTTP strategy asks the provider for the host,
// which can infer an address other than the loopback the ports are
// published on (192.0.2.1 was seen here).
type healthz struct{ timeout time.Duration }

func (h healthz) WaitUntilReady(ctx context.Context, target wait.StrategyTarget) error {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	hc := &http.Client{Timeout: time.Second}
	var last error
	for {
		p, err := target.MappedPort(ctx, controlPort)
		if err == nil {
			var req *http.Request
			req, err = http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+p.Port()+"/healthz", nil)
			if err == nil {
				var resp *http.Response
				if resp, err = hc.Do(req); err == nil {
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						return nil
					}
					err = fmt.Errorf("/healthz answered %s", resp.Status)
				}
			}
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("proxy: waiting for /healthz: %w (last: %w)", ctx.Err(), last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
