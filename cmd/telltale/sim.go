package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"telltale.dev/devices/adb"
	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim"
	"telltale.dev/devices/sim/rig"
	"telltale.dev/devices/sim/sdk/device"
)

func init() {
	register(command{
		name:    "sim",
		summary: "run simulated phones that adb connects to like emulators",
		run: func(ctx context.Context, args []string) int {
			return runSim(ctx, args, os.Stdout, os.Stderr)
		},
	})
}

// simStopTimeout bounds stopping the phones after Ctrl-C.
const simStopTimeout = 10 * time.Second

// simOptions is a parsed `telltale sim` command line.
type simOptions struct {
	model, firmware, listen, truth, adb string
	count                               int
	listModels, listFirmware            bool
	allowEmu, noNoise, verbose          bool
	telemetryTiming                     string
	kind, suPolicy                      string
	stock                               bool
}

func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseSim(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		return 2
	}
	all, err := profiles.Load()
	if err != nil {
		fmt.Fprintf(stderr, "telltale sim: %v\n", err)
		return 1
	}
	switch {
	case o.listModels:
		return listSimModels(all, stdout)
	case o.listFirmware:
		return listSimFirmware(all, o.model, stdout, stderr)
	}
	host, port, err := o.ports()
	if err != nil {
		fmt.Fprintf(stderr, "telltale sim: %v\n", err)
		return 2
	}
	return servePhones(ctx, o, host, port, stdout, stderr)
}

func parseSim(args []string, stderr io.Writer) (simOptions, error) {
	var o simOptions
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.model, "model", "redmi-note-8", "profile name of the phone to simulate (see --list-models)")
	fs.StringVar(&o.firmware, "firmware", "", "firmware version, full or short (\"V12.0.2.0\"); default the model's oldest")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:0", "address of the first phone's adbd; more phones take the next ports (port 0: any free ports)")
	fs.IntVar(&o.count, "count", 1, "how many phones to start")
	fs.StringVar(&o.truth, "truth", "", "append the ground-truth log (JSON lines, one per change of a telemetry event's state) to this file")
	fs.StringVar(&o.adb, "adb", "", "also connect the phones to this adb server (host:port)")
	fs.BoolVar(&o.listModels, "list-models", false, "list the models that can be simulated and exit")
	fs.BoolVar(&o.listFirmware, "list-firmware", false, "list the firmware versions of --model (or of every model with --model all) and exit")
	fs.BoolVar(&o.allowEmu, "allow-emulator-ports", false, "allow ports 5555-5585, which the adb server claims as emulators")
	fs.BoolVar(&o.noNoise, "no-noise", false, "turn off background telemetry (config fetches, heartbeats)")
	fs.BoolVar(&o.verbose, "v", false, "log transport and telemetry diagnostics to stderr")
	fs.StringVar(&o.telemetryTiming, "telemetry-timing", string(device.Realistic), "how the apps' SDKs pace uploads: realistic (as the real SDKs: Sensors Analytics 15 s, OneTrack by priority) or immediate (each event at once, no retries: for unit tests only)")
	fs.StringVar(&o.kind, "kind", "", "kind of phone: research (rooted with Magisk, both MIUI developer toggles on), stock (retail out of the box: no su, toggles off) or emulator (userdebug: adb root); default emulator for userdebug models, research otherwise")
	fs.BoolVar(&o.stock, "stock", false, "short for --kind stock")
	fs.StringVar(&o.suPolicy, "su-policy", "", "what Magisk answers the shell's su with on a research phone: granted (default), prompt (Magisk's prompt on the screen, denied after 10 s) or deny")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: telltale sim [--model NAME] [--firmware VERSION] [--kind research|stock|emulator] [--stock] [--su-policy granted|prompt|deny]\n                    [--listen 127.0.0.1:PORT] [--count N] [--truth FILE] [--adb host:port] [--list-models] [--list-firmware]\n                    [--telemetry-timing realistic|immediate]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if _, err := device.ParseTiming(o.telemetryTiming); err != nil {
		fmt.Fprintf(stderr, "telltale sim: --telemetry-timing: %v\n", err)
		return o, errUsage
	}
	if err := o.checkKind(); err != nil {
		fmt.Fprintf(stderr, "telltale sim: %v\n", err)
		return o, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "telltale sim: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return o, errUsage
	}
	return o, nil
}

// ports checks --count and --listen: the phones take consecutive ports,
// none of them where the adb server looks for emulators unless allowed.
func (o simOptions) ports() (host string, port int, err error) {
	if o.count < 1 || o.count > 64 {
		return "", 0, fmt.Errorf("--count %d: want 1-64 phones", o.count)
	}
	host, p, err := net.SplitHostPort(o.listen)
	if err != nil {
		return "", 0, fmt.Errorf("--listen %q: %w (want HOST:PORT, e.g. 127.0.0.1:7100)", o.listen, err)
	}
	port, err = strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("--listen %q: port is not a number in 0-65535", o.listen)
	}
	if port != 0 && !o.allowEmu && port+o.count-1 >= 5555 && port <= 5585 {
		return "", 0, fmt.Errorf("ports %d-%d overlap 5555-5585, which the adb server claims as emulators: pick another --listen port or pass --allow-emulator-ports", port, port+o.count-1)
	}
	return host, port, nil
}

// servePhones starts the phones, prints their serials and keeps them up
// until ctx ends (Ctrl-C).
func servePhones(ctx context.Context, o simOptions, host string, port int, stdout, stderr io.Writer) int {
	cfg := sim.Config{Model: o.model, Firmware: o.firmware, AllowEmulatorPorts: o.allowEmu, NoNoise: o.noNoise,
		Logger: slog.New(slog.DiscardHandler), TelemetryTiming: o.telemetryTiming, Kind: sim.Kind(o.kind), SuPolicy: sim.SuPolicy(o.suPolicy)}
	if o.verbose {
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if o.truth != "" {
		f, err := os.OpenFile(o.truth, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintf(stderr, "telltale sim: ground-truth log: %v\n", err)
			return 1
		}
		defer f.Close()
		// Each record is one Write of a whole line, and os.File serialises
		// concurrent Writes (O_APPEND keeps other processes' lines whole too),
		// so the phones can share the file as it is.
		cfg.Truth = f
	}
	var phones []*sim.Phone
	start, stop := sim.Start, func() {
		for _, p := range phones {
			p.Close()
		}
	}
	if o.adb != "" {
		srv, err := adb.ParseServer(o.adb)
		if err != nil {
			fmt.Fprintf(stderr, "telltale sim: --adb: %v\n", err)
			return 2
		}
		r := rig.On(adb.New(srv))
		start, stop = r.Start, func() { stopRig(r, stderr) }
	}
	defer func() { stop() }()
	for i := range o.count {
		cfg.Addr = net.JoinHostPort(host, "0")
		if port != 0 {
			cfg.Addr = net.JoinHostPort(host, strconv.Itoa(port+i))
		}
		p, err := start(ctx, cfg)
		if err != nil {
			fmt.Fprintf(stderr, "telltale sim: phone %d: %v\n", i+1, err)
			if o.adb != "" {
				fmt.Fprintf(stderr, "telltale sim: is the adb server at %s running? (`adb -P PORT start-server`)\n", o.adb)
			}
			return 1
		}
		phones = append(phones, p)
	}
	for _, p := range phones {
		fmt.Fprintln(stdout, p.Serial())
	}
	fw := phones[0].Firmware()
	fmt.Fprintf(stderr, "telltale sim: %d × %s on %s (Android %s) running; Ctrl-C stops\n", len(phones), phones[0].Profile().Name, fw.Version, fw.Android)
	<-ctx.Done()
	return 0
}

func stopRig(r *rig.Rig, stderr io.Writer) {
	ctx, cancel := context.WithTimeout(context.Background(), simStopTimeout)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		fmt.Fprintf(stderr, "telltale sim: %v\n", err)
	}
}

func listSimModels(all []*profiles.Profile, stdout io.Writer) int {
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, p := range all {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d firmware\n", p.Name, p.DisplayName, strings.Join(p.Devices, ","), len(p.Firmware))
	}
	tw.Flush()
	return 0
}

func listSimFirmware(all []*profiles.Profile, model string, stdout, stderr io.Writer) int {
	var ps []*profiles.Profile
	if model == "all" {
		ps = all
	} else if p := profiles.ByName(all, model); p != nil {
		ps = []*profiles.Profile{p}
	} else {
		fmt.Fprintf(stderr, "telltale sim: no model %q (known: %s)\n", model, strings.Join(profiles.Names(all), ", "))
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, p := range ps {
		for _, fw := range p.Firmware {
			fmt.Fprintf(tw, "%s\t%s\t%s\tAndroid %s (sdk %d)\n", p.Name, fw.Version, fw.Short(), fw.Android, fw.SDK)
		}
	}
	tw.Flush()
	return 0
}
