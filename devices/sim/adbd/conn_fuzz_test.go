package adbd

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"telltale.dev/devices/adb/wire"
)

// fuzzDevice has a one-file FS and an Exec that echoes stdin, so host data
// reaches every parser behind the transport.
type fuzzDevice struct{}

func (fuzzDevice) Banner() string { return "device::ro.product.name=fuzz;features=shell_v2" }
func (fuzzDevice) Exec(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) int {
	io.Copy(stdout, stdin)
	return len(cmd)
}
func (fuzzDevice) FS() FS { return fuzzFS{} }
func (fuzzDevice) Root() (string, bool) {
	return "adbd cannot run as root in production builds\n", false
}

type fuzzFS struct{}

func (fuzzFS) Stat(p string) (wire.Stat, error) {
	if p == "/f" {
		return wire.Stat{Mode: 0o100644, Size: 3}, nil
	}
	return wire.Stat{}, syscall.ENOENT
}
func (fuzzFS) List(p string) ([]DirEntry, error) {
	return []DirEntry{{Name: "f", Stat: wire.Stat{Mode: 0o100644, Size: 3}}}, nil
}
func (fuzzFS) Open(p string) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader("abc")), nil
}
func (fuzzFS) Create(p string, mode uint32, mtime int64) (io.WriteCloser, error) {
	if strings.HasPrefix(p, "/system") {
		return nil, syscall.EROFS
	}
	return nopWriteCloser{io.Discard}, nil
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

func syncReq(id, arg string) []byte {
	b := make([]byte, 8+len(arg))
	copy(b, id)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(arg)))
	copy(b[8:], arg)
	return b
}

// FuzzConn drives one connection with a service and arbitrary stream data,
// cut into WRTEs of fuzzed sizes, and checks the phone neither panics nor
// leaves a service running once the host goes away.
func FuzzConn(f *testing.F) {
	var send bytes.Buffer
	send.Write(syncReq("SEND", "/sdcard/x,33188"))
	send.Write(syncReq("DATA", "hello"))
	send.Write(syncReq("DONE", ""))
	f.Add("sync:", send.Bytes(), uint8(3))
	f.Add("sync:", append(append(syncReq("STA2", "/f/"), syncReq("LIST", "/")...), syncReq("RECV", "/f")...), uint8(7))
	f.Add("sync:", append(syncReq("LIS2", "/"), syncReq("QUIT", "")...), uint8(0))
	f.Add("sync:", []byte("SEND\xff\xff\xff\xff"), uint8(1))
	f.Add("shell,v2,raw:cat", []byte("\x00\x03\x00\x00\x00abc\x05\x00\x00\x00\x00\x04\x00\x00\x00\x00"), uint8(2))
	f.Add("shell,pty:", []byte("echo\n"), uint8(9))
	f.Add("exec:cat", []byte("data"), uint8(1))
	f.Add("reverse:forward:norebind:tcp:0;tcp:1", []byte{}, uint8(0))
	f.Add("reverse:killforward:tcp:1", []byte{}, uint8(0))
	f.Add("root:", []byte{}, uint8(0))
	f.Fuzz(func(t *testing.T, service string, data []byte, cut uint8) {
		srv := &Server{dev: fuzzDevice{}, log: slog.New(slog.DiscardHandler), nextPort: 40000}
		host, dev := net.Pipe()
		c := newConn(srv, dev, 1)
		served := make(chan struct{})
		go func() {
			c.serve()
			close(served)
		}()
		go io.Copy(io.Discard, host) // the host reads but never acks
		host.SetDeadline(time.Now().Add(5 * time.Second))
		host.Write(packet{cmd: cmdCNXN, arg0: protocolVersion, arg1: 4096, data: []byte("host::")}.encode())
		host.Write(packet{cmd: cmdOPEN, arg0: 1, data: []byte(service + "\x00")}.encode())
		step := int(cut) + 1
		for len(data) > 0 {
			n := min(step, len(data))
			host.Write(packet{cmd: cmdWRTE, arg0: 1, arg1: 1, data: data[:n]}.encode())
			data = data[n:]
		}
		host.Close()
		done := make(chan struct{})
		go func() {
			<-served
			srv.services.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("service %q still running 5s after the host went away", service)
		}
	})
}
