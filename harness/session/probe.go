package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"telltale.dev/devices/adb"
	"telltale.dev/harness/capture"
	"telltale.dev/harness/proxy"
	"telltale.dev/harness/redirect"
)

// errNoClient is a phone with neither of the probe's HTTP clients.
var errNoClient = errors.New("the phone has neither `toybox nc` (Android 7+) nor `curl` to send the probe request")

// Probe proves that the device's traffic reaches the proxy (Open does it
// before any scenario runs): the phone itself sends one plain HTTP request
// with a fresh token through localhost:8080, and the token must show up in
// the proxy's flow log within the probe timeout; in transparent capture a
// second one, sent to an outside address, must arrive redirected. A phone
// that cannot send it fails at once, with its own error.
func (s *Session) Probe(ctx context.Context) error {
	if err := s.probe(ctx, false); err != nil {
		return err
	}
	if s.capture == CaptureTransparent {
		return s.probe(ctx, true)
	}
	return nil
}

// probeRemote is where the redirected probe is sent: TEST-NET-1 (RFC 5737),
// which no network routes, so only the phone's iptables can carry it.
const probeRemote = "192.0.2.1"

func (s *Session) probe(ctx context.Context, redirected bool) error {
	timeout := s.probeTimeout
	mark, err := s.Mark(ctx, "probe")
	if err != nil {
		return fmt.Errorf("probe: mark the proxy log: %w", err)
	}
	token := fmt.Sprintf("telltale-probe-%d", time.Now().UnixNano())
	if err := s.sendProbe(ctx, token, redirected); err != nil {
		return fmt.Errorf("probe %s: %w", s.lease.Serial, err)
	}
	hint := fmt.Sprintf("check that adb reverse works (adb -s %s reverse --list shows tcp:%d) and that the phone has no other proxy or VPN", s.lease.Serial, ProxyPort)
	if redirected {
		hint = fmt.Sprintf("check the phone's rules (su -c 'iptables -t nat -S %s') and that no VPN app takes the traffic first", redirect.Chain)
	}
	deadline := time.Now().Add(timeout)
	since := mark.Seq
	for {
		wait := time.Until(deadline)
		if wait <= 0 {
			return fmt.Errorf("probe: the request the phone sent did not reach the proxy within %s: %s", timeout, hint)
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
				if redirected && f.Route != capture.RouteRedirect {
					return fmt.Errorf("probe: the request sent to %s reached the proxy by route %q, not redirected: %s", probeRemote, f.Route, hint)
				}
				from := ""
				if f.App != nil {
					from = " from " + f.App.String()
				}
				fmt.Fprintf(s.log, "session %s: probe: proxy saw %s %s (%s)%s\n", s.lease.Serial, f.Request.Method, f.Request.URL, f.Route, from)
				return nil
			}
		}
	}
}

// sendProbe asks the device itself to send one plain HTTP request through
// localhost:8080, or redirected, to probeRemote with no proxy: with toybox
// nc, which ships on Android 7+ (so on real phones and emulators), else
// with curl where it exists. It fails at once when the phone has neither,
// naming that as the reason.
func (s *Session) sendProbe(ctx context.Context, token string, redirected bool) error {
	const host = "probe.telltale.invalid"
	target, dest := "http://"+host+"/"+token, fmt.Sprintf("127.0.0.1 %d", ProxyPort)
	curl := fmt.Sprintf("curl -s -m 5 -x 127.0.0.1:%d http://%s/%s", ProxyPort, host, token)
	if redirected {
		target, dest = "/"+token, probeRemote+" 80"
		curl = fmt.Sprintf("curl -s -m 5 --noproxy '*' --resolve %s:80:%s http://%s/%s", host, probeRemote, host, token)
	}
	req := fmt.Sprintf(`printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n'`, target, host)
	clients := []struct{ tool, cmd string }{
		{"toybox nc", req + " | toybox nc -w 5 " + dest},
		{"curl", curl},
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
