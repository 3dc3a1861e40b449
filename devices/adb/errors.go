package adb

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; every error this package returns that matches one wraps
// it, so errors.Is works on a *ServerError too.
var (
	ErrServerUnavailable = errors.New("adb server unavailable: install adb (`apt-get install adb`) and run `adb start-server`, or give the address of a running one")
	ErrDeviceNotFound    = errors.New("device not found: check `adb devices` and the serial")
	ErrDeviceOffline     = errors.New("device offline: reconnect it (`adb reconnect` or disconnect/connect) and wait for state \"device\"")
	ErrUnauthorized      = errors.New("device unauthorized: accept the USB debugging prompt on the phone")
	ErrRootNotAllowed    = errors.New("adbd cannot run as root on this build (production firmware): use a userdebug or emulator image")
)

// ServerError is a FAIL reply from the adb server or a device service. Msg is
// the server's text, verbatim.
type ServerError struct {
	Request string
	Msg     string
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("adb %s: %s", e.Request, e.Msg)
}

// Unwrap gives the sentinel the server's message corresponds to, if any.
func (e *ServerError) Unwrap() error {
	m := strings.ToLower(e.Msg)
	switch {
	case strings.HasPrefix(m, "device ") && strings.HasSuffix(m, " not found"), strings.Contains(m, "no devices"), strings.Contains(m, "no emulators"):
		return ErrDeviceNotFound
	case strings.Contains(m, "unauthorized"):
		return ErrUnauthorized
	case strings.Contains(m, "offline"), strings.Contains(m, "still connecting"), strings.Contains(m, "still authorizing"):
		return ErrDeviceOffline
	}
	return nil
}

// ExitError is a shell command that ran and exited non-zero.
type ExitError struct {
	Cmd    string
	Code   int
	Stderr []byte
}

func (e *ExitError) Error() string {
	msg := strings.TrimSpace(string(e.Stderr))
	if msg == "" {
		return fmt.Sprintf("device command %q exited with status %d", e.Cmd, e.Code)
	}
	return fmt.Sprintf("device command %q exited with status %d: %s", e.Cmd, e.Code, msg)
}

// InstallError is a package manager failure ("Failure [INSTALL_FAILED_...]").
type InstallError struct {
	Code    string // "INSTALL_FAILED_VERSION_DOWNGRADE"; empty when pm gave none
	Message string // the rest of pm's output
}

func (e *InstallError) Error() string {
	switch {
	case e.Code == "":
		return "package manager: " + e.Message
	case e.Message == "":
		return "package manager: " + e.Code
	}
	return fmt.Sprintf("package manager: %s: %s", e.Code, e.Message)
}
