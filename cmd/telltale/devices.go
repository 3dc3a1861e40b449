package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"telltale.dev/devices/adb"
	"telltale.dev/devices/profiles"
)

func init() {
	register(command{
		name:    "devices",
		summary: "list the devices on every adb server and the profile each matches",
		run: func(ctx context.Context, args []string) int {
			return runDevices(ctx, args, os.Stdout, os.Stderr)
		},
	})
}

// How long one server, and one device's getprop, may take before it is
// reported as unresponsive rather than holding up the whole listing.
const (
	serverTimeout = 10 * time.Second
	propTimeout   = 5 * time.Second
)

const noProfile = "no profile: add one in $" + profiles.EnvDir

// deviceRow is one device as `telltale devices` reports it.
type deviceRow struct {
	Serial   string `json:"serial"`
	State    string `json:"state"`
	Model    string `json:"model"`
	Device   string `json:"device,omitempty"` // ro.product.device
	Profile  string `json:"profile,omitempty"`
	Firmware string `json:"firmware,omitempty"` // the profile's firmware, when known to it
	Android  string `json:"android,omitempty"`
	MIUI     string `json:"miui,omitempty"` // ro.build.version.incremental on MIUI builds
	Error    string `json:"error,omitempty"`
}

type serverRows struct {
	Server  string      `json:"server"`
	Error   string      `json:"error,omitempty"`
	Devices []deviceRow `json:"devices"`
}

// defaultServers is $TELLTALE_ADB, else the adb default (which honours
// $ANDROID_ADB_SERVER_PORT).
func defaultServers() string {
	if s := os.Getenv("TELLTALE_ADB"); s != "" {
		return s
	}
	return adb.New(adb.Server{}).Addr()
}

func runDevices(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("devices", flag.ContinueOnError)
	fs.SetOutput(stderr)
	servers := fs.String("adb", defaultServers(), "comma-separated adb servers, host:port (default $TELLTALE_ADB or 127.0.0.1:5037)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: telltale devices [--adb host:port,...] [--json]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "telltale devices: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	var addrs []adb.Server
	for _, s := range strings.Split(*servers, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		srv, err := adb.ParseServer(s)
		if err != nil {
			fmt.Fprintf(stderr, "telltale devices: --adb: %v\n", err)
			return 2
		}
		addrs = append(addrs, srv)
	}
	if len(addrs) == 0 {
		fmt.Fprintln(stderr, "telltale devices: --adb names no server")
		return 2
	}
	profs, err := profiles.Load()
	if err != nil {
		fmt.Fprintf(stderr, "telltale devices: loading profiles: %v\n", err)
		return 1
	}

	var all []serverRows
	failed := false
	for _, s := range addrs {
		rows := listServer(ctx, adb.New(s), profs)
		if rows.Error != "" {
			failed = true
			fmt.Fprintf(stderr, "telltale devices: adb server %s: %s\n", rows.Server, rows.Error)
		}
		all = append(all, rows)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(all); err != nil {
			fmt.Fprintf(stderr, "telltale devices: %v\n", err)
			return 1
		}
	} else {
		printTable(stdout, all, len(addrs) > 1)
	}
	if failed {
		return 1
	}
	return 0
}

func listServer(ctx context.Context, c *adb.Client, profs []*profiles.Profile) serverRows {
	out := serverRows{Server: c.Addr(), Devices: []deviceRow{}}
	ctx, cancel := context.WithTimeout(ctx, serverTimeout)
	defer cancel()
	list, err := c.ListDevices(ctx)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	for _, info := range list {
		out.Devices = append(out.Devices, describe(ctx, c.Device(info.Serial), info, profs))
	}
	return out
}

// describe reads an online device's build properties and matches them to a
// profile; a device in any other state shows what the server knows.
func describe(ctx context.Context, d *adb.Device, info adb.DeviceInfo, profs []*profiles.Profile) deviceRow {
	row := deviceRow{Serial: info.Serial, State: info.State, Model: strings.ReplaceAll(info.Model, "_", " "), Device: info.DeviceName}
	if info.State != adb.StateDevice {
		return row
	}
	ctx, cancel := context.WithTimeout(ctx, propTimeout)
	defer cancel()
	props, err := d.Properties(ctx)
	if err != nil {
		row.Error = "reading build properties: " + err.Error()
		return row
	}
	if m := props["ro.product.model"]; m != "" {
		row.Model = m
	}
	if dev := props["ro.product.device"]; dev != "" {
		row.Device = dev
	}
	row.Android = props["ro.build.version.release"]
	if props["ro.miui.ui.version.name"] != "" {
		row.MIUI = props["ro.build.version.incremental"]
	}
	p := profiles.Match(profs, row.Device)
	if p == nil {
		row.Profile = noProfile
		return row
	}
	row.Profile = p.Name
	if fw, err := p.FindFirmware(props["ro.build.version.incremental"]); err == nil {
		row.Firmware = fw.Version
	}
	return row
}

func printTable(w io.Writer, all []serverRows, withServer bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := "SERIAL\tSTATE\tMODEL\tPROFILE\tANDROID\tMIUI"
	if withServer {
		head = "SERVER\t" + head
	}
	fmt.Fprintln(tw, head)
	n := 0
	for _, s := range all {
		for _, d := range s.Devices {
			n++
			line := strings.Join([]string{d.Serial, d.State, dash(d.Model), dash(d.Profile), dash(d.Android), dash(d.MIUI)}, "\t")
			if d.Error != "" {
				line += "\t(" + d.Error + ")"
			}
			if withServer {
				line = s.Server + "\t" + line
			}
			fmt.Fprintln(tw, line)
		}
	}
	tw.Flush()
	if n == 0 {
		fmt.Fprintln(w, "no devices: plug in a phone with USB debugging on, `adb connect HOST:PORT`, or start a simulated one")
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
