package scenarios

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"

	"telltale.dev/devices/adb"
	"telltale.dev/devices/profiles"
	"telltale.dev/devices/sim"
	"telltale.dev/harness/session"
)

// startSims starts the simulated phones the flags ask for, each writing its
// ground-truth log into the run directory, on a private adb server (never
// the user's 5037), and returns their leases in slot order.
func startSims(ctx context.Context, profs []*profiles.Profile, specs []string, runDir string) ([]session.Lease, func(context.Context) error, error) {
	adbPath, err := exec.LookPath("adb")
	if err != nil {
		return nil, nil, fmt.Errorf("simulated phones need the adb server: %w (apt-get install adb, or make deps)", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, nil, err
	}
	client := adb.New(adb.Server{Host: "127.0.0.1", Port: port, Path: adbPath})
	if err := client.StartServer(ctx); err != nil {
		return nil, nil, fmt.Errorf("start a private adb server: %w", err)
	}
	var phones []*sim.Phone
	var files []*os.File
	cleanup := func(ctx context.Context) error {
		var errs []error
		for _, p := range phones {
			errs = append(errs, p.Close())
		}
		for _, f := range files {
			errs = append(errs, f.Close())
		}
		errs = append(errs, client.KillServer(ctx))
		return errors.Join(errs...)
	}
	var leases []session.Lease
	for i, spec := range specs {
		p, fw, err := findSim(profs, spec)
		if err != nil {
			return nil, nil, errors.Join(err, cleanup(ctx))
		}
		truth, err := os.Create(filepath.Join(runDir, "logs", fmt.Sprintf("sim-%d-truth.jsonl", i+1)))
		if err != nil {
			return nil, nil, errors.Join(err, cleanup(ctx))
		}
		files = append(files, truth)
		ph, err := sim.Start(ctx, sim.Config{Profile: p, Firmware: fw.Version, Truth: truth})
		if err != nil {
			return nil, nil, errors.Join(fmt.Errorf("start simulated %s: %w", spec, err), cleanup(ctx))
		}
		phones = append(phones, ph)
		if err := client.Connect(ctx, ph.Serial()); err != nil {
			return nil, nil, errors.Join(err, cleanup(ctx))
		}
		if err := client.Device(ph.Serial()).WaitForDevice(ctx); err != nil {
			return nil, nil, errors.Join(err, cleanup(ctx))
		}
		leases = append(leases, session.Lease{Server: client.Addr(), Serial: ph.Serial(), Profile: p.Name, Firmware: fw.Version, Model: p.DisplayName})
	}
	return leases, cleanup, nil
}

// freePort returns a port nothing listens on; the kernel's ephemeral range
// is above the 5555-5585 ports the adb server scans.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
