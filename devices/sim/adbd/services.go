package adbd

import (
	"io"
	"strings"
	"time"

	"telltale.dev/devices/adb/wire"
)

// service returns the handler for a service name, or nil to refuse it.
func (c *conn) service(name string) func(*stream) {
	switch {
	case strings.HasPrefix(name, "shell:"), strings.HasPrefix(name, "shell,"):
		return c.shellService(name)
	case strings.HasPrefix(name, "exec:"):
		cmd := strings.TrimPrefix(name, "exec:")
		// exec: carries stdin: `adb install` streams the APK to
		// `cmd package install -S SIZE` this way.
		return func(s *stream) { c.srv.dev.Exec(s.ctx, cmd, s, s, s) }
	case name == "sync:":
		return c.syncService
	case strings.HasPrefix(name, "reverse:"):
		return c.reverseService(strings.TrimPrefix(name, "reverse:"))
	case name == "root:":
		return c.rootService
	case strings.HasPrefix(name, "reboot:"):
		return c.rebootService(strings.TrimPrefix(name, "reboot:"))
	case name == "framebuffer:":
		return c.framebufferService
	case name == "jdwp":
		// The list of debuggable processes, then the end: none here.
		return func(*stream) {}
	case name == "track-jdwp":
		return trackJDWP
	case strings.HasPrefix(name, "abb_exec:"), strings.HasPrefix(name, "abb:"):
		return c.abbService(name)
	}
	return nil
}

// trackJDWP is the live list of debuggable processes ddmlib's DeviceMonitor
// follows: each update is "%04x" and the pids one a line (AOSP
// adb/daemon/jdwp_service.cpp). A retail phone with no debuggable app sends
// the empty list once and stays quiet until the host closes the stream; a
// process list that changes would need app processes this phone does not
// have (modeled).
func trackJDWP(s *stream) {
	if _, err := io.WriteString(s, lengthPrefixed("")); err != nil {
		return
	}
	io.Copy(io.Discard, s)
}

// abbService runs the Android Binder Bridge: "abb_exec:SERVICE\x00ARG..."
// (raw, with stdin: `adb install` on adbd advertising abb_exec) or
// "abb:..." (shell protocol). abb calls the service's shell command in
// process, which is what `cmd SERVICE ARG...` does from a shell, so the
// Device runs that, arguments quoted.
func (c *conn) abbService(name string) func(*stream) {
	head, args, _ := strings.Cut(name, ":")
	parts := strings.Split(args, "\x00")
	cmd := "cmd"
	for _, a := range parts {
		cmd += " " + shellQuote(a)
	}
	if head == "abb" {
		return func(s *stream) { c.shellV2(s, cmd, false) }
	}
	return func(s *stream) { c.srv.dev.Exec(s.ctx, cmd, s, s, s) }
}

// shellQuote quotes an argument for sh the way adb's escape_arg does.
func shellQuote(arg string) string {
	return "'" + strings.ReplaceAll(arg, "'", `'\''`) + "'"
}

// shellService parses "shell[,arg...]:CMD". Args are v2 (shell protocol),
// pty or raw, and TERM=...; without pty or raw a command runs raw and an
// empty command (interactive) gets a pty, as adbd decides.
func (c *conn) shellService(name string) func(*stream) {
	head, cmd, _ := strings.Cut(name, ":")
	v2, pty := false, cmd == ""
	for _, arg := range strings.Split(head, ",")[1:] {
		switch arg {
		case "v2":
			v2 = true
		case "pty":
			pty = true
		case "raw":
			pty = false
		}
	}
	if v2 {
		return func(s *stream) { c.shellV2(s, cmd, pty) }
	}
	return func(s *stream) {
		var out io.Writer = s
		if pty {
			out = crlfWriter{s}
		}
		// Legacy shell: has one channel for both outputs and no exit code.
		// Only an interactive one reads the stream: a command's stdin is
		// empty, since adb sends no end-of-input on this service.
		var in io.Reader = strings.NewReader("")
		if cmd == "" {
			in = s
		}
		c.srv.dev.Exec(s.ctx, cmd, in, out, out)
	}
}

// maxShellChunk keeps shell v2 packets well under what adb 29 clients
// buffer per packet.
const maxShellChunk = 16 * 1024

// v2Writer frames writes as shell v2 packets of one id.
type v2Writer struct {
	w  io.Writer
	id byte
}

func (v v2Writer) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), maxShellChunk)]
		if err := wire.WriteShellPacket(v.w, v.id, chunk); err != nil {
			return n, err
		}
		n += len(chunk)
		p = p[len(chunk):]
	}
	return n, nil
}

// crlfWriter turns \n into \r\n the way a pty's onlcr does, so `adb shell
// -t` output looks like a terminal's.
type crlfWriter struct{ w io.Writer }

func (c crlfWriter) Write(p []byte) (int, error) {
	if _, err := c.w.Write([]byte(strings.ReplaceAll(string(p), "\n", "\r\n"))); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (c *conn) shellV2(s *stream, cmd string, pty bool) {
	var stdout, stderr io.Writer = v2Writer{s, wire.ShellStdout}, v2Writer{s, wire.ShellStderr}
	if pty {
		// A pty has a single output channel.
		stdout = crlfWriter{stdout}
		stderr = stdout
	}
	stdin, stdinW := io.Pipe()
	go pumpStdin(s, stdinW)
	code := c.srv.dev.Exec(s.ctx, cmd, stdin, stdout, stderr)
	stdin.Close()
	wire.WriteShellPacket(s, wire.ShellExit, []byte{byte(code)})
}

// pumpStdin feeds shell v2 stdin packets to the command until close-stdin,
// then keeps draining so the host's writes are still acknowledged.
func pumpStdin(s *stream, w *io.PipeWriter) {
	defer w.Close()
	for {
		id, data, err := wire.ReadShellPacket(s)
		if err != nil {
			return
		}
		switch id {
		case wire.ShellStdin:
			w.Write(data) // fails once the command is done; keep draining
		case wire.ShellCloseStdin:
			w.Close()
		}
		// Window size changes mean nothing to a simulated terminal.
	}
}

func (c *conn) rootService(s *stream) {
	msg, restart := c.srv.dev.Root()
	io.WriteString(s, msg)
	if !restart {
		return
	}
	// Let the message reach the host before adbd "restarts"; a restart
	// drops every connection, like the real daemon exiting.
	s.flush(time.Second)
	s.Close()
	c.log.Info("restarting adbd as root")
	c.srv.Disconnect(0)
}

func (c *conn) rebootService(target string) func(*stream) {
	return func(s *stream) {
		if r, ok := c.srv.dev.(Rebooter); ok {
			r.Reboot(target)
		}
		s.Close()
		c.log.Info("rebooting", "target", target, "downtime", c.srv.rebootDowntime)
		c.srv.Disconnect(c.srv.rebootDowntime)
	}
}
