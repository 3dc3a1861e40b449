package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

func TestShellPacket(t *testing.T) {
	for _, tc := range []struct {
		id   byte
		data []byte
		enc  string
	}{
		{ShellStdout, []byte("hi\n"), "\x01\x03\x00\x00\x00hi\n"},
		{ShellExit, []byte{3}, "\x03\x01\x00\x00\x00\x03"},
		{ShellCloseStdin, nil, "\x04\x00\x00\x00\x00"},
	} {
		var b bytes.Buffer
		if err := WriteShellPacket(&b, tc.id, tc.data); err != nil || b.String() != tc.enc {
			t.Errorf("WriteShellPacket(%d, %q) = %q, %v; want %q", tc.id, tc.data, b.String(), err, tc.enc)
		}
		id, data, err := ReadShellPacket(&b)
		if err != nil || id != tc.id || !bytes.Equal(data, tc.data) {
			t.Errorf("ReadShellPacket(%q) = %d, %q, %v", tc.enc, id, data, err)
		}
	}
	for name, in := range map[string]string{
		"empty":     "",
		"short hdr": "\x01\x05\x00",
		"short":     "\x01\x05\x00\x00\x00abc",
		"huge":      "\x01\xff\xff\xff\x7f",
	} {
		if _, _, err := ReadShellPacket(bytes.NewReader([]byte(in))); err == nil {
			t.Errorf("%s: ReadShellPacket(%q) succeeded", name, in)
		}
	}
	if _, _, err := ReadShellPacket(bytes.NewReader([]byte("\x01\x05\x00\x00\x00abc"))); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut packet: %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestSync(t *testing.T) {
	var b bytes.Buffer
	if err := WriteSync(&b, SyncSend, 14, []byte("/sdcard/x,33188")); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != "SEND\x0e\x00\x00\x00/sdcard/x,33188" {
		t.Fatalf("WriteSync = %q", got)
	}
	id, arg, err := ReadSyncHeader(&b)
	if err != nil || id != SyncSend || arg != 14 {
		t.Fatalf("ReadSyncHeader = %q %d %v", id, arg, err)
	}
	if p, err := ReadSyncPayload(&b, 9, MaxSyncPath); err != nil || string(p) != "/sdcard/x" {
		t.Fatalf("ReadSyncPayload = %q, %v", p, err)
	}
	if _, err := ReadSyncPayload(&b, MaxSyncPath+1, MaxSyncPath); !errors.Is(err, ErrSyncTooLong) {
		t.Fatalf("oversized payload: %v", err)
	}
	if _, _, err := ReadSyncHeader(bytes.NewReader([]byte("DON"))); err == nil {
		t.Fatal("short header read")
	}
}

func TestStat2(t *testing.T) {
	s := Stat{Error: 0, Dev: 1 << 40, Ino: 7, Mode: 0o100644, Nlink: 1, UID: 10123, GID: 1015, Size: 5 << 32, Atime: -1, Mtime: 1588248000, Ctime: 3}
	b := MarshalStat2(s)
	if len(b) != Stat2Size || binary.LittleEndian.Uint32(b[20:]) != 0o100644 {
		t.Fatalf("MarshalStat2 = %x", b)
	}
	got, err := UnmarshalStat2(b)
	if err != nil || got != s {
		t.Fatalf("round trip = %+v, %v", got, err)
	}
	if _, err := UnmarshalStat2(b[:Stat2Size-1]); err == nil {
		t.Fatal("short STA2 body accepted")
	}
}

// FuzzReadShellPacket: any byte stream reads as packets or an error, never
// a panic or a packet longer than the input.
func FuzzReadShellPacket(f *testing.F) {
	f.Add([]byte("\x01\x03\x00\x00\x00hi\n\x03\x01\x00\x00\x00\x00"))
	f.Add([]byte("\x02\xff\xff\x0f\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		for {
			_, data, err := ReadShellPacket(r)
			if err != nil {
				return
			}
			if len(data) > len(b) {
				t.Fatalf("packet of %d bytes from %d bytes of input", len(data), len(b))
			}
		}
	})
}
