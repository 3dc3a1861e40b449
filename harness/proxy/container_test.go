package proxy

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"

	"telltale.dev/harness/ca"
	"telltale.dev/harness/capture"
	"telltale.dev/harness/mitm"
)

// The container path is the default, so its tests need a Docker engine and
// fail, not skip, without one.
func buildImage(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	img, err := BuildImage(ctx)
	if err != nil {
		t.Fatalf("BuildImage (needs a Docker engine and the Go toolchain): %v", err)
	}
	return img
}

// recordingContainer runs the proxy container with a new CA named caName
// and its flow log in a host directory (returned), removed when the test ends.
func recordingContainer(t *testing.T, caName string) (*Container, *ca.CA, string) {
	t.Helper()
	img := buildImage(t)
	authority, err := ca.New(caName)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := Run(ctx, img, WithCA(authority.CertPEM(), authority.KeyPEM()), WithFlowDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Terminate(context.Background()) })
	return c, authority, dir
}

func TestBuildImageIsSmallAndCachedByContent(t *testing.T) {
	img := buildImage(t)
	if !strings.HasPrefix(img, "telltale-proxy:") {
		t.Errorf("tag %s", img)
	}
	t0 := time.Now()
	again := buildImage(t)
	if again != img {
		t.Errorf("unchanged code gave a new tag: %s then %s", img, again)
	}
	t.Logf("second BuildImage (cached image) took %v", time.Since(t0))
	cli, err := testcontainers.NewDockerClientWithOpts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	info, err := cli.ImageInspect(t.Context(), img)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size > 20<<20 {
		t.Errorf("image is %d bytes, want under 20 MB", info.Size)
	}
}

func TestContainerRecorder(t *testing.T) {
	c, authority, dir := recordingContainer(t, "container test CA")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	info, err := c.Inspect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for port, bindings := range info.HostConfig.PortBindings {
		for _, b := range bindings {
			if b.HostIP.String() != "127.0.0.1" {
				t.Errorf("port %v published on %v, want 127.0.0.1 only", port, b.HostIP)
			}
		}
	}
	exerciseRecorder(t, c, authority)
	// The bind-mounted log on the host is the record, and outlives the
	// container.
	served, _ := c.Flows(ctx, 0)
	if err := c.Terminate(ctx); err != nil {
		t.Fatal(err)
	}
	onDisk, err := capture.ReadFile(filepath.Join(dir, "flows.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(onDisk) != len(served) {
		t.Errorf("%d flows on the host, %d served", len(onDisk), len(served))
	}
}

// Forward mode from the container to a server on the host, reached over
// Docker's bridge.
func TestContainerForwardsToAnUpstreamOnTheBridge(t *testing.T) {
	img := buildImage(t)
	gw := bridgeGateway(t)
	ln, err := net.Listen("tcp", net.JoinHostPort(gw, "0"))
	if err != nil {
		t.Fatal(err)
	}
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "upstream saw %s %s", r.Method, r.URL.Path)
	}))
	up.Listener = ln
	up.EnableHTTP2 = true
	up.StartTLS()
	defer up.Close()
	authority, _ := ca.New("forward test CA")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := Run(ctx, img, WithCA(authority.CertPEM(), authority.KeyPEM()), WithMode(Forward),
		WithUpstreamInsecure(), WithUpstreamMap(map[string]string{"api.test": ln.Addr().String()}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Terminate(context.Background()) })
	addr, _ := c.ProxyAddr(ctx)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, authority.CertPEM(), 0o644)
	out, code := curl(t, "-x", addr, "--cacert", caFile, "-d", "x=1", "https://api.test/v2/up")
	if code != 0 || out != "upstream saw POST /v2/up" {
		t.Fatalf("curl exit %d: %q", code, out)
	}
	flows, err := c.Flows(ctx, 0)
	if err != nil || len(flows) != 1 || string(flows[0].Response.Body) != out || string(flows[0].Request.Body) != "x=1" {
		t.Fatalf("flows %+v (%v)", flows, err)
	}
}

// bridgeGateway is the host's address on Docker's default bridge, which
// containers reach the host through.
func bridgeGateway(t *testing.T) string {
	t.Helper()
	ifc, err := net.InterfaceByName("docker0")
	if err != nil {
		t.Fatalf("Docker's bridge interface docker0: %v", err)
	}
	addrs, err := ifc.Addrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
			return ipn.IP.String()
		}
	}
	t.Fatal("docker0 has no IPv4 address")
	return ""
}

func TestContainerKill9LosesNoCompletedFlow(t *testing.T) {
	c, authority, dir := recordingContainer(t, "kill test CA")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	addr, _ := c.ProxyAddr(ctx)
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	killMidLoad(t, addr, authority.Certificate(), func() {
		if _, err := cli.ContainerKill(ctx, c.GetContainerID(), client.ContainerKillOptions{Signal: "KILL"}); err != nil {
			t.Errorf("docker kill: %v", err)
		}
	}, func() ([]capture.Flow, error) { return capture.ReadFile(filepath.Join(dir, "flows.jsonl")) })
}

func TestStartPrefersTheContainer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r, err := Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Terminate(context.Background())
	if _, ok := r.(*Container); !ok {
		t.Fatalf("Start with a Docker engine gave %T, want *Container", r)
	}
	if _, err := CACert(ctx, r); err != nil {
		t.Fatal(err)
	}
}

// Terminate of the container (docker stop: SIGTERM, then the drain) with
// 12 uploads in flight answers every one and records every one in the
// bind-mounted log; the container's own stop timeout leaves the drain room.
func TestContainerTerminateFinishesUploadsInFlight(t *testing.T) {
	c, authority, dir := recordingContainer(t, "terminate test CA")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	info, err := c.Inspect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st := info.Config.StopTimeout; st == nil || time.Duration(*st)*time.Second < mitm.DefaultDrainTimeout+stopGrace || *st > 10 {
		t.Errorf("container stop timeout %v s, want the drain (%v) and %v of grace, within docker stop's default 10 s", st, mitm.DefaultDrainTimeout, stopGrace)
	}
	addr, err := c.ProxyAddr(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stopWithUploadsInFlight(t, addr, authority.Certificate(), 12, func() error { return c.Terminate(ctx) },
		func() ([]capture.Flow, error) { return capture.ReadFile(filepath.Join(dir, "flows.jsonl")) })
}
