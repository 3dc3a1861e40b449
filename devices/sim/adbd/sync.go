package adbd

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"syscall"
	"time"

	"telltale.dev/devices/adb/wire"
)

// syncService serves sync: requests until QUIT, a protocol error or the
// stream's end. Requests are read straight from the stream, so they may
// span WRTE packets freely; replies are buffered and flushed before each
// wait for the next request.
func (c *conn) syncService(s *stream) {
	out := bufio.NewWriterSize(s, int(c.maxSend()))
	defer out.Flush() // a final FAIL must reach the host
	fsys := c.srv.dev.FS()
	for {
		if err := out.Flush(); err != nil {
			return
		}
		id, n, err := wire.ReadSyncHeader(s)
		if err != nil {
			return
		}
		if id == wire.SyncQuit {
			return
		}
		arg, err := wire.ReadSyncPayload(s, n, wire.MaxSyncPath)
		if err != nil {
			c.log.Warn("bad sync request", "id", id, "err", err)
			syncFail(out, err.Error())
			return
		}
		p := cleanPath(string(arg))
		switch id {
		case wire.SyncStat:
			st, err := fsys.Stat(p)
			if err != nil {
				st = wire.Stat{} // v1 says "missing" with all zeros
			}
			out.WriteString(wire.SyncStat)
			out.Write(stat1(st))
		case wire.SyncStat2, wire.SyncLstat2:
			st, err := fsys.Stat(p)
			if err != nil {
				st = wire.Stat{Error: uint32(errnoOf(err))}
			}
			out.WriteString(id)
			out.Write(wire.MarshalStat2(st))
		case wire.SyncList, wire.SyncList2:
			syncList(out, fsys, p, id == wire.SyncList2)
		case wire.SyncSend:
			if !c.syncSend(s, out, fsys, string(arg)) {
				return
			}
		case wire.SyncRecv:
			syncRecv(out, fsys, p)
		default:
			msg := fmt.Sprintf("unknown command %q", id)
			c.log.Warn("bad sync request", "err", msg)
			syncFail(out, msg)
			return
		}
	}
}

// stat1 encodes the v1 STAT and DENT body: mode, size and mtime as u32.
func stat1(st wire.Stat) []byte {
	b := make([]byte, 12)
	binary.LittleEndian.PutUint32(b[0:], st.Mode)
	binary.LittleEndian.PutUint32(b[4:], uint32(st.Size))
	binary.LittleEndian.PutUint32(b[8:], uint32(st.Mtime))
	return b
}

// cleanPath drops the trailing '/' adb push adds to directories, and any
// doubled separators.
func cleanPath(p string) string {
	if p == "" {
		return p
	}
	return path.Clean(p)
}

// syncDent2 is the LIS2 entry id; its DONE carries a zeroed entry body.
const syncDent2 = "DNT2"

func syncList(out *bufio.Writer, fsys FS, p string, v2 bool) {
	entries, err := fsys.List(p)
	if err != nil {
		entries = nil // adbd ends an unreadable directory's listing at once
	}
	for _, e := range entries {
		if v2 {
			out.WriteString(syncDent2)
			out.Write(wire.MarshalStat2(e.Stat))
		} else {
			out.WriteString(wire.SyncDent)
			out.Write(stat1(e.Stat))
		}
		var nl [4]byte
		binary.LittleEndian.PutUint32(nl[:], uint32(len(e.Name)))
		out.Write(nl[:])
		out.WriteString(e.Name)
	}
	out.WriteString(wire.SyncDone)
	if v2 {
		out.Write(make([]byte, wire.Stat2Size+4))
	} else {
		out.Write(make([]byte, 16))
	}
}

// syncSend receives one file. On failure it still drains DATA up to DONE,
// so the host, which only reads the reply after DONE, gets a clean FAIL.
// It returns false when the stream is unusable.
func (c *conn) syncSend(s *stream, out *bufio.Writer, fsys FS, arg string) bool {
	var (
		w       io.WriteCloser
		failMsg string
		opened  bool
	)
	target, mode, err := parseSend(arg)
	if err != nil {
		failMsg = err.Error()
	}
	// The file is created at the first DATA, before DONE brings the mtime:
	// it starts with the current time and gets DONE's mtime if the writer
	// is an MtimeSetter.
	open := func() {
		if opened || failMsg != "" {
			return
		}
		opened = true
		var cerr error
		if w, cerr = fsys.Create(target, mode, time.Now().Unix()); cerr != nil {
			failMsg = "couldn't create file: " + errText(cerr)
		}
	}
	abort := func() {
		if w != nil {
			w.Close()
			w = nil
		}
	}
	for {
		id, n, err := wire.ReadSyncHeader(s)
		if err != nil {
			abort()
			return false
		}
		switch id {
		case wire.SyncData:
			data, err := wire.ReadSyncPayload(s, n, wire.MaxSyncData)
			if err != nil {
				c.log.Warn("bad sync DATA", "err", err)
				abort()
				return false
			}
			open()
			if w != nil && failMsg == "" {
				if _, err := w.Write(data); err != nil {
					failMsg = "write failed: " + errText(err)
					abort()
				}
			}
		case wire.SyncDone:
			open()
			if w != nil && failMsg == "" {
				if ms, ok := w.(MtimeSetter); ok {
					ms.SetMtime(int64(n))
				}
				err := w.Close()
				w = nil
				if err != nil {
					failMsg = "write failed: " + errText(err)
				}
			}
			abort()
			if failMsg != "" {
				syncFail(out, failMsg)
			} else {
				wire.WriteSync(out, wire.SyncOkay, 0, nil)
			}
			return true
		default:
			abort()
			syncFail(out, fmt.Sprintf("unexpected %q in SEND, want DATA or DONE", id))
			return false
		}
	}
}

// parseSend splits SEND's "path,mode" (mode in decimal, file type bits
// included, e.g. 33188 for 0o100644).
func parseSend(arg string) (string, uint32, error) {
	i := strings.LastIndexByte(arg, ',')
	if i < 0 {
		return "", 0, fmt.Errorf("bad SEND request %q: want path,mode", arg)
	}
	mode, err := strconv.ParseUint(arg[i+1:], 10, 32)
	if err != nil {
		return "", 0, fmt.Errorf("bad SEND mode in %q: %w", arg, err)
	}
	return cleanPath(arg[:i]), uint32(mode), nil
}

func syncRecv(out *bufio.Writer, fsys FS, p string) {
	r, err := fsys.Open(p)
	if err != nil {
		syncFail(out, "open failed: "+errText(err))
		return
	}
	defer r.Close()
	buf := make([]byte, wire.MaxSyncData)
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if werr := wire.WriteSync(out, wire.SyncData, uint32(n), buf[:n]); werr != nil {
				return
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			syncFail(out, "read failed: "+errText(err))
			return
		}
	}
	wire.WriteSync(out, wire.SyncDone, 0, nil)
}

func syncFail(out io.Writer, msg string) {
	wire.WriteSync(out, wire.SyncFail, uint32(len(msg)), []byte(msg))
}

// errnoOf maps an FS error to the errno STA2 reports.
func errnoOf(err error) syscall.Errno {
	var errno syscall.Errno
	switch {
	case errors.As(err, &errno):
		return errno
	case errors.Is(err, fs.ErrNotExist):
		return syscall.ENOENT
	case errors.Is(err, fs.ErrPermission):
		return syscall.EACCES
	case errors.Is(err, fs.ErrExist):
		return syscall.EEXIST
	}
	return syscall.EIO
}

// errText renders an FS error as bionic's strerror does ("No such file or
// directory"); Go's errno strings are lower-case.
func errText(err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		if errno = errnoOf(err); errno == syscall.EIO {
			return err.Error()
		}
	}
	t := errno.Error()
	return strings.ToUpper(t[:1]) + t[1:]
}
