package adb

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Device states as the server reports them.
const (
	StateDevice       = "device"
	StateOffline      = "offline"
	StateUnauthorized = "unauthorized"
	StateRecovery     = "recovery"
	StateBootloader   = "bootloader"
)

// DeviceInfo is one line of `adb devices -l`.
type DeviceInfo struct {
	Serial      string
	State       string // "device", "offline", "unauthorized", ...
	Product     string // ro.product.name
	Model       string // ro.product.model with spaces as underscores
	DeviceName  string // ro.product.device
	USB         string // USB path, empty for TCP devices
	TransportID int
}

// DeviceEvent is a change seen by WatchDevices. OldState is empty for a
// device that appeared; NewState is empty for one that went away.
type DeviceEvent struct {
	Serial, OldState, NewState string
	Info                       DeviceInfo // the device as now listed; the last listing when it went away
}

// ListDevices lists every device the server knows (`adb devices -l`).
func (c *Client) ListDevices(ctx context.Context) ([]DeviceInfo, error) {
	s, err := c.queryString(ctx, "host:devices-l")
	if err != nil {
		return nil, err
	}
	return parseDevices(s), nil
}

// watchResync is how often WatchDevices re-lists the devices besides
// following the server's tracker. adb 29 marks a TCP device whose socket
// closed "offline" (while it keeps retrying the connection) without writing
// a new listing to its trackers, so the tracker alone never reports it.
const watchResync = time.Second

// WatchDevices reports device changes as the server sees them
// (host:track-devices-l, re-checked with host:devices-l every second for the
// changes the tracker does not announce); the first events describe every
// device present. The channel closes when ctx ends or the server goes away.
func (c *Client) WatchDevices(ctx context.Context) (<-chan DeviceEvent, error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	if err := conn.request("host:track-devices-l"); err != nil {
		conn.Close()
		return nil, err
	}
	done := make(chan struct{})
	listings := make(chan string)
	go func() {
		defer close(listings)
		for {
			s, err := conn.readString()
			if err != nil {
				return
			}
			select {
			case listings <- s:
			case <-done:
				return
			}
		}
	}()
	ch := make(chan DeviceEvent)
	go func() {
		defer close(ch)
		defer conn.Close()
		defer close(done)
		tick := time.NewTicker(watchResync)
		defer tick.Stop()
		last := map[string]DeviceInfo{}
		emit := func(list []DeviceInfo) bool {
			now := map[string]DeviceInfo{}
			for _, d := range list {
				now[d.Serial] = d
			}
			for _, ev := range diffDevices(last, now) {
				select {
				case ch <- ev:
				case <-ctx.Done():
					return false
				}
			}
			last = now
			return true
		}
		for {
			var list []DeviceInfo
			select {
			case <-ctx.Done():
				return
			case s, ok := <-listings:
				if !ok {
					return
				}
				list = parseDevices(s)
			case <-tick.C:
				pctx, cancel := context.WithTimeout(ctx, 5*watchResync)
				polled, err := c.ListDevices(pctx)
				cancel()
				if errors.Is(err, ErrServerUnavailable) {
					return
				}
				if err != nil {
					continue // a slow or failed re-list: the next tick tries again
				}
				list = polled
				// A tracker listing that came in meanwhile may be the newer
				// one; taking it instead keeps a state from flapping back.
				select {
				case s, ok := <-listings:
					if !ok {
						return
					}
					list = parseDevices(s)
				default:
				}
			}
			if !emit(list) {
				return
			}
		}
	}()
	return ch, nil
}

// diffDevices gives the events that turn listing old into listing now, in
// the order of now and then the removed ones, sorted by serial for stable output.
func diffDevices(old, now map[string]DeviceInfo) []DeviceEvent {
	var evs []DeviceEvent
	for _, serial := range slices.Sorted(maps.Keys(now)) {
		n := now[serial]
		o, had := old[serial]
		if had && o.State == n.State {
			continue
		}
		evs = append(evs, DeviceEvent{Serial: serial, OldState: o.State, NewState: n.State, Info: n})
	}
	for _, serial := range slices.Sorted(maps.Keys(old)) {
		if _, ok := now[serial]; !ok {
			o := old[serial]
			evs = append(evs, DeviceEvent{Serial: serial, OldState: o.State, Info: o})
		}
	}
	return evs
}

// parseDevices reads `adb devices -l` output. The state may contain spaces
// ("no permissions (user ...)"), so it runs up to the first key:value field.
func parseDevices(s string) []DeviceInfo {
	var out []DeviceInfo
	for line := range strings.Lines(s) {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		d := DeviceInfo{Serial: f[0]}
		i := 1
		var state []string
		for ; i < len(f) && !isDeviceField(f[i]); i++ {
			state = append(state, f[i])
		}
		if len(state) == 0 {
			continue // no state: not a device line
		}
		d.State = strings.Join(state, " ")
		for ; i < len(f); i++ {
			k, v, _ := strings.Cut(f[i], ":")
			switch k {
			case "product":
				d.Product = v
			case "model":
				d.Model = v
			case "device":
				d.DeviceName = v
			case "usb":
				d.USB = v
			case "transport_id":
				d.TransportID, _ = strconv.Atoi(v)
			}
		}
		out = append(out, d)
	}
	return out
}

func isDeviceField(f string) bool {
	k, _, ok := strings.Cut(f, ":")
	if !ok {
		return false
	}
	switch k {
	case "product", "model", "device", "usb", "transport_id", "features":
		return true
	}
	return false
}
