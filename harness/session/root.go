package session

import (
	"context"
	"fmt"
	"strings"
	"time"

	"telltale.dev/devices/adb"
)

// restartTimeout bounds the wait for adbd to drop its old transport after
// `adb root`; adbd that never drops it did not restart.
const restartTimeout = 10 * time.Second

// becomeRoot restarts adbd as root and waits until the device is back with
// uid 0, the way `adb root` itself does (adb's commandline.cpp adb_root):
// first wait for the old transport to go, only then for the device. adbd
// drops every connection a moment after it answers "restarting adbd as
// root", so a reconnect made in that moment is dropped with them and the
// device never comes back on the server.
func (s *Session) becomeRoot(ctx context.Context) error {
	if out, err := s.Shell(ctx, "id -u"); err == nil && strings.TrimSpace(out) == "0" {
		return nil
	}
	cctx, cancel := s.bind(ctx, 0)
	defer cancel()
	// The transport drops and comes back, which the watcher must not take
	// for a lost device.
	s.restarting.Store(true)
	defer s.restarting.Store(false)
	before, _, err := s.transport(cctx)
	if err != nil {
		return s.wrap(ctx, "adb root", err)
	}
	if err := s.dev.Root(cctx); err != nil {
		return s.wrap(ctx, "adb root", err)
	}
	now, err := s.awaitTransportGone(cctx, before)
	if err != nil {
		return fmt.Errorf("adb root on %s: %w", s.lease.Serial, err)
	}
	for {
		if now.State != adb.StateDevice && isTCP(s.lease.Serial) {
			// A TCP device (emulator, simulated phone) is retried by adb 29
			// only after ~10 s; connecting again is at once. A failure here
			// (adbd not listening yet) is retried by the loop.
			_ = s.client.Disconnect(cctx, s.lease.Serial)
			_ = s.client.Connect(cctx, s.lease.Serial)
		}
		wctx, wcancel := context.WithTimeout(cctx, 2*time.Second)
		if err := s.dev.WaitForDevice(wctx); err == nil {
			if out, err := s.dev.RunCommand(wctx, "id -u"); err == nil && strings.TrimSpace(out) == "0" {
				wcancel()
				return nil
			}
		}
		wcancel()
		if err := s.Wait(cctx, 200*time.Millisecond); err != nil {
			return fmt.Errorf("adb root on %s: adbd did not come back as root: %w", s.lease.Serial, err)
		}
		if now, _, err = s.transport(cctx); err != nil {
			return s.wrap(ctx, "adb root", err)
		}
	}
}

// transport is the device as the adb server lists it now; listed is false
// when the server does not list it at all.
func (s *Session) transport(ctx context.Context) (adb.DeviceInfo, bool, error) {
	list, err := s.client.ListDevices(ctx)
	if err != nil {
		return adb.DeviceInfo{}, false, err
	}
	for _, d := range list {
		if d.Serial == s.lease.Serial {
			return d, true, nil
		}
	}
	return adb.DeviceInfo{Serial: s.lease.Serial}, false, nil
}

// awaitTransportGone waits until the transport before is no longer the
// device's online one: it went away, went offline, or was replaced. It
// returns the listing then (before itself when adbd never dropped it).
func (s *Session) awaitTransportGone(ctx context.Context, before adb.DeviceInfo) (adb.DeviceInfo, error) {
	deadline := time.Now().Add(restartTimeout)
	for {
		now, _, err := s.transport(ctx)
		if err != nil {
			return now, err
		}
		if now.State != adb.StateDevice || now.TransportID != before.TransportID || time.Now().After(deadline) {
			return now, nil
		}
		if err := s.Wait(ctx, 50*time.Millisecond); err != nil {
			return now, fmt.Errorf("waiting for adbd to restart: %w", err)
		}
	}
}

// isTCP says whether a serial names a TCP device ("host:port").
func isTCP(serial string) bool {
	_, _, err := splitPort(serial)
	return err == nil
}
