package adb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"telltale.dev/devices/adb/wire"
)

// Device is one device on a server, addressed by serial.
type Device struct {
	c      *Client
	serial string

	mu    sync.Mutex
	feats []string // cached once read: a device's features do not change while it stays connected
}

// Serial is the device's serial ("emulator-5554", "127.0.0.1:40123").
func (d *Device) Serial() string { return d.serial }

// open connects to a service on the device (host:transport then the service).
func (d *Device) open(ctx context.Context, service string) (*conn, error) {
	conn, err := d.c.dial(ctx)
	if err != nil {
		return nil, err
	}
	if err := conn.request("host:transport:" + d.serial); err != nil {
		conn.Close()
		return nil, err
	}
	if err := conn.request(service); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// hostQuery sends a host-serial request and reads its string reply.
func (d *Device) hostQuery(ctx context.Context, req string) (string, error) {
	return d.c.queryString(ctx, "host-serial:"+d.serial+":"+req)
}

// State is the device's state ("device", "offline", "unauthorized" ...).
func (d *Device) State(ctx context.Context) (string, error) {
	return d.hostQuery(ctx, "get-state")
}

// WaitForDevice returns once the device is listed in state "device", like
// `adb wait-for-device`; the server does the waiting.
func (d *Device) WaitForDevice(ctx context.Context) error {
	conn, err := d.c.dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.request("host-serial:" + d.serial + ":wait-for-any-device"); err != nil {
		return err
	}
	return conn.readStatus()
}

// Features lists what the device's adbd supports ("shell_v2", "stat_v2", "cmd" ...).
func (d *Device) Features(ctx context.Context) ([]string, error) {
	d.mu.Lock()
	f := d.feats
	d.mu.Unlock()
	if f != nil {
		return slices.Clone(f), nil
	}
	s, err := d.hostQuery(ctx, "features")
	if err != nil {
		return nil, err
	}
	f = []string{}
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			f = append(f, x)
		}
	}
	d.mu.Lock()
	d.feats = f
	d.mu.Unlock()
	return slices.Clone(f), nil
}

func (d *Device) hasFeature(ctx context.Context, name string) (bool, error) {
	f, err := d.Features(ctx)
	if err != nil {
		return false, err
	}
	return slices.Contains(f, name), nil
}

// ShellResult is what a shell command produced.
type ShellResult struct {
	Stdout, Stderr []byte
	ExitCode       int
	// ExitKnown is false on devices without shell_v2, whose legacy shell
	// reports no exit status (and mixes stderr into Stdout).
	ExitKnown bool
	cmd       string
}

// Err is an *ExitError when the command is known to have exited non-zero.
func (r *ShellResult) Err() error {
	if r.ExitKnown && r.ExitCode != 0 {
		return &ExitError{Cmd: r.cmd, Code: r.ExitCode, Stderr: r.Stderr}
	}
	return nil
}

// Shell runs a command on the device. cmd is passed as-is, so it may be a
// whole command line; each of args is quoted and appended, so arguments with
// spaces, quotes, `;` or `$` arrive as one word each. A command that exits
// non-zero is not an error here: see ShellResult.Err and RunCommand.
func (d *Device) Shell(ctx context.Context, cmd string, args ...string) (*ShellResult, error) {
	line := commandLine(cmd, args)
	v2, err := d.hasFeature(ctx, "shell_v2")
	if err != nil {
		return nil, err
	}
	if !v2 {
		conn, err := d.open(ctx, "shell:"+line)
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		out, err := io.ReadAll(conn)
		if err != nil {
			return nil, err
		}
		return &ShellResult{Stdout: out, cmd: line}, nil
	}
	conn, err := d.open(ctx, "shell,v2,raw:"+line)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// We send no input: closing stdin at once lets a command that reads it
	// see EOF instead of waiting forever.
	if err := wire.WriteShellPacket(conn, wire.ShellCloseStdin, nil); err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	for {
		id, data, err := wire.ReadShellPacket(conn)
		if err != nil {
			if ctx.Err() != nil {
				// A packet cut short by the deadline reads as a short
				// stream; the deadline is the real reason.
				return nil, fmt.Errorf("adb shell %q: %w", line, context.Cause(ctx))
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("adb shell %q: stream ended without an exit status (device gone?): %w", line, io.ErrUnexpectedEOF)
			}
			return nil, err
		}
		switch id {
		case wire.ShellStdout:
			stdout.Write(data)
		case wire.ShellStderr:
			stderr.Write(data)
		case wire.ShellExit:
			if len(data) != 1 {
				return nil, fmt.Errorf("adb shell %q: exit packet of %d bytes, want 1", line, len(data))
			}
			return &ShellResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: int(data[0]), ExitKnown: true, cmd: line}, nil
		}
	}
}

// RunCommand runs a command and returns its stdout; a non-zero exit is an *ExitError.
func (d *Device) RunCommand(ctx context.Context, cmd string, args ...string) (string, error) {
	r, err := d.Shell(ctx, cmd, args...)
	if err != nil {
		return "", err
	}
	return string(r.Stdout), r.Err()
}

func commandLine(cmd string, args []string) string {
	var b strings.Builder
	b.WriteString(cmd)
	for _, a := range args {
		b.WriteByte(' ')
		b.WriteString(Quote(a))
	}
	return b.String()
}

// Quote quotes arg for a POSIX shell (the device's sh) as one word.
func Quote(arg string) string {
	if arg != "" && strings.IndexFunc(arg, unsafeShellRune) < 0 {
		return arg
	}
	return "'" + strings.ReplaceAll(arg, "'", `'\''`) + "'"
}

func unsafeShellRune(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return false
	}
	return !strings.ContainsRune("@%+=:,./_-", r)
}

// GetProp reads one system property; an unset one is "".
func (d *Device) GetProp(ctx context.Context, name string) (string, error) {
	out, err := d.RunCommand(ctx, "getprop", name)
	return strings.TrimRight(out, "\r\n"), err
}

// Properties reads every system property.
func (d *Device) Properties(ctx context.Context) (map[string]string, error) {
	out, err := d.RunCommand(ctx, "getprop")
	if err != nil {
		return nil, err
	}
	return parseProps(out), nil
}

// parseProps reads getprop's "[name]: [value]" lines.
func parseProps(s string) map[string]string {
	m := map[string]string{}
	for line := range strings.Lines(s) {
		line = strings.TrimRight(line, "\r\n")
		name, value, ok := strings.Cut(line, "]: [")
		if !ok || !strings.HasPrefix(name, "[") || !strings.HasSuffix(value, "]") {
			continue
		}
		m[name[1:]] = value[:len(value)-1]
	}
	return m
}

// Root restarts adbd as root (`adb root`). The device drops off the bus for
// a moment when it does; call WaitForDevice after.
func (d *Device) Root(ctx context.Context) error {
	conn, err := d.open(ctx, "root:")
	if err != nil {
		return err
	}
	defer conn.Close()
	out, err := io.ReadAll(conn)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return err
	}
	msg := strings.TrimSpace(string(out))
	switch {
	case strings.Contains(msg, "cannot run as root"):
		return fmt.Errorf("%w (adbd: %s)", ErrRootNotAllowed, msg)
	case strings.Contains(msg, "restarting adbd as root"), strings.Contains(msg, "already running as root"):
		return nil
	}
	return &ServerError{Request: "root:", Msg: msg}
}
