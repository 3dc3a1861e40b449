// Package wire holds the byte formats that both sides of adb speak inside a
// stream: shell protocol v2 packets and sync: requests and replies. The host
// client (devices/adb) and the simulated phone (devices/sim) share it so the
// two can never disagree about a layout.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Shell v2 packet ids: [id u8][len u32 LE][data].
const (
	ShellStdin      byte = 0
	ShellStdout     byte = 1
	ShellStderr     byte = 2
	ShellExit       byte = 3
	ShellCloseStdin byte = 4
	ShellWindowSize byte = 5
)

// MaxShellPacket bounds a shell v2 packet so a corrupt length cannot make a
// reader allocate gigabytes.
const MaxShellPacket = 1 << 20

// WriteShellPacket writes one shell v2 packet in a single Write.
func WriteShellPacket(w io.Writer, id byte, data []byte) error {
	buf := make([]byte, 5+len(data))
	buf[0] = id
	binary.LittleEndian.PutUint32(buf[1:5], uint32(len(data)))
	copy(buf[5:], data)
	_, err := w.Write(buf)
	return err
}

// ReadShellPacket reads one shell v2 packet.
func ReadShellPacket(r io.Reader) (id byte, data []byte, err error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.LittleEndian.Uint32(hdr[1:5])
	if n > MaxShellPacket {
		return 0, nil, fmt.Errorf("shell v2 packet of %d bytes exceeds %d: stream is corrupt", n, MaxShellPacket)
	}
	data = make([]byte, n)
	if _, err := io.ReadFull(r, data); err != nil {
		return 0, nil, fmt.Errorf("shell v2 packet cut short: %w", io.ErrUnexpectedEOF)
	}
	return hdr[0], data, nil
}

// Sync request and reply ids, four ASCII bytes read as a little-endian u32.
const (
	SyncStat   = "STAT"
	SyncStat2  = "STA2"
	SyncLstat2 = "LST2"
	SyncList   = "LIST"
	SyncList2  = "LIS2"
	SyncSend   = "SEND"
	SyncRecv   = "RECV"
	SyncData   = "DATA"
	SyncDone   = "DONE"
	SyncOkay   = "OKAY"
	SyncFail   = "FAIL"
	SyncQuit   = "QUIT"
	SyncDent   = "DENT"
)

// MaxSyncData is the largest DATA chunk adb sends or accepts.
const MaxSyncData = 64 * 1024

// MaxSyncPath bounds a path or FAIL message in a sync request.
const MaxSyncPath = 1024

// ErrSyncTooLong is returned for a sync packet whose length field is out of bounds.
var ErrSyncTooLong = errors.New("sync packet length out of bounds")

// WriteSync writes a sync packet [id][u32 arg][payload] in one Write. For
// requests and DATA/FAIL the arg is len(payload); DONE carries an mtime or 0.
func WriteSync(w io.Writer, id string, arg uint32, payload []byte) error {
	buf := make([]byte, 8+len(payload))
	copy(buf[:4], id)
	binary.LittleEndian.PutUint32(buf[4:8], arg)
	copy(buf[8:], payload)
	_, err := w.Write(buf)
	return err
}

// ReadSyncHeader reads the 8-byte id and argument of a sync packet.
func ReadSyncHeader(r io.Reader) (id string, arg uint32, err error) {
	var hdr [8]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return "", 0, err
	}
	return string(hdr[:4]), binary.LittleEndian.Uint32(hdr[4:8]), nil
}

// ReadSyncPayload reads n bytes that follow a header, refusing n over max.
func ReadSyncPayload(r io.Reader, n uint32, max int) ([]byte, error) {
	if int64(n) > int64(max) {
		return nil, fmt.Errorf("%w: %d > %d", ErrSyncTooLong, n, max)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// Stat is a file's metadata as STA2/LST2 and LIS2 carry it. STAT (v1) uses
// only Mode, Size and Mtime, each truncated to u32.
type Stat struct {
	Error uint32 // errno, 0 when the file exists (v2 only)
	Dev   uint64
	Ino   uint64
	Mode  uint32 // unix mode bits including the file type (0o100644, 0o40755)
	Nlink uint32
	UID   uint32
	GID   uint32
	Size  uint64
	Atime int64
	Mtime int64
	Ctime int64
}

// Stat2Size is the size of a STA2/LST2 reply after its 4-byte id.
const Stat2Size = 68

// MarshalStat2 encodes s as the body of a STA2 reply (without the id).
func MarshalStat2(s Stat) []byte {
	b := make([]byte, Stat2Size)
	le := binary.LittleEndian
	le.PutUint32(b[0:], s.Error)
	le.PutUint64(b[4:], s.Dev)
	le.PutUint64(b[12:], s.Ino)
	le.PutUint32(b[20:], s.Mode)
	le.PutUint32(b[24:], s.Nlink)
	le.PutUint32(b[28:], s.UID)
	le.PutUint32(b[32:], s.GID)
	le.PutUint64(b[36:], s.Size)
	le.PutUint64(b[44:], uint64(s.Atime))
	le.PutUint64(b[52:], uint64(s.Mtime))
	le.PutUint64(b[60:], uint64(s.Ctime))
	return b
}

// UnmarshalStat2 decodes the body of a STA2 reply.
func UnmarshalStat2(b []byte) (Stat, error) {
	if len(b) < Stat2Size {
		return Stat{}, fmt.Errorf("STA2 reply of %d bytes, want %d", len(b), Stat2Size)
	}
	le := binary.LittleEndian
	return Stat{
		Error: le.Uint32(b[0:]),
		Dev:   le.Uint64(b[4:]),
		Ino:   le.Uint64(b[12:]),
		Mode:  le.Uint32(b[20:]),
		Nlink: le.Uint32(b[24:]),
		UID:   le.Uint32(b[28:]),
		GID:   le.Uint32(b[32:]),
		Size:  le.Uint64(b[36:]),
		Atime: int64(le.Uint64(b[44:])),
		Mtime: int64(le.Uint64(b[52:])),
		Ctime: int64(le.Uint64(b[60:])),
	}, nil
}
