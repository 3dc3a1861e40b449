package adb

import (
	"context"
	"strings"
)

// ForwardRule is one forward or reverse rule. For a reverse rule Local is the
// socket on the device and Remote the one on the host; for a forward rule it
// is the other way round, as in `adb reverse --list` and `adb forward --list`.
type ForwardRule struct {
	Serial, Local, Remote string
}

// Reverse makes connections to local on the device ("tcp:8080") reach remote
// on the host ("tcp:38123"), like `adb reverse local remote`.
func (d *Device) Reverse(ctx context.Context, local, remote string) error {
	return d.reverseCommand(ctx, "reverse:forward:"+local+";"+remote)
}

// ReverseList lists the device's reverse rules.
func (d *Device) ReverseList(ctx context.Context) ([]ForwardRule, error) {
	conn, err := d.open(ctx, "reverse:list-forward")
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	s, err := conn.readString()
	if err != nil {
		return nil, err
	}
	return parseForwards(s), nil
}

// ReverseRemove removes the reverse rule for local.
func (d *Device) ReverseRemove(ctx context.Context, local string) error {
	return d.reverseCommand(ctx, "reverse:killforward:"+local)
}

// ReverseRemoveAll removes every reverse rule of the device.
func (d *Device) ReverseRemoveAll(ctx context.Context) error {
	return d.reverseCommand(ctx, "reverse:killforward-all")
}

// reverseCommand runs a reverse service: the server's OKAY says the stream
// opened, the device's own OKAY or FAIL follows inside it.
func (d *Device) reverseCommand(ctx context.Context, service string) error {
	conn, err := d.open(ctx, service)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.readStatus()
}

// Forward makes connections to local on the host ("tcp:6100") reach remote
// on the device, like `adb forward local remote`.
func (d *Device) Forward(ctx context.Context, local, remote string) error {
	return d.forwardCommand(ctx, "forward:"+local+";"+remote)
}

// ForwardList lists this device's forward rules.
func (d *Device) ForwardList(ctx context.Context) ([]ForwardRule, error) {
	s, err := d.c.queryString(ctx, "host:list-forward")
	if err != nil {
		return nil, err
	}
	var mine []ForwardRule
	for _, r := range parseForwards(s) {
		if r.Serial == d.serial {
			mine = append(mine, r)
		}
	}
	return mine, nil
}

// ForwardRemove removes the forward rule for local.
func (d *Device) ForwardRemove(ctx context.Context, local string) error {
	return d.forwardCommand(ctx, "killforward:"+local)
}

// ForwardRemoveAll removes this device's forward rules, and only those: the
// server's killforward-all would drop every device's.
func (d *Device) ForwardRemoveAll(ctx context.Context) error {
	rules, err := d.ForwardList(ctx)
	if err != nil {
		return err
	}
	for _, r := range rules {
		if err := d.ForwardRemove(ctx, r.Local); err != nil {
			return err
		}
	}
	return nil
}

// forwardCommand runs a host-serial forward request, answered by two
// statuses: the request was understood, then the result.
func (d *Device) forwardCommand(ctx context.Context, req string) error {
	conn, err := d.c.dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.request("host-serial:" + d.serial + ":" + req); err != nil {
		return err
	}
	return conn.readStatus()
}

// parseForwards reads "serial local remote" lines.
func parseForwards(s string) []ForwardRule {
	var out []ForwardRule
	for line := range strings.Lines(s) {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		out = append(out, ForwardRule{Serial: f[0], Local: f[1], Remote: f[2]})
	}
	return out
}
