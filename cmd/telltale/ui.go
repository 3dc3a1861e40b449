package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"telltale.dev/devices/adb"
	"telltale.dev/harness/ui"
)

func init() {
	register(command{
		name:    "ui",
		summary: "inspect and drive a phone's screen: ui dump|find|tap|screenshot (for writing UI flows)",
		run: func(ctx context.Context, args []string) int {
			return runUI(ctx, args, os.Stdout, os.Stderr)
		},
	})
}

const uiUsage = `usage:
  telltale ui dump       [--adb A] [--device S] [-o FILE]
  telltale ui find       [--dump FILE | --adb A --device S] SELECTOR...
  telltale ui tap        [--adb A] [--device S] [--wait 10s] SELECTOR...
  telltale ui screenshot [--adb A] [--device S] -o FILE

Tools for writing a phone's UI flows. dump prints the screen's view
hierarchy (uiautomator dump) as XML; find prints one JSON object per node a
selector matches, in document order; tap waits for the first visible match
and taps the centre of its visible part; screenshot saves the screen as PNG.

A SELECTOR is key=value or key~=regex terms joined by commas, all of which
must hold: text=Settings,class=android.widget.TextView. key=value equals
the whole attribute (case-sensitive); key~=regex matches anywhere in it (Go
regexp syntax; anchor with ^ and $). id matches the full resource id or the
part after ":id/". Keys: text, id, desc, class, package, hint, and the
attributes of the dump (checked, enabled, clickable, selected, NAF ...).
A value in double quotes may hold commas ("" is a quote). Several
SELECTORs are alternatives tried in order.

The phone is --device (a serial from 'telltale devices'), or the only
online device on the adb servers of --adb (default $TELLTALE_ADB or
127.0.0.1:5037).

Exit status: 0 on success, 1 when nothing matches or the phone fails,
2 on a usage error.
`

// uiCallTimeout bounds each subcommand as a whole; a driver call has its own.
const uiCallTimeout = 2 * time.Minute

func runUI(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, uiUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("ui "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, uiUsage) }
	servers := fs.String("adb", defaultServers(), "comma-separated adb servers, host:port")
	serial := fs.String("device", "", "the phone's serial (default: the only online device)")
	var out, dumpFile *string
	var wait *time.Duration
	switch sub {
	case "dump", "screenshot":
		out = fs.String("o", "", "write to this file ('-' or none: stdout)")
	case "find":
		dumpFile = fs.String("dump", "", "read a saved dump instead of the phone's screen")
	case "tap":
		wait = fs.Duration("wait", 10*time.Second, "how long to wait for a visible match")
	default:
		fmt.Fprintf(stderr, "telltale ui: unknown subcommand %q\n\n%s", sub, uiUsage)
		return 2
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return usageExit(err)
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "telltale ui %s: %s\n", sub, fmt.Sprintf(format, a...))
		return 1
	}
	var sels []ui.Selector
	switch sub {
	case "find", "tap":
		if len(pos) == 0 {
			fmt.Fprintf(stderr, "telltale ui %s: give a SELECTOR, e.g. text=Settings\n", sub)
			return 2
		}
		for _, p := range pos {
			s, err := ui.ParseSelector(p)
			if err != nil {
				fmt.Fprintf(stderr, "telltale ui %s: %v\n", sub, err)
				return 2
			}
			sels = append(sels, s)
		}
	default:
		if len(pos) > 0 {
			fmt.Fprintf(stderr, "telltale ui %s: unexpected argument %q\n", sub, pos[0])
			return 2
		}
	}
	if sub == "screenshot" && *out == "" {
		fmt.Fprintln(stderr, "telltale ui screenshot: say where the PNG goes with -o FILE (or -o - for stdout)")
		return 2
	}

	ctx, cancel := context.WithTimeout(ctx, uiCallTimeout)
	defer cancel()
	if sub == "find" && *dumpFile != "" {
		data, err := os.ReadFile(*dumpFile)
		if err != nil {
			return fail("%v", err)
		}
		sc, err := ui.Parse(data)
		if err != nil {
			return fail("%s: %v", *dumpFile, err)
		}
		return printMatches(stdout, stderr, sc, sels)
	}
	dev, err := findDevice(ctx, *servers, *serial)
	if err != nil {
		return fail("%v", err)
	}
	drv := ui.New(dev, ui.Options{Wait: derefDuration(wait)})
	switch sub {
	case "dump":
		sc, err := drv.Dump(ctx)
		if err != nil {
			return fail("%v", err)
		}
		if err := writeOut(*out, stdout, sc.XML); err != nil {
			return fail("%v", err)
		}
		fmt.Fprintf(stderr, "telltale ui dump: %s: %s\n", dev.Serial(), sc.Summary(0))
	case "find":
		sc, err := drv.Dump(ctx)
		if err != nil {
			return fail("%v", err)
		}
		return printMatches(stdout, stderr, sc, sels)
	case "tap":
		n, err := drv.Tap(ctx, sels...)
		if err != nil {
			return fail("%v", err)
		}
		// The node as it was when tapped; its screen is gone now.
		json.NewEncoder(stdout).Encode(nodeJSON(nil, n))
	case "screenshot":
		img, err := drv.Screenshot(ctx)
		if err != nil {
			return fail("%v", err)
		}
		if err := writeOut(*out, stdout, img); err != nil {
			return fail("%v", err)
		}
	}
	return 0
}

func derefDuration(d *time.Duration) time.Duration {
	if d == nil {
		return 0
	}
	return *d
}

// foundNode is how `telltale ui find` prints a node.
type foundNode struct {
	Text    string `json:"text"`
	ID      string `json:"id"`
	Desc    string `json:"desc"`
	Class   string `json:"class"`
	Bounds  []int  `json:"bounds"` // [x1,y1,x2,y2] as the dump wrote them; null when unreadable
	Center  []int  `json:"center"` // [x,y], the middle of Bounds
	Visible *bool  `json:"visible,omitempty"`
}

// nodeJSON describes n; with its screen it also says whether n is on it.
func nodeJSON(sc *ui.Screen, n *ui.Node) foundNode {
	f := foundNode{Text: n.Text(), ID: n.ID(), Desc: n.Desc(), Class: n.Class()}
	if n.BoundsOK {
		b, c := n.Bounds, n.Bounds.Center()
		f.Bounds, f.Center = []int{b.X1, b.Y1, b.X2, b.Y2}, []int{c.X, c.Y}
	}
	if sc != nil {
		v := sc.Visible(n)
		f.Visible = &v
	}
	return f
}

// printMatches prints the matches of the first selector that has any.
func printMatches(stdout, stderr io.Writer, sc *ui.Screen, sels []ui.Selector) int {
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	for _, sel := range sels {
		nodes := sc.FindAll(sel)
		if len(nodes) == 0 {
			continue
		}
		for _, n := range nodes {
			if err := enc.Encode(nodeJSON(sc, n)); err != nil {
				fmt.Fprintf(stderr, "telltale ui find: %v\n", err)
				return 1
			}
		}
		return 0
	}
	fmt.Fprintf(stderr, "telltale ui find: nothing matches; the screen has %s\n", sc.Summary(20))
	return 1
}

func writeOut(path string, stdout io.Writer, data []byte) error {
	if path == "" || path == "-" {
		_, err := stdout.Write(data)
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// findDevice picks the phone: the serial on whichever server knows it, or
// the only online device of them all.
func findDevice(ctx context.Context, servers, serial string) (*adb.Device, error) {
	var online []*adb.Device
	var errs []error
	for _, s := range strings.Split(servers, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		srv, err := adb.ParseServer(s)
		if err != nil {
			return nil, fmt.Errorf("--adb: %w", err)
		}
		c := adb.New(srv)
		lctx, cancel := context.WithTimeout(ctx, serverTimeout)
		list, err := c.ListDevices(lctx)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("adb server %s: %w", c.Addr(), err))
			continue
		}
		for _, info := range list {
			switch {
			case serial != "" && info.Serial == serial && info.State != adb.StateDevice:
				return nil, fmt.Errorf("%s is %s on %s, not ready: %s", serial, info.State, c.Addr(), stateHint(info.State))
			case serial != "" && info.Serial == serial:
				return c.Device(serial), nil
			case serial == "" && info.State == adb.StateDevice:
				online = append(online, c.Device(info.Serial))
			}
		}
	}
	switch {
	case serial != "":
		return nil, errors.Join(append([]error{fmt.Errorf("no device %q on %s: see 'telltale devices'", serial, servers)}, errs...)...)
	case len(online) == 1:
		return online[0], nil
	case len(online) == 0:
		return nil, errors.Join(append([]error{fmt.Errorf("no online device on %s: plug in a phone with USB debugging on, or start a simulated one", servers)}, errs...)...)
	}
	names := make([]string, len(online))
	for i, d := range online {
		names[i] = d.Serial()
	}
	return nil, fmt.Errorf("%d devices online (%s): pick one with --device", len(online), strings.Join(names, ", "))
}

func stateHint(state string) string {
	switch state {
	case "unauthorized":
		return "accept the USB debugging prompt on the phone"
	case "offline":
		return "reconnect it and wait for state \"device\""
	}
	return "wait until 'telltale devices' shows it as device"
}
