package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"telltale.dev/devices/adb"
	"telltale.dev/devices/profiles"
	"telltale.dev/harness/doctor"
)

func init() {
	register(command{
		name:    "doctor",
		summary: "check that a phone is ready for a run (adb, root, MIUI toggles, screen, CA store, proxy path, storage, flows)",
		run: func(ctx context.Context, args []string) int {
			return runDoctor(ctx, args, os.Stdout, os.Stderr)
		},
	})
}

const doctorUsage = `usage: telltale doctor [--adb A] [--device S] [--json] [--su-wait 20s]

Checks, before a run touches the phone, everything the run needs of it and
says for each failed check what to tap on the phone: adb authorisation, the
model and firmware (its profile), the Android version, root and the su form
that works (and whether Magisk asks), MIUI's "USB debugging (Security
settings)" and "Install via USB", the screen, the CA store the run can use,
the proxy path, free storage, and the profile's UI flows. It changes
nothing; su may make Magisk ask on the phone, which you answer there.
'telltale run' runs the same checks first and stops when one fails.

The phone is --device (a serial from 'telltale devices'), or the only
device on the adb servers of --adb (default $TELLTALE_ADB or 127.0.0.1:5037).

Exit status: 0 when nothing failed (warnings included), 1 when a check
failed, 2 on a usage error.
`

func runDoctor(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, doctorUsage) }
	servers := fs.String("adb", defaultServers(), "comma-separated adb servers, host:port")
	serial := fs.String("device", "", "the phone's serial (default: the only device)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	suWait := fs.Duration("su-wait", 20*time.Second, "how long to wait for an answer when Magisk asks on the phone")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "telltale doctor: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	profs, err := profiles.Load()
	if err != nil {
		fmt.Fprintf(stderr, "telltale doctor: %v\n", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	c, s, err := doctorTarget(ctx, *servers, *serial)
	if err != nil {
		fmt.Fprintf(stderr, "telltale doctor: %v\n", err)
		return 1
	}
	rep := doctor.Run(ctx, c, s, doctor.Options{Profiles: profs, Progress: stderr, SuWait: *suWait})
	if *asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "telltale doctor: %v\n", err)
		return 1
	}
	if len(rep.Failed()) > 0 {
		return 1
	}
	return 0
}

// doctorTarget finds the phone to check: --device on the servers, else the
// only device they list in any state (an unauthorized phone is what the
// doctor is for).
func doctorTarget(ctx context.Context, servers, serial string) (*adb.Client, string, error) {
	type found struct {
		c      *adb.Client
		serial string
	}
	var all []found
	var errs []error
	for _, s := range strings.Split(servers, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		srv, err := adb.ParseServer(s)
		if err != nil {
			return nil, "", fmt.Errorf("--adb: %w", err)
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
			if serial == "" || info.Serial == serial {
				all = append(all, found{c, info.Serial})
			}
		}
	}
	switch {
	case len(all) == 1:
		return all[0].c, all[0].serial, nil
	case len(all) == 0 && serial != "":
		return nil, "", errors.Join(append([]error{fmt.Errorf("no device %q on %s: see 'telltale devices'", serial, servers)}, errs...)...)
	case len(all) == 0:
		return nil, "", errors.Join(append([]error{fmt.Errorf("no device on %s: plug in a phone with USB debugging on", servers)}, errs...)...)
	}
	var names []string
	for _, f := range all {
		names = append(names, f.serial)
	}
	return nil, "", fmt.Errorf("%d devices (%s): pick one with --device", len(all), strings.Join(names, ", "))
}
