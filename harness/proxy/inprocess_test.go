package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.uber.org/goleak"

	"telltale.dev/harness/ca"
	"telltale.dev/harness/capture"
	"telltale.dev/harness/mitm/mitmtest"
)

func bufioReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }

func TestInProcessRecorder(t *testing.T) {
	authority, err := ca.New("in-process test CA")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r, err := StartInProcess(t.Context(), WithCA(authority.CertPEM(), authority.KeyPEM()), WithFlowDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Terminate(context.Background())
	exerciseRecorder(t, r, authority)
	// The file on disk is the same sequence the control API served.
	onDisk, err := capture.ReadFile(r.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	served, _ := r.Flows(t.Context(), 0)
	if len(onDisk) != len(served) || onDisk[len(onDisk)-1].Seq != served[len(served)-1].Seq {
		t.Errorf("%d flows on disk, %d served", len(onDisk), len(served))
	}
	if err := r.Terminate(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// Terminate with 20 requests in flight, held by a slow upstream in forward
// mode (HTTP/1.1 on the proxy's own upstream connections, HTTP/2 through
// net/http's Transport): every request is answered after stop began and is
// in the log when Terminate returns, and nothing of the proxy is left
// running.
func TestInProcessTerminateDrainsRequestsInFlight(t *testing.T) {
	before := goleak.IgnoreCurrent()
	arrived := make(chan string)
	release := make(chan struct{})
	up := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		arrived <- string(b)
		<-release
		fmt.Fprintf(w, "upstream took %s", b)
	}))
	defer up.Close()
	idleUp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "idle") }))
	defer idleUp.Close()
	authority, err := ca.New("in-process terminate test CA")
	if err != nil {
		t.Fatal(err)
	}
	r, err := StartInProcess(t.Context(), WithCA(authority.CertPEM(), authority.KeyPEM()), WithFlowDir(t.TempDir()),
		WithMode(Forward), WithUpstreamInsecure(), WithUpstreamMap(map[string]string{
			"upload.test": up.Listener.Addr().String(), "idle.test": idleUp.Listener.Addr().String(),
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Terminate(context.Background())
	addr, _ := r.ProxyAddr(t.Context())
	clients := []*http.Client{proxiedClient(addr, authority.Certificate(), false), proxiedClient(addr, authority.Certificate(), true)}
	uploads := make([]*mitmtest.Upload, 20)
	for i := range uploads {
		uploads[i] = mitmtest.StartUpload(clients[i%2], "https://upload.test/v1/batch", fmt.Sprintf("%02d", i), false)
		uploads[i].WaitInFlight(t)
		uploads[i].Release()
	}
	for range uploads {
		<-arrived
	}
	idle := mitmtest.IdleConn(t, addr)

	terminated := make(chan error, 1)
	go func() { terminated <- r.Terminate(context.Background()) }()
	mitmtest.WaitClosed(t, idle)
	close(release)
	for _, u := range uploads {
		if res := u.Result(); res.Err != nil || res.Status != 200 || res.Body != "upstream took "+u.Payload() {
			t.Errorf("request %s after stop began: %+v", u.Name, res)
		}
	}
	if err := <-terminated; err != nil {
		t.Fatalf("Terminate: %v", err)
	}
	flows, err := capture.ReadFile(r.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	recordedOnce(t, flows, uploads)
	for _, hc := range clients {
		hc.CloseIdleConnections()
	}
	up.Close()
	idleUp.Close()
	mitmtest.VerifyNoLeaks(t, before)
}
