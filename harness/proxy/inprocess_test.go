package proxy

import (
	"bufio"
	"context"
	"io"
	"testing"

	"telltale.dev/harness/ca"
	"telltale.dev/harness/capture"
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
