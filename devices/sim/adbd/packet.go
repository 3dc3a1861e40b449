package adbd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Transport commands, the first word of every packet header.
const (
	cmdCNXN uint32 = 0x4e584e43
	cmdOPEN uint32 = 0x4e45504f
	cmdOKAY uint32 = 0x59414b4f
	cmdWRTE uint32 = 0x45545257
	cmdCLSE uint32 = 0x45534c43
	cmdAUTH uint32 = 0x48545541
	cmdSYNC uint32 = 0x434e5953
	cmdSTLS uint32 = 0x534c5453
)

const (
	headerSize = 24
	// protocolVersion is what adb 29 speaks: checksums are optional.
	protocolVersion = 0x01000001
	// maxPayload is the largest payload this transport accepts and offers in
	// CNXN, the same 1 MiB modern adbd offers.
	maxPayload = 1 << 20
	// minPayload is the adb 1.0 payload size, used when a peer offers less.
	minPayload = 4096
)

// errMalformed marks packets that make the connection unusable: the reader
// cannot resynchronise on a byte stream once a header is wrong.
var errMalformed = errors.New("malformed adb packet")

type packet struct {
	cmd, arg0, arg1 uint32
	data            []byte
}

func cmdName(c uint32) string {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], c)
	for _, ch := range b {
		if ch < 'A' || ch > 'Z' {
			return fmt.Sprintf("0x%08x", c)
		}
	}
	return string(b[:])
}

func (p packet) String() string {
	return fmt.Sprintf("%s(%d, %d, %d bytes)", cmdName(p.cmd), p.arg0, p.arg1, len(p.data))
}

// encode renders p as one buffer so header and payload go out in a single
// write, which keeps concurrent writers from interleaving.
func (p packet) encode() []byte {
	buf := make([]byte, headerSize+len(p.data))
	le := binary.LittleEndian
	le.PutUint32(buf[0:], p.cmd)
	le.PutUint32(buf[4:], p.arg0)
	le.PutUint32(buf[8:], p.arg1)
	le.PutUint32(buf[12:], uint32(len(p.data)))
	var sum uint32
	for _, b := range p.data {
		sum += uint32(b)
	}
	le.PutUint32(buf[16:], sum)
	le.PutUint32(buf[20:], p.cmd^0xffffffff)
	copy(buf[headerSize:], p.data)
	return buf
}

// readPacket reads one packet, refusing payloads over maxData. Errors that
// wrap errMalformed mean the peer sent garbage; others are I/O errors.
// The checksum is not verified: adb 29 sends zero when both sides speak
// version 0x01000001.
func readPacket(r io.Reader, maxData uint32) (packet, error) {
	var hdr [headerSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return packet{}, err
	}
	le := binary.LittleEndian
	p := packet{cmd: le.Uint32(hdr[0:]), arg0: le.Uint32(hdr[4:]), arg1: le.Uint32(hdr[8:])}
	n := le.Uint32(hdr[12:])
	if magic := le.Uint32(hdr[20:]); magic != p.cmd^0xffffffff {
		return packet{}, fmt.Errorf("%w: magic 0x%08x does not match command 0x%08x", errMalformed, magic, p.cmd)
	}
	switch p.cmd {
	case cmdCNXN, cmdOPEN, cmdOKAY, cmdWRTE, cmdCLSE, cmdAUTH, cmdSYNC, cmdSTLS:
	default:
		return packet{}, fmt.Errorf("%w: unknown command %s", errMalformed, cmdName(p.cmd))
	}
	if n > maxData {
		return packet{}, fmt.Errorf("%w: %s payload of %d bytes exceeds %d", errMalformed, cmdName(p.cmd), n, maxData)
	}
	if n > 0 {
		p.data = make([]byte, n)
		if _, err := io.ReadFull(r, p.data); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return packet{}, fmt.Errorf("%s payload cut short: %w", cmdName(p.cmd), err)
		}
	}
	return p, nil
}
