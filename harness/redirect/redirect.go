// Package redirect is the netfilter side of transparent capture on a phone
// with root: the iptables rules that send every outgoing TCP connection
// (loopback and the adb transport excepted) to the proxy's reverse port,
// each app uid of interest to a port of its own so the proxy knows the
// sender, and reject UDP 443 so QUIC falls back to TCP. IPv6 TCP is refused
// at once (ip6tables) rather than redirected: the reverse port listens on
// the phone's IPv4 loopback only (adbd binds 127.0.0.1), so apps fall back
// to IPv4, which is redirected. Each rule comes with its undo, to be
// journaled before the rule is made; State reads `iptables -S` to prove the
// phone was put back.
//
// The rules live in a chain of their own in each table, hooked first into
// OUTPUT, as Tor's transparent-proxy recipe and mitmproxy's transparent mode
// do with nat OUTPUT REDIRECT and `-m owner --uid-owner`: nothing of the
// phone's own chains (netd's) is touched, and undoing is deleting the hook,
// the rules and the chain.
package redirect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Chain is the name of telltale's chain in the nat and filter tables.
const Chain = "telltale"

// Tools are the two netfilter front ends, IPv4 and IPv6.
const (
	IPv4 = "iptables"
	IPv6 = "ip6tables"
)

// Run runs a command line as root on the phone and returns its output; a
// non-zero exit is an error whose text holds what the command printed.
type Run func(ctx context.Context, cmd string) (string, error)

// AppPort sends one app uid's connections to a port of their own on the
// phone (an adb reverse rule carries it to that app's listener).
type AppPort struct {
	UID  int
	Port int
}

// Plan is what transparent capture asks of one phone.
type Plan struct {
	// ProxyPort is the phone's port of the adb reverse rule to the proxy:
	// every connection no app port takes goes there.
	ProxyPort int
	// Apps are the uids whose connections go to ports of their own.
	Apps []AppPort
	// KeepSourcePorts are local TCP ports whose connections stay as they
	// are: adbd's own when adb runs over TCP (`adb tcpip`).
	KeepSourcePorts []int
}

// Rule is one iptables or ip6tables command and the one that undoes it.
type Rule struct {
	Tool string
	Args []string
	Undo []string
}

// Command is the rule as a command line.
func (r Rule) Command() string { return r.Tool + " " + strings.Join(r.Args, " ") }

// UndoCommand is the undo as a command line.
func (r Rule) UndoCommand() string { return r.Tool + " " + strings.Join(r.Undo, " ") }

// Rules are the commands that make p, in order: each chain filled before
// the hook that sends traffic into it, so no connection meets half a chain.
func (p Plan) Rules() ([]Rule, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	rules := chain(IPv4, "nat", p.natRules())
	rules = append(rules, chain(IPv4, "filter", quic)...)
	return append(rules, chain(IPv6, "filter", append(quic, ipv6TCP...))...), nil
}

func (p Plan) check() error {
	ports := map[int]string{}
	claim := func(port int, what string) error {
		if port < 1 || port > 65535 {
			return fmt.Errorf("redirect: %s: port %d is not a TCP port", what, port)
		}
		if other, ok := ports[port]; ok {
			return fmt.Errorf("redirect: port %d is both %s's and %s's", port, other, what)
		}
		ports[port] = what
		return nil
	}
	if err := claim(p.ProxyPort, "the proxy"); err != nil {
		return err
	}
	uids := map[int]bool{}
	for _, a := range p.Apps {
		if a.UID < 0 || uids[a.UID] {
			return fmt.Errorf("redirect: uid %d is negative or given twice", a.UID)
		}
		uids[a.UID] = true
		if err := claim(a.Port, "uid "+strconv.Itoa(a.UID)); err != nil {
			return err
		}
	}
	return nil
}

// natRules send TCP to the proxy: loopback (apps that use the proxy
// setting, adb reverse itself, the phone's own services) and adbd's
// connections stay; each app of interest goes to its port; the rest to the
// proxy's.
func (p Plan) natRules() [][]string {
	rules := [][]string{{"-o", "lo", "-j", "RETURN"}}
	for _, port := range p.KeepSourcePorts {
		rules = append(rules, []string{"-p", "tcp", "--sport", strconv.Itoa(port), "-j", "RETURN"})
	}
	for _, a := range p.Apps {
		rules = append(rules, []string{"-p", "tcp", "-m", "owner", "--uid-owner", strconv.Itoa(a.UID), "-j", "REDIRECT", "--to-ports", strconv.Itoa(a.Port)})
	}
	return append(rules, []string{"-p", "tcp", "-j", "REDIRECT", "--to-ports", strconv.Itoa(p.ProxyPort)})
}

// quic refuses UDP 443 at once, as Chromium expects of a network that
// blocks QUIC, so it falls back to TCP.
var quic = [][]string{{"-p", "udp", "--dport", "443", "-j", "REJECT"}}

// ipv6TCP refuses IPv6 TCP but loopback's with a reset, so clients move to
// IPv4 without waiting for a timeout.
var ipv6TCP = [][]string{{"-o", "lo", "-j", "RETURN"}, {"-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"}}

// chain makes Chain in table, appends rules to it and hooks it first into
// OUTPUT.
func chain(tool, table string, rules [][]string) []Rule {
	t := []string{"-t", table}
	out := []Rule{{Tool: tool, Args: cat(t, "-N", Chain), Undo: cat(t, "-X", Chain)}}
	for _, r := range rules {
		out = append(out, Rule{Tool: tool, Args: cat(t, append([]string{"-A", Chain}, r...)...), Undo: cat(t, append([]string{"-D", Chain}, r...)...)})
	}
	return append(out, Rule{Tool: tool, Args: cat(t, "-I", "OUTPUT", "1", "-j", Chain), Undo: cat(t, "-D", "OUTPUT", "-j", Chain)})
}

func cat(head []string, tail ...string) []string { return append(slices.Clone(head), tail...) }

// Apply makes each rule in order, calling record with it first (to journal
// the undo before the phone changes). It stops at the first failure; the
// rules made so far are recorded, and their undos put the phone back.
func Apply(ctx context.Context, run Run, rules []Rule, record func(Rule) error) error {
	for _, r := range rules {
		if err := record(r); err != nil {
			return err
		}
		if _, err := run(ctx, r.Command()); err != nil {
			return fmt.Errorf("redirect: %s: %w", r.Command(), err)
		}
	}
	return nil
}

// Messages of iptables (legacy, as on phones, and nf_tables) when what an
// undo removes is not there: the undo of a rule whose making failed or was
// already undone.
var gone = []string{
	"Bad rule (does a matching rule exist in that chain?)",
	"No chain/target/match by that name",
	"Chain '" + Chain + "' does not exist",
}

// Undo runs an undo command line; what it removes being gone already
// counts as done, so a restore after a crash mid-way, or a second restore,
// succeeds.
func Undo(ctx context.Context, run Run, cmd string) error {
	out, err := run(ctx, cmd)
	if err == nil {
		return nil
	}
	for _, g := range gone {
		if strings.Contains(err.Error(), g) || strings.Contains(out, g) {
			return nil
		}
	}
	return fmt.Errorf("redirect: %s: %w", cmd, err)
}

// ErrChainExists is a phone whose tables already hold telltale's chain:
// another run is capturing it, or one that crashed was not restored.
var ErrChainExists = errors.New("redirect: the phone already has telltale's iptables chain")
