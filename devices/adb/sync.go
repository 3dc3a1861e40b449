package adb

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"time"

	"telltale.dev/devices/adb/wire"
)

// DirEntry is a file on the device as sync: describes it.
type DirEntry struct {
	Name    string
	Mode    os.FileMode
	Size    int64
	ModTime time.Time
}

// TransferOption tunes Push and Pull.
type TransferOption func(*transferOptions)

type transferOptions struct {
	progress func(done, total int64)
}

// WithProgress has Push and Pull call fn as data moves, with the bytes
// moved so far and the total, or -1 when the total is not known up front.
func WithProgress(fn func(done, total int64)) TransferOption {
	return func(o *transferOptions) { o.progress = fn }
}

func (o *transferOptions) report(done, total int64) {
	if o.progress != nil {
		o.progress(done, total)
	}
}

// pushBatch is how many DATA packets Push sends per write.
const pushBatch = 16

// Push writes r to path on the device, creating it with mode (permission
// bits; 0644 when zero) and mtime (now when zero), as `adb push` does.
func (d *Device) Push(ctx context.Context, r io.Reader, path string, mode os.FileMode, mtime time.Time, opts ...TransferOption) error {
	o := applyOptions(opts)
	if mode.Perm() == 0 {
		mode |= 0o644
	}
	spec := fmt.Sprintf("%s,%d", path, unixMode(mode))
	if len(spec) > wire.MaxSyncPath {
		return fmt.Errorf("adb push: path %q is longer than adb's %d bytes", path, wire.MaxSyncPath)
	}
	if mtime.IsZero() {
		mtime = time.Now()
	}
	conn, err := d.open(ctx, "sync:")
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.req = "push " + path
	if err := wire.WriteSync(conn, wire.SyncSend, uint32(len(spec)), []byte(spec)); err != nil {
		return err
	}
	total := readerSize(r)
	// DATA packets are laid out back to back in one buffer and sent
	// pushBatch at a time (1 MiB): far fewer write calls for the same bytes.
	const packet = 8 + wire.MaxSyncData
	buf := make([]byte, pushBatch*packet)
	var done int64
	for eof := false; !eof; {
		used := 0
		for used+packet <= len(buf) && !eof {
			n, rerr := io.ReadFull(r, buf[used+8:used+packet])
			switch {
			case rerr == io.EOF || rerr == io.ErrUnexpectedEOF:
				eof = true
			case rerr != nil:
				return fmt.Errorf("adb push %s: reading the source: %w", path, rerr)
			}
			if n == 0 {
				break
			}
			copy(buf[used:], wire.SyncData)
			binary.LittleEndian.PutUint32(buf[used+4:used+8], uint32(n))
			used += 8 + n
			done += int64(n)
		}
		if used == 0 {
			break
		}
		if _, err := conn.Write(buf[:used]); err != nil {
			// adbd answers FAIL and closes when it cannot write the
			// file; its reason is worth more than our broken pipe.
			if ferr := readSyncFail(conn, "push "+path); ferr != nil {
				return ferr
			}
			return err
		}
		o.report(done, total)
	}
	if err := wire.WriteSync(conn, wire.SyncDone, uint32(mtime.Unix()), nil); err != nil {
		return err
	}
	id, arg, err := wire.ReadSyncHeader(conn)
	if err != nil {
		return conn.unexpected(err)
	}
	if err := syncReply(conn, id, arg, "push "+path); err != nil {
		return err
	}
	quitSync(conn)
	return nil
}

// Pull copies path on the device to w.
func (d *Device) Pull(ctx context.Context, path string, w io.Writer, opts ...TransferOption) error {
	o := applyOptions(opts)
	if len(path) > wire.MaxSyncPath {
		return fmt.Errorf("adb pull: path %q is longer than adb's %d bytes", path, wire.MaxSyncPath)
	}
	total := int64(-1)
	if o.progress != nil {
		st, err := d.Stat(ctx, path)
		if err != nil {
			return err
		}
		total = st.Size
	}
	conn, err := d.open(ctx, "sync:")
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.req = "pull " + path
	conn.bulk()
	if err := wire.WriteSync(conn, wire.SyncRecv, uint32(len(path)), []byte(path)); err != nil {
		return err
	}
	var done int64
	for {
		id, arg, err := wire.ReadSyncHeader(conn)
		if err != nil {
			return conn.unexpected(err)
		}
		switch id {
		case wire.SyncData:
			if arg > wire.MaxSyncData {
				return fmt.Errorf("adb pull %s: DATA chunk of %d bytes exceeds %d: %w", path, arg, wire.MaxSyncData, wire.ErrSyncTooLong)
			}
			// The chunk is written straight from the read buffer, saving
			// a copy per chunk.
			chunk, err := conn.peek(int(arg))
			if err != nil {
				return conn.unexpected(err)
			}
			if _, err := w.Write(chunk); err != nil {
				return fmt.Errorf("adb pull %s: writing the copy: %w", path, err)
			}
			conn.discard(len(chunk))
			done += int64(arg)
			o.report(done, total)
		case wire.SyncDone:
			quitSync(conn)
			return nil
		default:
			if err := syncReply(conn, id, arg, "pull "+path); err != nil {
				return err
			}
			return fmt.Errorf("adb pull %s: unexpected OKAY in the middle of a transfer", path)
		}
	}
}

// Stat describes path on the device; a missing file gives an error that
// wraps fs.ErrNotExist.
func (d *Device) Stat(ctx context.Context, path string) (*DirEntry, error) {
	v2, err := d.hasFeature(ctx, "stat_v2")
	if err != nil {
		return nil, err
	}
	conn, err := d.open(ctx, "sync:")
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.req = "stat " + path
	req := wire.SyncStat
	if v2 {
		req = wire.SyncStat2
	}
	if err := wire.WriteSync(conn, req, uint32(len(path)), []byte(path)); err != nil {
		return nil, err
	}
	e, err := readStatReply(conn, req, path)
	if err == nil {
		quitSync(conn)
	}
	return e, err
}

// readStatReply reads a STAT or STA2 reply.
func readStatReply(r io.Reader, req, path string) (*DirEntry, error) {
	var id [4]byte
	if _, err := io.ReadFull(r, id[:]); err != nil {
		return nil, err
	}
	if string(id[:]) != req {
		return nil, fmt.Errorf("adb stat %s: reply %q, want %q", path, id[:], req)
	}
	name := path[strings.LastIndexByte(path, '/')+1:]
	if req == wire.SyncStat2 {
		b := make([]byte, wire.Stat2Size)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		st, err := wire.UnmarshalStat2(b)
		if err != nil {
			return nil, err
		}
		if st.Error != 0 {
			return nil, &fs.PathError{Op: "stat", Path: path, Err: syscall.Errno(st.Error)}
		}
		return &DirEntry{Name: name, Mode: fileMode(st.Mode), Size: int64(st.Size), ModTime: time.Unix(st.Mtime, 0)}, nil
	}
	var b [12]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	mode, size, mtime := le.Uint32(b[0:]), le.Uint32(b[4:]), le.Uint32(b[8:])
	// STAT v1 has no error field: adbd answers all zeros for a missing file.
	if mode == 0 && size == 0 && mtime == 0 {
		return nil, &fs.PathError{Op: "stat", Path: path, Err: syscall.ENOENT}
	}
	return &DirEntry{Name: name, Mode: fileMode(mode), Size: int64(size), ModTime: time.Unix(int64(mtime), 0)}, nil
}

// List lists the directory path on the device, without "." and "..".
func (d *Device) List(ctx context.Context, path string) ([]DirEntry, error) {
	conn, err := d.open(ctx, "sync:")
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.req = "list " + path
	if err := wire.WriteSync(conn, wire.SyncList, uint32(len(path)), []byte(path)); err != nil {
		return nil, err
	}
	entries, err := readDents(conn, path)
	if err != nil {
		return nil, conn.unexpected(err)
	}
	quitSync(conn)
	if len(entries) == 0 {
		// adbd lists a missing directory as empty; say it is missing.
		if _, err := d.Stat(ctx, path); err != nil {
			return nil, err
		}
	}
	return entries, nil
}

// readDents reads LIST replies: DENT mode size mtime namelen name, until DONE.
func readDents(r io.Reader, path string) ([]DirEntry, error) {
	entries := []DirEntry{}
	var hdr [20]byte
	le := binary.LittleEndian
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return nil, err
		}
		switch string(hdr[:4]) {
		case wire.SyncDone:
			return entries, nil
		case wire.SyncDent:
		default:
			return nil, fmt.Errorf("adb list %s: reply %q, want DENT or DONE", path, hdr[:4])
		}
		name, err := wire.ReadSyncPayload(r, le.Uint32(hdr[16:]), wire.MaxSyncPath)
		if err != nil {
			return nil, fmt.Errorf("adb list %s: %w", path, err)
		}
		if n := string(name); n == "." || n == ".." {
			continue
		}
		entries = append(entries, DirEntry{
			Name:    string(name),
			Mode:    fileMode(le.Uint32(hdr[4:])),
			Size:    int64(le.Uint32(hdr[8:])),
			ModTime: time.Unix(int64(le.Uint32(hdr[12:])), 0),
		})
	}
}

// syncReply turns an OKAY or FAIL sync reply into nil or an error.
func syncReply(r io.Reader, id string, arg uint32, what string) error {
	switch id {
	case wire.SyncOkay:
		return nil
	case wire.SyncFail:
		msg, err := wire.ReadSyncPayload(r, arg, wire.MaxSyncPath)
		if err != nil {
			return fmt.Errorf("adb %s: failed, and the reason was unreadable: %w", what, err)
		}
		return syncFailError(what, string(msg))
	}
	return fmt.Errorf("adb %s: sync reply %q, want OKAY or FAIL", what, id)
}

// syncFailError makes a FAIL message an error, recognising a missing file.
func syncFailError(what, msg string) error {
	e := &ServerError{Request: what, Msg: msg}
	if strings.Contains(strings.ToLower(msg), "no such file") {
		return fmt.Errorf("%w: %w", e, fs.ErrNotExist)
	}
	return e
}

// readSyncFail reads a FAIL the device sent before closing, if there is one.
func readSyncFail(r io.Reader, what string) error {
	id, arg, err := wire.ReadSyncHeader(r)
	if err != nil || id != wire.SyncFail {
		return nil
	}
	return syncReply(r, id, arg, what)
}

// quitSync ends a sync session politely; the connection closes right after
// anyway, so a failure here changes nothing.
func quitSync(w io.Writer) { _ = wire.WriteSync(w, wire.SyncQuit, 0, nil) }

func applyOptions(opts []TransferOption) *transferOptions {
	o := &transferOptions{}
	for _, f := range opts {
		f(o)
	}
	return o
}

// readerSize is the number of bytes r will give, or -1 when unknown.
func readerSize(r io.Reader) int64 {
	switch v := r.(type) {
	case interface{ Len() int }:
		return int64(v.Len())
	case *os.File:
		st, err := v.Stat()
		if err != nil || !st.Mode().IsRegular() {
			return -1
		}
		off, err := v.Seek(0, io.SeekCurrent)
		if err != nil {
			return -1
		}
		return st.Size() - off
	}
	return -1
}

// Unix file type bits as sync: carries them.
const (
	sIFMT   = 0o170000
	sIFSOCK = 0o140000
	sIFLNK  = 0o120000
	sIFREG  = 0o100000
	sIFBLK  = 0o060000
	sIFDIR  = 0o040000
	sIFCHR  = 0o020000
	sIFIFO  = 0o010000
)

// fileMode converts a unix st_mode to an os.FileMode.
func fileMode(m uint32) os.FileMode {
	mode := os.FileMode(m & 0o777)
	switch m & sIFMT {
	case sIFDIR:
		mode |= os.ModeDir
	case sIFLNK:
		mode |= os.ModeSymlink
	case sIFCHR:
		mode |= os.ModeDevice | os.ModeCharDevice
	case sIFBLK:
		mode |= os.ModeDevice
	case sIFIFO:
		mode |= os.ModeNamedPipe
	case sIFSOCK:
		mode |= os.ModeSocket
	}
	if m&0o4000 != 0 {
		mode |= os.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= os.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= os.ModeSticky
	}
	return mode
}

// unixMode converts the permission bits of an os.FileMode to the st_mode of
// a regular file, which is what SEND expects.
func unixMode(m os.FileMode) uint32 {
	u := uint32(m.Perm()) | sIFREG
	if m&os.ModeSetuid != 0 {
		u |= 0o4000
	}
	if m&os.ModeSetgid != 0 {
		u |= 0o2000
	}
	if m&os.ModeSticky != 0 {
		u |= 0o1000
	}
	return u
}
