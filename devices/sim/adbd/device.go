package adbd

import (
	"context"
	"errors"
	"image"
	"io"
	"net"
	"time"

	"telltale.dev/devices/adb/wire"
)

// Device is the phone behind the transport. The simulated phone implements it;
// the transport knows nothing about what the phone pretends to be.
type Device interface {
	// Banner is the CNXN payload, "device::ro.product.name=..;ro.product.model=..;
	// ro.product.device=..;features=shell_v2,cmd,stat_v2".
	Banner() string
	// Exec runs one shell command line to completion and returns its exit
	// code. ctx ends when the host closes the stream or the connection
	// drops. stdin: shell v2 sends it with an end (close-stdin); a legacy
	// shell:CMD gets none; exec: and an interactive legacy shell: (empty
	// cmd) get the raw stream, which ends only when the stream closes, so
	// read just what the command needs (adb install streams the APK to
	// `cmd package install -S SIZE` over exec:).
	Exec(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) int
	// FS serves sync: requests.
	FS() FS
	// Root answers the root: service. msg is what adbd prints; restart says
	// the transport must drop the connection so the server reconnects.
	Root() (msg string, restart bool)
}

// FS is the phone's file system as sync: sees it. Errors are syscall.Errno
// values (ENOENT, EACCES, EROFS, EISDIR ...) so replies carry errno text.
type FS interface {
	Stat(path string) (wire.Stat, error)
	List(path string) ([]DirEntry, error)
	Open(path string) (io.ReadCloser, error)
	// Create opens path for writing; the file appears with mode and mtime
	// once the writer is closed without error. mode is SEND's, file type
	// bits included (0o100644). adb sends the mtime after the data, so the
	// transport passes the current time and, if the writer is an
	// MtimeSetter, the pushed mtime before Close.
	Create(path string, mode uint32, mtime int64) (io.WriteCloser, error)
}

// DirEntry is one LIST/LIS2 entry.
type DirEntry struct {
	Name string
	Stat wire.Stat
}

// Tunnel is what the transport offers the phone: connections out through
// `adb reverse`, and a way to drop off the bus as a reboot does.
type Tunnel interface {
	// DialReverse connects to the host side of the reverse rule registered
	// for local ("tcp:8080"), as an app connecting to the device's
	// localhost:8080 would. It fails with ErrNoReverse when no rule covers
	// local: the transport never opens an unregistered target, because adb 29
	// exits on one.
	DialReverse(ctx context.Context, local string) (net.Conn, error)
	// Disconnect drops every adb connection and refuses new ones for downtime.
	Disconnect(downtime time.Duration)
}

// ErrNoReverse is returned by DialReverse when no reverse rule covers the port.
var ErrNoReverse = errors.New("no adb reverse rule for that port: connection refused")

// MtimeSetter is optionally implemented by the writer FS.Create returns.
// adb push sends a file's mtime only after its data, so the transport
// creates the file with the current time and, when the writer offers it,
// sets the pushed mtime just before Close.
type MtimeSetter interface {
	SetMtime(mtime int64)
}

// Rebooter is optionally implemented by a Device that wants to hear about
// the reboot: service (target is "" or "bootloader", "recovery", ...) before
// the transport drops off the bus for the reboot downtime.
type Rebooter interface {
	Reboot(target string)
}

// Display is optionally implemented by a Device with a screen: the
// framebuffer: service (ddmlib's IDevice.getScreenshot, the old `adb
// screencap`) sends what it shows. Without it the service closes at once,
// as adbd's does when screencap fails.
type Display interface {
	// Screenshot returns the screen as screencap would capture it now.
	Screenshot(ctx context.Context) (image.Image, error)
}

// Sockets is optionally implemented by a Device whose programs listen on
// sockets: `adb forward tcp:H tcp:D` (and localabstract:, localreserved:,
// localfilesystem:) connects through it. Without it every such service is
// refused, as on a phone where nothing listens.
type Sockets interface {
	// DialSocket connects to spec ("tcp:8080", "localabstract:name") as a
	// program on the phone would. An error (nothing listens) makes the
	// transport refuse the stream, which is what adbd does when its
	// connect(2) fails.
	DialSocket(ctx context.Context, spec string) (net.Conn, error)
}
