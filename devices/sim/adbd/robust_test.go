package adbd_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/sim/adbd"
)

// rawConn is a hand-driven adb server connection to the phone.
type rawConn struct {
	t *testing.T
	net.Conn
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{t, c}
}

func (c *rawConn) send(cmd, a0, a1 uint32, data string) {
	c.t.Helper()
	if _, err := c.Write(adbd.EncodePacket(cmd, a0, a1, []byte(data))); err != nil {
		c.t.Fatalf("raw write: %v", err)
	}
}

func (c *rawConn) recv() (cmd, a0, a1 uint32, data []byte) {
	c.t.Helper()
	cmd, a0, a1, data, err := adbd.ReadPacket(c)
	if err != nil {
		c.t.Fatalf("raw read: %v", err)
	}
	return cmd, a0, a1, data
}

func (c *rawConn) handshake() {
	c.t.Helper()
	c.send(adbd.CmdCNXN, 0x01000001, 256*1024, "host::features=shell_v2")
	cmd, version, maxData, banner := c.recv()
	if cmd != adbd.CmdCNXN || version != 0x01000001 || maxData != adbd.MaxPayload || string(banner) != testBanner {
		c.t.Fatalf("CNXN reply = %08x v%08x max %d %q", cmd, version, maxData, banner)
	}
}

// closedByPeer reports whether the phone closed the connection.
func (c *rawConn) closedByPeer() bool {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.ReadAll(c)
	return err == nil || errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "reset")
}

func header(cmd, a0, a1, n, sum, magic uint32) []byte {
	b := make([]byte, 24)
	for i, v := range []uint32{cmd, a0, a1, n, sum, magic} {
		binary.LittleEndian.PutUint32(b[4*i:], v)
	}
	return b
}

func TestMalformedPacketsCloseOnlyThatConnection(t *testing.T) {
	r := newRig(t)
	bad := map[string][]byte{
		"bad magic":       header(adbd.CmdOPEN, 1, 0, 0, 0, 0x12345678),
		"oversized":       header(adbd.CmdWRTE, 1, 1, adbd.MaxPayload+1, 0, adbd.CmdWRTE^0xffffffff),
		"unknown command": header(0x4b4f4f42, 1, 1, 0, 0, 0x4b4f4f42^0xffffffff),
		"cut short":       header(adbd.CmdOPEN, 1, 0, 100, 0, adbd.CmdOPEN^0xffffffff)[:10],
	}
	for name, pkt := range bad {
		t.Run(name, func(t *testing.T) {
			c := dialRaw(t, r.serial)
			c.handshake()
			c.Write(pkt)
			if name == "cut short" {
				c.Conn.(*net.TCPConn).CloseWrite()
			}
			if !c.closedByPeer() {
				t.Errorf("phone kept the connection open after a %s packet", name)
			}
			r.stillUp(t)
		})
	}
	if !strings.Contains(r.logs.String(), "malformed") {
		t.Errorf("malformed packets were not logged:\n%s", r.logs)
	}
}

func TestRawStreamProtocol(t *testing.T) {
	r := newRig(t)
	c := dialRaw(t, r.serial)
	c.handshake()

	// An unknown service is refused with CLSE(0, id).
	c.send(adbd.CmdOPEN, 5, 0, "frobnicate:\x00")
	if cmd, a0, a1, _ := c.recv(); cmd != adbd.CmdCLSE || a0 != 0 || a1 != 5 {
		t.Fatalf("unknown service answered %08x(%d, %d), want CLSE(0, 5)", cmd, a0, a1)
	}

	// shell v2 over two streams at once; each WRTE from the phone waits
	// for our OKAY.
	c.send(adbd.CmdOPEN, 7, 0, "shell,v2,raw:echo seven\x00")
	c.send(adbd.CmdOPEN, 8, 0, "shell,v2,raw:exit 8\x00")
	got := map[uint32][]byte{}
	ids := map[uint32]uint32{}
	closed := 0
	for closed < 2 {
		cmd, a0, a1, data := c.recv()
		switch cmd {
		case adbd.CmdOKAY:
			ids[a1] = a0
		case adbd.CmdWRTE:
			if ids[a1] != a0 {
				t.Fatalf("WRTE from device id %d for host id %d, opened as %d", a0, a1, ids[a1])
			}
			got[a1] = append(got[a1], data...)
			c.send(adbd.CmdOKAY, a1, a0, "")
		case adbd.CmdCLSE:
			closed++
			c.send(adbd.CmdCLSE, a1, a0, "")
		default:
			t.Fatalf("unexpected packet %08x", cmd)
		}
	}
	want7 := "\x01\x06\x00\x00\x00seven\n\x03\x01\x00\x00\x00\x00"
	want8 := "\x03\x01\x00\x00\x00\x08"
	if string(got[7]) != want7 || string(got[8]) != want8 {
		t.Errorf("shell v2 bytes: %q and %q, want %q and %q", got[7], got[8], want7, want8)
	}

	// A sync request split across WRTEs, with a trailing '/'.
	c.send(adbd.CmdOPEN, 9, 0, "sync:\x00")
	_, dev, _, _ := c.recv()
	req := "STA2" + string([]byte{8, 0, 0, 0}) + "/sdcard/"
	c.send(adbd.CmdWRTE, 9, dev, req[:3])
	if cmd, _, _, _ := c.recv(); cmd != adbd.CmdOKAY {
		t.Fatalf("first WRTE not acknowledged")
	}
	c.send(adbd.CmdWRTE, 9, dev, req[3:])
	reply := c.collect(9, dev, 72)
	if string(reply[:4]) != "STA2" || binary.LittleEndian.Uint32(reply[4:]) != 0 ||
		binary.LittleEndian.Uint32(reply[24:])&0o170000 != 0o040000 {
		t.Errorf("STA2 /sdcard/ = %q, want a directory without error", reply)
	}

	// LIS2 of /data: one DNT2 for "local", then DONE with a zeroed entry.
	c.send(adbd.CmdWRTE, 9, dev, "LIS2\x05\x00\x00\x00/data")
	reply = c.collect(9, dev, 4+68+4+len("local")+76)
	if string(reply[:4]) != "DNT2" || binary.LittleEndian.Uint32(reply[72:]) != 5 || string(reply[76:81]) != "local" ||
		string(reply[81:85]) != "DONE" || strings.Trim(string(reply[85:]), "\x00") != "" {
		t.Errorf("LIS2 /data = %q", reply)
	}

	// An unknown request gets FAIL with a reason, then the stream ends.
	c.send(adbd.CmdWRTE, 9, dev, "JUNK\x00\x00\x00\x00")
	want := "FAIL\x16\x00\x00\x00unknown command \"JUNK\""
	if reply = c.collect(9, dev, len(want)); string(reply) != want {
		t.Errorf("unknown sync request answered %q, want %q", reply, want)
	}
	if cmd, _, _, _ := c.recv(); cmd != adbd.CmdCLSE {
		t.Errorf("after FAIL got %08x, want CLSE", cmd)
	}
	r.stillUp(t)
}

func TestManyParallelShells(t *testing.T) {
	r := newRig(t)
	const n = 40
	errs := make(chan error, n)
	for i := range n {
		go func() {
			out, err := runADB(r.adbPort, 30*time.Second, nil, "-s", r.serial, "shell", fmt.Sprint("echo ", i))
			if err == nil && out != fmt.Sprint(i, "\n") {
				err = fmt.Errorf("shell %d printed %q", i, out)
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestOneWriteOutstandingPerStream(t *testing.T) {
	r := newRig(t)
	c := dialRaw(t, r.serial)
	c.handshake() // offers 256 KiB
	c.send(adbd.CmdOPEN, 3, 0, "exec:big 1000000\x00")
	cmd, dev, _, _ := c.recv()
	if cmd != adbd.CmdOKAY {
		t.Fatalf("exec: not accepted")
	}
	total := 0
	for total < 1_000_000 {
		cmd, _, _, data := c.recv()
		if cmd != adbd.CmdWRTE || len(data) > 256*1024 {
			t.Fatalf("got %08x with %d bytes, want WRTE of at most the 256 KiB we offered", cmd, len(data))
		}
		total += len(data)
		if total == 1_000_000 {
			break // CLSE may follow at once: it needs no OKAY
		}
		// Until we ack, the phone must not send more on this stream.
		c.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
		if _, _, _, _, err := adbd.ReadPacket(c); err == nil {
			t.Fatalf("phone sent a second packet before our OKAY")
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		c.send(adbd.CmdOKAY, 3, dev, "")
	}
	if cmd, _, _, _ := c.recv(); cmd != adbd.CmdCLSE {
		t.Errorf("after the output, got %08x, want CLSE", cmd)
	}
}

func TestHostWritesAreBoundedByAcks(t *testing.T) {
	r := newRig(t)
	c := dialRaw(t, r.serial)
	c.handshake()
	// exec: hands the stream to the command as stdin; sleep never reads it.
	c.send(adbd.CmdOPEN, 4, 0, "exec:sleep\x00")
	cmd, dev, _, _ := c.recv()
	if cmd != adbd.CmdOKAY {
		t.Fatalf("exec: not accepted")
	}
	c.send(adbd.CmdWRTE, 4, dev, "first")
	if cmd, _, _, _ := c.recv(); cmd != adbd.CmdOKAY {
		t.Fatalf("first WRTE into an empty buffer not acked at once (got %08x)", cmd)
	}
	c.send(adbd.CmdWRTE, 4, dev, "second")
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if cmd, _, _, _, err := adbd.ReadPacket(c); err == nil {
		t.Fatalf("second WRTE acked (%08x) although nobody consumed the first", cmd)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	c.send(adbd.CmdCLSE, 4, dev, "")
	r.stillUp(t)
}

// collect reads the phone's WRTEs on a stream, acking each, until n bytes
// arrived.
func (c *rawConn) collect(host, dev uint32, n int) []byte {
	c.t.Helper()
	var got []byte
	for len(got) < n {
		cmd, _, _, data := c.recv()
		switch cmd {
		case adbd.CmdWRTE:
			got = append(got, data...)
			c.send(adbd.CmdOKAY, host, dev, "")
		case adbd.CmdOKAY:
		default:
			c.t.Fatalf("unexpected %08x while reading a reply", cmd)
		}
	}
	if len(got) != n {
		c.t.Fatalf("reply of %d bytes, want %d: %q", len(got), n, got)
	}
	return got
}
