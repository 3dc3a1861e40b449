package netfilter

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"telltale.dev/devices/sim/shell"
)

// Tool is the iptables (or ip6tables) command over the phone's tables.
type Tool struct {
	Tables *Tables
	Family Family
	// Version is the iptables release the firmware ships ("1.8.4").
	Version string
}

// Version is the iptables release an Android version ships. Modeled: AOSP
// external/iptables moved to 1.8.x with Android 10 and to 1.8.10 in
// October 2023 (its METADATA); which release each Android version carried
// in between is not confirmed.
func Version(sdk int) string {
	switch {
	case sdk <= 29:
		return "1.8.0"
	case sdk == 30:
		return "1.8.4"
	case sdk <= 34:
		return "1.8.7"
	}
	return "1.8.10"
}

func toolName(fam Family) string {
	if fam == IPv6 {
		return "ip6tables"
	}
	return "iptables"
}

// Exit statuses (libxtables' xtables_exittype).
const (
	exitOther     = 1 // a kernel refusal: "iptables: <reason>."
	exitParameter = 2
	exitVersion   = 3 // the table cannot be read: no root, no such table
)

// kernelError is a refusal from the kernel or libiptc, printed as
// "iptables: <libiptc's words>." with exit 1; EINVAL adds the dmesg hint
// (iptables-standalone.c).
type kernelError struct {
	msg   string
	inval bool
}

func (e *kernelError) Error() string { return e.msg }

var (
	errNoChain    = &kernelError{msg: "No chain/target/match by that name"}
	errChainExist = &kernelError{msg: "Chain already exists"}
	errBadRule    = &kernelError{msg: "Bad rule (does a matching rule exist in that chain?)"}
	errInval      = &kernelError{msg: "Invalid argument", inval: true}
)

// Run is the command: args[0] is its name. Only root may read or change
// the tables; anyone else gets the kernel's EPERM as iptables words it,
// after the command line has been checked.
func (t Tool) Run(ctx context.Context, sio shell.IO, args []string) int {
	name := toolName(t.Family)
	prefix := fmt.Sprintf("%s v%s (legacy): ", name, t.Version)
	c, err := parse(args[1:], t.Family)
	if err != nil {
		fmt.Fprintf(sio.Stderr, "%s%s\nTry `%s -h' or '%s --help' for more information.\n", prefix, err, name, name)
		return exitParameter
	}
	versionProblem := func(reason string) int {
		fmt.Fprintf(sio.Stderr, "%scan't initialize %s table `%s': %s\nPerhaps %s or your kernel needs to be upgraded.\n",
			prefix, name, c.table, reason, name)
		return exitVersion
	}
	// libiptc opens a raw socket first, which needs CAP_NET_RAW: EPERM,
	// "Permission denied (you must be root)" (libiptc.c TC_STRERROR).
	if shell.UID(ctx) != 0 {
		return versionProblem("Permission denied (you must be root)")
	}
	var out strings.Builder
	err = t.Tables.exec(t.Family, c, &out)
	fmt.Fprint(sio.Stdout, out.String())
	var pe *paramError
	var ke *kernelError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errNoTable):
		return versionProblem("Table does not exist (do you need to insmod?)")
	case errors.As(err, &pe):
		fmt.Fprintf(sio.Stderr, "%s%s\nTry `%s -h' or '%s --help' for more information.\n", prefix, pe.msg, name, name)
		return exitParameter
	case errors.As(err, &ke) && ke.inval:
		fmt.Fprintf(sio.Stderr, "%s: %s. Run `dmesg' for more information.\n", name, ke.msg)
	default:
		fmt.Fprintf(sio.Stderr, "%s: %s.\n", name, err)
	}
	return exitOther
}

var errNoTable = errors.New("no such table")

// exec applies c to the family's tables; listings go to out.
func (t *Tables) exec(fam Family, c *command, out *strings.Builder) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	tb, ok := t.fam[fam][c.table]
	if !ok {
		return errNoTable
	}
	if c.rule.Target != "" && !targets[c.rule.Target] {
		if ch := tb.chain(c.rule.Target); ch == nil || ch.builtin {
			return paramf("Couldn't load target `%s':No such file or directory\n", c.rule.Target)
		}
	}
	var ch *chain
	if c.chain != "" {
		ch = tb.chain(c.chain)
	}
	switch c.op {
	case 'N':
		return newChain(tb, c.chain)
	case 'X':
		return deleteChains(tb, c.chain)
	case 'F', 'Z':
		if c.chain != "" && ch == nil {
			return errNoChain
		}
		for _, o := range tb.chains {
			if c.chain == "" || o == ch {
				if c.op == 'F' {
					o.rules = nil
				} else {
					for _, r := range o.rules {
						r.Packets = 0
					}
				}
			}
		}
		return nil
	case 'S':
		if c.chain != "" && ch == nil {
			return errNoChain
		}
		listRules(out, tb, fam, c.chain, c.verbose)
		return nil
	case 'L':
		if c.chain != "" && ch == nil {
			return errNoChain
		}
		list(out, tb, fam, c)
		return nil
	}
	if ch == nil {
		return errNoChain
	}
	switch c.op {
	case 'P':
		if !ch.builtin {
			return &kernelError{msg: "Bad built-in chain name"}
		}
		if c.policy != "ACCEPT" && c.policy != "DROP" {
			return &kernelError{msg: "Bad policy name", inval: true}
		}
		ch.policy = c.policy
		return nil
	case 'C':
		if find(ch, &c.rule) < 0 {
			return errBadRule
		}
		return nil
	case 'D':
		i := c.num - 1
		if c.num == 0 {
			if i = find(ch, &c.rule); i < 0 {
				return errBadRule
			}
		} else if i >= len(ch.rules) {
			return &kernelError{msg: "Index of deletion too big"}
		}
		ch.rules = append(ch.rules[:i:i], ch.rules[i+1:]...)
		return nil
	}
	// A or I: the kernel checks the whole table when it is replaced.
	at := len(ch.rules)
	if c.op == 'I' {
		at = max(c.num, 1) - 1
		if at > len(ch.rules) {
			return &kernelError{msg: "Index of insertion too big"}
		}
	}
	r := c.rule
	ch.rules = append(ch.rules[:at:at], append([]*Rule{&r}, ch.rules[at:]...)...)
	if err := tb.check(); err != nil {
		ch.rules = append(ch.rules[:at:at], ch.rules[at+1:]...)
		return err
	}
	return nil
}

func newChain(tb *table, name string) error {
	switch {
	case len(name) > 28:
		return paramf("chain name `%s' too long (must be under 29 chars)", name)
	case strings.HasPrefix(name, "-"), strings.HasPrefix(name, "!"):
		return paramf("chain name not allowed to start with `%c'\n", name[0])
	case targets[name] || unmodeled[name]:
		return paramf("chain name may not clash with target name\n")
	case tb.chain(name) != nil:
		return errChainExist
	}
	tb.addChain(name)
	return nil
}

// deleteChains is -X: one chain, or every user chain when name is "".
// libiptc's reasons are lost for these two (iptc_fn is overwritten by the
// reference count lookup), so iptables prints strerror's words.
func deleteChains(tb *table, name string) error {
	var victims []*chain
	for _, c := range tb.chains {
		if (name == "" && !c.builtin) || c.name == name {
			victims = append(victims, c)
		}
	}
	if name != "" && len(victims) == 0 {
		return errNoChain
	}
	for _, c := range victims {
		switch {
		case c.builtin:
			return &kernelError{msg: "Can't delete built-in chain", inval: true}
		case tb.references(c.name) > 0:
			return &kernelError{msg: "Too many links"}
		case len(c.rules) > 0:
			return &kernelError{msg: "Directory not empty"}
		}
		i := 0
		for tb.chains[i] != c {
			i++
		}
		tb.chains = append(tb.chains[:i:i], tb.chains[i+1:]...)
	}
	return nil
}

// find returns the index of the first rule equal to r (iptables compares
// whole entries), or -1.
func find(c *chain, r *Rule) int {
	for i, o := range c.rules {
		if sameRule(o, r) {
			return i
		}
	}
	return -1
}

func sameRule(a, b *Rule) bool {
	return slices.Equal(a.Matches, b.Matches) && a.Proto == b.Proto && a.InvProto == b.InvProto &&
		a.Src == b.Src && a.InvSrc == b.InvSrc && a.Dst == b.Dst && a.InvDst == b.InvDst &&
		a.In == b.In && a.InvIn == b.InvIn && a.Out == b.Out && a.InvOut == b.InvOut &&
		a.Target == b.Target && a.Goto == b.Goto && a.Reject == b.Reject && a.Ports == b.Ports && a.Random == b.Random
}

// Where targets and matches may be used (the kernel's xt_check_target /
// xt_check_match: table and hooks of each extension).
var (
	hooksOf = map[string][]string{
		"REDIRECT": {Prerouting, Output},
		"REJECT":   {Input, Forward, Output},
		"owner":    {Output, Postrouting},
	}
	tableOf = map[string]string{"REDIRECT": "nat", "REJECT": "filter"}
)

// check validates the table as the kernel does on replace: no loops, and
// each restricted extension only in its table and reachable only from its
// hooks.
func (tb *table) check() error {
	for _, c := range tb.chains {
		if !c.builtin {
			continue
		}
		if err := tb.checkFrom(c, c.name, map[string]bool{}); err != nil {
			return err
		}
	}
	for _, c := range tb.chains {
		for _, r := range c.rules {
			if t, ok := tableOf[r.Target]; ok && t != tb.name {
				return errInval
			}
		}
	}
	return nil
}

func (tb *table) checkFrom(c *chain, hook string, onPath map[string]bool) error {
	if onPath[c.name] {
		return &kernelError{msg: "Too many levels of symbolic links"} // ELOOP
	}
	onPath[c.name] = true
	defer delete(onPath, c.name)
	for _, r := range c.rules {
		if !allowed(r.Target, hook) {
			return errInval
		}
		for _, m := range r.Matches {
			if !allowed(m.Name, hook) {
				return errInval
			}
		}
		if next := tb.chain(r.Target); next != nil && !next.builtin {
			if err := tb.checkFrom(next, hook, onPath); err != nil {
				return err
			}
		}
	}
	return nil
}

func allowed(ext, hook string) bool {
	hooks, restricted := hooksOf[ext]
	if !restricted {
		return true
	}
	for _, h := range hooks {
		if h == hook {
			return true
		}
	}
	return false
}

// listRules is -S: every chain's policy or -N line first, then the rules
// (iptables.c list_rules). chain "" lists the whole table.
func listRules(b *strings.Builder, tb *table, fam Family, chain string, counters bool) {
	for _, c := range tb.chains {
		if chain != "" && c.name != chain {
			continue
		}
		if c.builtin {
			fmt.Fprintf(b, "-P %s %s", c.name, c.policy)
			if counters {
				b.WriteString(" -c 0 0")
			}
			b.WriteByte('\n')
		} else {
			fmt.Fprintf(b, "-N %s\n", c.name)
		}
	}
	for _, c := range tb.chains {
		if chain != "" && c.name != chain {
			continue
		}
		for _, r := range c.rules {
			b.WriteString("-A " + c.name)
			r.save(b, fam, counters)
			b.WriteByte('\n')
		}
	}
}

// list is -L (iptables.c list_entries, xshared.c print_header and
// print_firewall): a header per chain, a blank line between chains.
func list(b *strings.Builder, tb *table, fam Family, c *command) {
	found := false
	for _, ch := range tb.chains {
		if c.chain != "" && ch.name != c.chain {
			continue
		}
		if found {
			b.WriteByte('\n')
		}
		found = true
		fmt.Fprintf(b, "Chain %s", ch.name)
		if ch.builtin {
			fmt.Fprintf(b, " (policy %s", ch.policy)
			if c.verbose {
				b.WriteString(" 0 packets, 0 bytes")
			}
			b.WriteString(")\n")
		} else {
			fmt.Fprintf(b, " (%d references)\n", tb.references(ch.name))
		}
		if c.lineNumbers {
			fmt.Fprintf(b, "%-4s ", "num")
		}
		if c.verbose {
			if c.exact {
				fmt.Fprintf(b, "%8s %10s ", "pkts", "bytes")
			} else {
				fmt.Fprintf(b, "%5s %5s ", "pkts", "bytes")
			}
		}
		fmt.Fprintf(b, "%-9s  prot opt", "target")
		if c.verbose {
			fmt.Fprintf(b, " %-6s %-6s ", "in", "out")
		}
		fmt.Fprintf(b, " %-19s  %-19s \n", "source", "destination")
		for i, r := range ch.rules {
			if c.num != 0 && i+1 != c.num {
				continue
			}
			printRule(b, r, i+1, fam, c)
		}
	}
}

func printRule(b *strings.Builder, r *Rule, num int, fam Family, c *command) {
	if c.lineNumbers {
		fmt.Fprintf(b, "%-4d ", num)
	}
	if c.verbose {
		// Bytes are not counted (modeled: the phone counts the first
		// packet of each connection only).
		if c.exact {
			fmt.Fprintf(b, "%8d %10d ", r.Packets, 0)
		} else {
			fmt.Fprintf(b, "%5d %5d ", r.Packets, 0)
		}
	}
	fmt.Fprintf(b, "%-9s %c", r.Target, bang(r.InvProto, ' '))
	proto := r.Proto
	if proto == "" {
		proto = "all"
	}
	fmt.Fprintf(b, "%-5s", proto)
	if fam == IPv6 {
		b.WriteString("   ") // ip6tables has no fragment flags
	} else {
		b.WriteString("-- ")
	}
	if c.verbose {
		fmt.Fprintf(b, " %-6s %-6s ", iface(r.In, r.InvIn, c.numeric), iface(r.Out, r.InvOut, c.numeric))
	}
	fmt.Fprintf(b, "%c%-19s %c%-19s ", bang(r.InvSrc, ' '), addrText(r.Src, fam, c.numeric),
		bang(r.InvDst, ' '), addrText(r.Dst, fam, c.numeric))
	if r.Goto {
		b.WriteString("[goto] ")
	}
	r.print(b, c.numeric)
	b.WriteByte('\n')
}

func bang(inv bool, otherwise byte) byte {
	if inv {
		return '!'
	}
	return otherwise
}

func iface(name string, inv, numeric bool) string {
	if name == "" {
		name = "any"
		if numeric {
			name = "*"
		}
	}
	if inv {
		return "!" + name
	}
	return name
}

// addrText is an address column: "anywhere" or a name unless -n, no
// length for a host (xshared.c ipv4_addr_to_string). Names come from
// /system/etc/hosts, the only source a phone without DNS has here.
func addrText(p netip.Prefix, fam Family, numeric bool) string {
	if !p.IsValid() {
		if numeric {
			return anyPrefix(fam)
		}
		return "anywhere"
	}
	a := p.Addr()
	if p.Bits() == a.BitLen() {
		if !numeric && a.IsLoopback() {
			if a.Is4() {
				return "localhost"
			}
			return "ip6-localhost"
		}
		return a.String()
	}
	return p.Masked().String()
}
