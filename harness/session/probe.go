package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"telltale.dev/devices/adb"
	"telltale.dev/harness/proxy"
)

// errNoClient is a phone with neither of the probe's HTTP clients.
var errNoClient = errors.New("the phone has neither `toybox nc` (Android 7+) nor `curl` to send the probe request")

// Probe proves that the device's traffic reaches the proxy (Open does it
// before any scenario runs): the phone itself sends one plain HTTP request
// with a fresh token through localhost:8080, and the token must show up in
// the proxy's flow log within the probe timeout. A phone that cannot send
// it fails at once, with its own error.
func (s *Session) Probe(ctx context.Context) error {
	timeout := s.probeTimeout
	mark, err := s.Mark(ctx, "probe")
	if err != nil {
		return fmt.Errorf("probe: mark the proxy log: %w", err)
	}
	token := fmt.Sprintf("telltale-probe-%d", time.Now().UnixNano())
	if err := s.sendProbe(ctx, token); err != nil {
		return fmt.Errorf("probe %s: %w", s.lease.Serial, err)
	}
	deadline := time.Now().Add(timeout)
	since := mark.Seq
	for {
		wait := time.Until(deadline)
		if wait <= 0 {
			return fmt.Errorf("probe: the request the phone sent did not reach the proxy within %s: check that adb reverse works "+
				"(adb -s %s reverse --list shows tcp:%d) and that the phone has no other proxy or VPN", timeout, s.lease.Serial, ProxyPort)
		}
		cctx, cancel := s.bind(ctx, wait+10*time.Second)
		flows, err := proxy.WaitFlows(cctx, s.proxy, since, min(wait, 5*time.Second))
		cancel()
		if lost := s.Lost(); lost != nil {
			return fmt.Errorf("probe: %w", lost)
		}
		if err != nil {
			return fmt.Errorf("probe: read the proxy log: %w", err)
		}
		for _, f := range flows {
			since = max(since, f.Seq)
			if f.Request != nil && strings.Contains(f.Request.URL, token) {
				fmt.Fprintf(s.log, "session %s: probe: proxy saw %s %s\n", s.lease.Serial, f.Request.Method, f.Request.URL)
				return nil
			}
		}
	}
}

// sendProbe asks the device itself to send one plain HTTP request through
// localhost:8080: with toybox nc, which ships on Android 7+ (so on real
// phones and emulators), else with curl where it exists. It fails at once
// when the phone has neither, naming that as the reason.
func (s *Session) sendProbe(ctx context.Context, token string) error {
	req := fmt.Sprintf(`printf 'GET http://probe.telltale.invalid/%s HTTP/1.0\r\nHost: probe.telltale.invalid\r\n\r\n'`, token)
	clients := []struct{ tool, cmd string }{
		{"toybox nc", req + fmt.Sprintf(" | toybox nc -w 5 127.0.0.1 %d", ProxyPort)},
		{"curl", fmt.Sprintf("curl -s -m 5 -x 127.0.0.1:%d http://probe.telltale.invalid/%s", ProxyPort, token)},
	}
	var failures []error
	missing := 0
	for _, c := range clients {
		_, err := s.Shell(ctx, c.cmd)
		if err == nil {
			return nil
		}
		if s.Lost() != nil {
			return err
		}
		// 127 is the shell's "command not found".
		if exit := (*adb.ExitError)(nil); errors.As(err, &exit) && exit.Code == 127 {
			missing++
		}
		failures = append(failures, fmt.Errorf("%s: %w", c.tool, err))
	}
	if missing == len(clients) {
		return errNoClient
	}
	return fmt.Errorf("the phone could not send the probe request through 127.0.0.1:%d (adb reverse to the proxy): %w", ProxyPort, errors.Join(failures...))
}
