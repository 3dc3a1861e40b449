package mitm

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"telltale.dev/harness/capture"
)

// maxSocketPath is the room a Unix socket path has (sun_path, with its NUL).
const maxSocketPath = 107

// OpenApp starts a listener that only app's connections reach, so each flow
// from it carries the app: a Unix socket in Config.AppDir, which the harness
// joins to the app's own port on the phone with `adb reverse tcp:PORT
// localfilesystem:PATH` while iptables sends the app's uid there. A socket
// and not a TCP port, because a proxy in a container can make sockets in a
// mounted directory at any time, while its ports are published once, at
// start. Asking again for a uid returns its socket; the first package named
// for it stays.
func (s *Server) OpenApp(app capture.App) (string, error) {
	if s.cfg.AppDir == "" {
		return "", errors.New("mitm: this proxy has no directory for per-app listeners (start it with --app-dir)")
	}
	if app.UID < 0 {
		return "", fmt.Errorf("mitm: uid %d: want a uid from `pm list packages -U`", app.UID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inShutdown.Load() {
		return "", ErrServerClosed
	}
	if path, ok := s.apps[app.UID]; ok {
		return path, nil
	}
	path := filepath.Join(s.cfg.AppDir, strconv.Itoa(app.UID)+".sock")
	if len(path) > maxSocketPath {
		return "", fmt.Errorf("mitm: socket path %s is longer than a Unix socket allows (%d bytes): use a shorter --app-dir", path, maxSocketPath)
	}
	// A socket left by a proxy that was killed would refuse the bind.
	if fi, err := os.Lstat(path); err == nil && fi.Mode().Type() == fs.ModeSocket {
		os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return "", fmt.Errorf("mitm: listener for %s: %w", app.String(), err)
	}
	// The adb server that connects to it need not run as the proxy's user
	// (root in its container).
	if err := os.Chmod(path, 0o666); err != nil {
		ln.Close()
		return "", fmt.Errorf("mitm: listener for %s: %w", app.String(), err)
	}
	s.apps[app.UID] = path
	go s.ServeApp(ln, app)
	return path, nil
}
