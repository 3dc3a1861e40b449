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

// simConnectTimeout bounds `host:connect` of one phone to an adb server.
const simConnectTimeout = 10 * time.Second

func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", "redmi-note-8", "profile name of the phone to simulate (see --list-models)")
	firmware := fs.String("firmware", "", "firmware version, full or short (\"V12.0.2.0\"); default the model's oldest")
	listen := fs.String("listen", "127.0.0.1:0", "address of the first phone's adbd; more phones take the next ports (port 0: any free ports)")
	count := fs.Int("count", 1, "how many phones to start")
	truth := fs.String("truth", "", "append the ground-truth log (JSON lines, one per telemetry event) to this file")
	adbAddr := fs.String("adb", "", "also connect the phones to this adb server (host:port)")
	listModels := fs.Bool("list-models", false, "list the models that can be simulated and exit")
	listFirmware := fs.Bool("list-firmware", false, "list the firmware versions of --model (or of every model with --model all) and exit")
	allowEmu := fs.Bool("allow-emulator-ports", false, "allow ports 5555-5585, which the adb server claims as emulators")
	noNoise := fs.Bool("no-noise", false, "turn off background telemetry (config fetches, heartbeats)")
	verbose := fs.Bool("v", false, "log transport and telemetry diagnostics to stderr")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: telltale sim [--model NAME] [--firmware VERSION] [--listen 127.0.0.1:PORT] [--count N]\n                    [--truth FILE] [--adb host:port] [--list-models] [--list-firmware]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "telltale sim: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	all, err := profiles.Load()
	if err != nil {
		fmt.Fprintf(stderr, "telltale sim: %v\n", err)
		return 1
	}
	if *listModels {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		for _, p := range all {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d firmware\n", p.Name, p.DisplayName, strings.Join(p.Devices, ","), len(p.Firmware))
		}
		tw.Flush()
		return 0
	}
	if *listFirmware {
		return listSimFirmware(all, *model, stdout, stderr)
	}
	if *count < 1 || *count > 64 {
		fmt.Fprintf(stderr, "telltale sim: --count %d: want 1-64 phones\n", *count)
		return 2
	}
	host, port, err := splitListen(*listen)
	if err != nil {
		fmt.Fprintf(stderr, "telltale sim: %v\n", err)
		return 2
	}
	if port != 0 && !*allowEmu && port+*count-1 >= 5555 && port <= 5585 {
		fmt.Fprintf(stderr, "telltale sim: ports %d-%d overlap 5555-5585, which the adb server claims as emulators: pick another --listen port or pass --allow-emulator-ports\n", port, port+*count-1)
		return 2
	}
	log := slog.New(slog.DiscardHandler)
	if *verbose {
		log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	var truthW io.Writer
	if *truth != "" {
		f, err := os.OpenFile(*truth, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintf(stderr, "telltale sim: ground-truth log: %v\n", err)
			return 1
		}
		defer f.Close()
		// Each record is one Write of a whole line, and os.File serialises
		// concurrent Writes (O_APPEND keeps other processes' lines whole too),
		// so the phones can share the file as it is.
		truthW = f
	}
	var phones []*sim.Phone
	defer func() {
		for _, p := range phones {
			p.Close()
		}
	}()
	for i := range *count {
		addr := net.JoinHostPort(host, "0")
		if port != 0 {
			addr = net.JoinHostPort(host, strconv.Itoa(port+i))
		}
		p, err := sim.Start(ctx, sim.Config{Model: *model, Firmware: *firmware, Addr: addr, AllowEmulatorPorts: *allowEmu,
			Truth: truthW, Logger: log, NoNoise: *noNoise})
		if err != nil {
			fmt.Fprintf(stderr, "telltale sim: phone %d: %v\n", i+1, err)
			return 1
		}
		phones = append(phones, p)
	}
	if *adbAddr != "" {
		srv, err := adb.ParseServer(*adbAddr)
		if err != nil {
			fmt.Fprintf(stderr, "telltale sim: --adb: %v\n", err)
			return 2
		}
		c := adb.New(srv)
		for _, p := range phones {
			cctx, cancel := context.WithTimeout(ctx, simConnectTimeout)
			err := c.Connect(cctx, p.Serial())
			cancel()
			if err != nil {
				fmt.Fprintf(stderr, "telltale sim: connecting %s to the adb server at %s: %v (is it running? `adb -P PORT start-server`)\n", p.Serial(), c.Addr(), err)
				return 1
			}
		}
	}
	for _, p := range phones {
		fmt.Fprintln(stdout, p.Serial())
	}
	fw := phones[0].Firmware()
	fmt.Fprintf(stderr, "telltale sim: %d × %s on %s (Android %s) running; Ctrl-C stops\n", len(phones), phones[0].Profile().Name, fw.Version, fw.Android)
	<-ctx.Done()
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

func splitListen(addr string) (string, int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("--listen %q: %w (want HOST:PORT, e.g. 127.0.0.1:7100)", addr, err)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return "", 0, fmt.Errorf("--listen %q: port is not a number in 0-65535", addr)
	}
	return host, n, nil
}
