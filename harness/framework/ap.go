package framework

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"time"

	"telltale.dev/devices/sim"
	"telltale.dev/harness/actions"
	"telltale.dev/harness/lease"
)

// hookAP is a real phone's access point: the user's command, run as
// `CMD add SSID` and `CMD remove SSID` (--ap-hook), which makes an open
// network of that name and takes it down (hostapd, a travel router's API,
// a phone's hotspot).
type hookAP struct{ cmd string }

func (h hookAP) Add(ctx context.Context, ssid string) error    { return h.run(ctx, "add", ssid) }
func (h hookAP) Remove(ctx context.Context, ssid string) error { return h.run(ctx, "remove", ssid) }

func (h hookAP) run(ctx context.Context, op, ssid string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "sh", "-c", h.cmd+` "$@"`, "ap-hook", op, ssid).CombinedOutput()
	if err != nil {
		return fmt.Errorf("--ap-hook %q %s %s: %w: %s", h.cmd, op, ssid, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// simAP is a simulated phone's environment: its networks in range. The
// phones live in the suite's first process, so every process reaches them
// through a loopback endpoint there (apServer).
type simAP struct{ base, serial string }

func (a simAP) Add(ctx context.Context, ssid string) error    { return a.call(ctx, "add", ssid) }
func (a simAP) Remove(ctx context.Context, ssid string) error { return a.call(ctx, "remove", ssid) }

func (a simAP) call(ctx context.Context, op, ssid string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	q := url.Values{"serial": {a.serial}, "ssid": {ssid}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+"/"+op+"?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("the simulated access point (suite process 1): %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("the simulated access point: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return nil
}

// apServer serves simAP calls for the phones of process 1.
type apServer struct {
	srv *http.Server
	mu  sync.Mutex
	// phones by serial.
	phones map[string]*sim.Phone
}

// serveAccessPoints starts the loopback endpoint through which every
// process puts networks in range of the simulated phones; its address goes
// to the other processes with the rest of the shared set-up.
func (s *suite) serveAccessPoints(phones []*sim.Phone) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("the simulated access point's endpoint: %w", err)
	}
	a := &apServer{phones: map[string]*sim.Phone{}}
	for _, p := range phones {
		a.phones[p.Serial()] = p
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{op}", a.serve)
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go a.srv.Serve(l)
	s.ap = a
	s.shared.APServer = "http://" + l.Addr().String()
	return nil
}

func (a *apServer) serve(w http.ResponseWriter, r *http.Request) {
	serial, ssid := r.URL.Query().Get("serial"), r.URL.Query().Get("ssid")
	a.mu.Lock()
	p := a.phones[serial]
	a.mu.Unlock()
	switch {
	case p == nil:
		http.Error(w, "no simulated phone "+serial, http.StatusNotFound)
	case ssid == "":
		http.Error(w, "no ssid", http.StatusBadRequest)
	case r.PathValue("op") == "add":
		p.AddNetwork(sim.Network{SSID: ssid, Security: "open"})
		w.WriteHeader(http.StatusNoContent)
	case r.PathValue("op") == "remove":
		p.RemoveNetwork(ssid)
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "want add or remove", http.StatusNotFound)
	}
}

// stopAccessPoints stops the endpoint (process 1, after the suite).
func (s *suite) stopAccessPoints(ctx context.Context) error {
	if s.ap == nil {
		return nil
	}
	return s.ap.srv.Shutdown(ctx)
}

// accessPoint is the device's access point: the user's --ap-hook command,
// else the simulated phone's environment, else none (connect-wifi then
// fails saying what to set up).
func (d *Device) accessPoint(l lease.Lease) actions.AccessPoint {
	switch {
	case d.suite.flags.APHook != "":
		return hookAP{d.suite.flags.APHook}
	case d.suite.shared.APServer != "" && d.slot.Lease.Serial == "":
		return simAP{base: d.suite.shared.APServer, serial: l.Serial}
	}
	return nil
}

// trackedAP remembers the networks it put up, so the device's teardown
// takes them down after the phone has forgotten them.
type trackedAP struct {
	actions.AccessPoint
	mu    sync.Mutex
	ssids []string
}

func (t *trackedAP) Add(ctx context.Context, ssid string) error {
	t.mu.Lock()
	t.ssids = append(t.ssids, ssid)
	t.mu.Unlock()
	return t.AccessPoint.Add(ctx, ssid)
}

// removeAll takes down every network it put up.
func (t *trackedAP) removeAll(ctx context.Context) error {
	t.mu.Lock()
	ssids := t.ssids
	t.ssids = nil
	t.mu.Unlock()
	var errs []error
	for _, s := range ssids {
		errs = append(errs, t.Remove(ctx, s))
	}
	return errors.Join(errs...)
}
