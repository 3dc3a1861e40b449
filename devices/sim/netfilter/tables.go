// Package netfilter is the simulated phone's packet filter as the kernel
// keeps it: for IPv4 and IPv6, the filter, nat, mangle and raw tables with
// their chains and rules, the way the packets a socket sends traverse them,
// and the iptables / ip6tables commands that change and list them (the
// subset a transparent-capture harness uses, with iptables 1.8's texts).
//
// The phone boots with the chains Android's netd creates (system/netd
// server/Controllers.cpp initChildChains: bw_, fw_, st_, oem_, tetherctrl_
// ... hooked into the built-in chains); their own rules (data saver,
// firewall chains, strict mode) are not modeled, so the child chains start
// empty and every policy is ACCEPT. A reboot returns to that state: rules
// live in the kernel only.
package netfilter

import (
	"net/netip"
	"slices"
	"sync"
)

// Family is the address family a set of tables filters.
type Family int

const (
	IPv4 Family = 4
	IPv6 Family = 6
)

// Built-in chains, in the hook order iptables lists them.
const (
	Prerouting  = "PREROUTING"
	Input       = "INPUT"
	Forward     = "FORWARD"
	Output      = "OUTPUT"
	Postrouting = "POSTROUTING"
)

var hookOrder = []string{Prerouting, Input, Forward, Output, Postrouting}

// builtins are each table's built-in chains (the kernel's iptable_filter,
// iptable_nat, iptable_mangle and iptable_raw modules register them).
var builtins = map[string][]string{
	"filter": {Input, Forward, Output},
	"nat":    {Prerouting, Input, Output, Postrouting},
	"mangle": {Prerouting, Input, Forward, Output, Postrouting},
	"raw":    {Prerouting, Output},
}

// netdChains are the child chains netd hooks into the built-in ones at boot,
// in order (Controllers.cpp: FILTER_INPUT, FILTER_FORWARD, FILTER_OUTPUT,
// RAW_PREROUTING, MANGLE_POSTROUTING, MANGLE_INPUT, MANGLE_FORWARD,
// NAT_PREROUTING, NAT_POSTROUTING). nat's are IPv4 only (createChildChains(V4,
// "nat", ...)).
var netdChains = []struct {
	table, parent string
	children      []string
	v4Only        bool
}{
	{"filter", Input, []string{"bw_INPUT", "fw_INPUT"}, false},
	{"filter", Forward, []string{"oem_fwd", "fw_FORWARD", "bw_FORWARD", "tetherctrl_FORWARD"}, false},
	{"filter", Output, []string{"oem_out", "fw_OUTPUT", "st_OUTPUT", "bw_OUTPUT"}, false},
	{"raw", Prerouting, []string{"clat_raw_PREROUTING", "bw_raw_PREROUTING", "idletimer_raw_PREROUTING", "tetherctrl_raw_PREROUTING"}, false},
	{"mangle", Postrouting, []string{"oem_mangle_post", "bw_mangle_POSTROUTING", "idletimer_mangle_POSTROUTING"}, false},
	{"mangle", Input, []string{"wakeupctrl_mangle_INPUT", "routectrl_mangle_INPUT"}, false},
	{"mangle", Forward, []string{"tetherctrl_mangle_FORWARD"}, false},
	{"nat", Prerouting, []string{"oem_nat_pre"}, true},
	{"nat", Postrouting, []string{"tetherctrl_nat_POSTROUTING"}, true},
}

type chain struct {
	name    string
	builtin bool
	policy  string // built-in chains only
	rules   []*Rule
}

type table struct {
	name   string
	chains []*chain // built-ins in hook order, then user chains by name
}

func (t *table) chain(name string) *chain {
	for _, c := range t.chains {
		if c.name == name {
			return c
		}
	}
	return nil
}

// addChain inserts a user chain where libiptc keeps it: after the
// built-ins, sorted by name (strcmp order).
func (t *table) addChain(name string) *chain {
	c := &chain{name: name}
	i := len(t.chains)
	for j, o := range t.chains {
		if !o.builtin && o.name > name {
			i = j
			break
		}
	}
	t.chains = slices.Insert(t.chains, i, c)
	return c
}

// references counts the rules that jump or go to chain name.
func (t *table) references(name string) int {
	n := 0
	for _, c := range t.chains {
		for _, r := range c.rules {
			if r.Target == name {
				n++
			}
		}
	}
	return n
}

// Tables are the phone's tables for both families, safe for concurrent use.
type Tables struct {
	mu  sync.Mutex
	fam map[Family]map[string]*table
}

// New returns the tables as the phone boots with them.
func New() *Tables {
	t := &Tables{}
	t.Reset()
	return t
}

// Reset returns to the boot state, as a reboot does.
func (t *Tables) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.fam = map[Family]map[string]*table{IPv4: bootTables(IPv4), IPv6: bootTables(IPv6)}
}

func bootTables(fam Family) map[string]*table {
	out := map[string]*table{}
	for name, chains := range builtins {
		tb := &table{name: name}
		for _, h := range hookOrder {
			if slices.Contains(chains, h) {
				tb.chains = append(tb.chains, &chain{name: h, builtin: true, policy: "ACCEPT"})
			}
		}
		out[name] = tb
	}
	for _, n := range netdChains {
		if n.v4Only && fam != IPv4 {
			continue
		}
		tb := out[n.table]
		parent := tb.chain(n.parent)
		for _, child := range n.children {
			tb.addChain(child)
			parent.rules = append(parent.rules, &Rule{Target: child})
		}
	}
	return out
}

// Verdict is what the tables decide for a packet a socket sends.
type Verdict struct {
	// Drop is set when a rule dropped or rejected the packet.
	Drop bool
	// Reject is REJECT's --reject-with ("" for DROP).
	Reject string
	// Redirect is the port a nat REDIRECT sent the connection to on the
	// phone's loopback (0: not redirected).
	Redirect uint16
}

// Output runs a connection's first packet through the chains a locally
// generated packet meets (netfilter's hook priorities: raw, mangle, nat
// and filter OUTPUT, then mangle and nat POSTROUTING). A REDIRECT in nat
// OUTPUT rewrites the destination to the loopback address (127.0.0.1 or
// ::1, iptables-extensions(8) REDIRECT) before filter OUTPUT sees it, and
// the packet then leaves by lo.
func (t *Tables) Output(fam Family, p Packet) Verdict {
	t.mu.Lock()
	defer t.mu.Unlock()
	tables := t.fam[fam]
	var v Verdict
	for _, step := range []struct{ table, chain string }{
		{"raw", Output}, {"mangle", Output}, {"nat", Output}, {"filter", Output},
		{"mangle", Postrouting}, {"nat", Postrouting},
	} {
		r := tables[step.table].run(step.chain, p)
		if r == nil {
			continue
		}
		switch r.Target {
		case "DROP":
			return Verdict{Drop: true}
		case "REJECT":
			return Verdict{Drop: true, Reject: r.Reject}
		case "REDIRECT":
			v.Redirect = p.Dport
			if r.Ports[0] != 0 {
				v.Redirect = r.Ports[0]
			}
			p.Dst, p.Dport, p.Out = Loopback(fam), v.Redirect, "lo"
		}
	}
	return v
}

// run traverses chain name of t and returns the rule whose terminal target
// decided (nil: the policy ACCEPT did, or the chain let the packet on).
func (t *table) run(name string, p Packet) *Rule {
	type frame struct {
		c *chain
		i int
	}
	stack := []frame{{t.chain(name), 0}}
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		if f.i >= len(f.c.rules) {
			stack = stack[:len(stack)-1] // fell off the end: return, or the policy
			if len(stack) == 0 && f.c.policy == "DROP" {
				return &Rule{Target: "DROP"}
			}
			continue
		}
		r := f.c.rules[f.i]
		f.i++
		if !r.matches(p) {
			continue
		}
		r.Packets++
		switch r.Target {
		case "":
		case "ACCEPT":
			return nil
		case "RETURN":
			stack = stack[:len(stack)-1]
			if len(stack) == 0 && f.c.policy == "DROP" {
				return &Rule{Target: "DROP"}
			}
		case "DROP", "REJECT", "REDIRECT":
			return r
		default:
			next := frame{t.chain(r.Target), 0}
			if r.Goto {
				stack[len(stack)-1] = next
			} else {
				stack = append(stack, next)
			}
		}
	}
	return nil
}

// Loopback is where REDIRECT sends a locally generated packet.
func Loopback(fam Family) netip.Addr {
	if fam == IPv6 {
		return netip.IPv6Loopback()
	}
	return netip.AddrFrom4([4]byte{127, 0, 0, 1})
}
