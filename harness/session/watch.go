package session

import (
	"fmt"

	"telltale.dev/devices/adb"
)

// watch ends the session's context with ErrDeviceLost as soon as the adb
// server reports the device offline or gone, or the server itself stops
// answering. WatchDevices also re-lists the devices, so a TCP device that
// adb 29 marks offline without telling its trackers is reported too. A
// listing may arrive late (after an adbd restart that already ended), so a
// device reported gone is asked for its state before it counts as lost.
func (s *Session) watch() {
	l := s.lease
	events, err := s.client.WatchDevices(s.ctx)
	if err != nil {
		if s.ctx.Err() == nil {
			s.cancel(fmt.Errorf("%w: %s on %s (%v)", ErrDeviceLost, l.Serial, l.Server, err))
		}
		return
	}
	for ev := range events {
		if ev.Serial != l.Serial || ev.NewState == adb.StateDevice || s.restarting.Load() {
			continue
		}
		if s.checkGone(s.ctx) {
			return
		}
	}
	if s.ctx.Err() == nil {
		s.cancel(fmt.Errorf("%w: %s on %s (the adb server stopped answering device tracking)", ErrDeviceLost, l.Serial, l.Server))
	}
}
