package adbd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

func TestPacketRoundTrip(t *testing.T) {
	p := packet{cmd: cmdWRTE, arg0: 7, arg1: 9, data: []byte("hello")}
	b := p.encode()
	if sum := binary.LittleEndian.Uint32(b[16:]); sum != 'h'+'e'+'l'+'l'+'o' {
		t.Errorf("checksum %d, want the byte sum", sum)
	}
	got, err := readPacket(bytes.NewReader(b), maxPayload)
	if err != nil || got.cmd != p.cmd || got.arg0 != 7 || got.arg1 != 9 || string(got.data) != "hello" {
		t.Errorf("round trip = %v, %v", got, err)
	}
}

func FuzzPacketDecoder(f *testing.F) {
	f.Add(packet{cmd: cmdCNXN, arg0: protocolVersion, arg1: maxPayload, data: []byte("host::features=shell_v2")}.encode())
	f.Add(packet{cmd: cmdOPEN, arg0: 1, data: []byte("shell,v2,raw:id\x00")}.encode())
	f.Add(packet{cmd: cmdWRTE, arg0: 1, arg1: 2, data: bytes.Repeat([]byte{0xff}, 300)}.encode())
	f.Add(packet{cmd: cmdOKAY, arg0: 1, arg1: 2}.encode())
	f.Add(packet{cmd: cmdCLSE, arg1: 2}.encode())
	f.Add([]byte("OPEN\x01\x00\x00\x00"))
	f.Add(append(packet{cmd: cmdOKAY, arg0: 1, arg1: 2}.encode(), packet{cmd: cmdCLSE, arg0: 1, arg1: 2}.encode()...))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		for {
			p, err := readPacket(r, 64*1024)
			if err != nil {
				if len(p.data) != 0 || p.cmd != 0 {
					t.Fatalf("error %v came with a packet %v", err, p)
				}
				if !errors.Is(err, errMalformed) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("unexpected error kind: %v", err)
				}
				return
			}
			if len(p.data) > 64*1024 {
				t.Fatalf("accepted a %d-byte payload over the bound", len(p.data))
			}
			again, err := readPacket(bytes.NewReader(p.encode()), 64*1024)
			if err != nil || again.cmd != p.cmd || again.arg0 != p.arg0 || again.arg1 != p.arg1 || !bytes.Equal(again.data, p.data) {
				t.Fatalf("re-encoding %v does not decode to itself: %v, %v", p, again, err)
			}
		}
	})
}
