package netfilter

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// command is one iptables invocation, parsed.
type command struct {
	op     byte // A I D C N X F Z S L P
	chain  string
	num    int    // -I / -D / -L rule number; 0 when none
	policy string // -P
	table  string

	rule    Rule
	matched bool // the rule part was given (-D with a rule, not a number)

	numeric, verbose, exact, lineNumbers bool
}

// paramError is iptables' PARAMETER_PROBLEM (exit 2): a bad command line,
// found before the kernel is asked anything.
type paramError struct{ msg string }

func (e *paramError) Error() string { return e.msg }

func paramf(format string, args ...any) error { return &paramError{fmt.Sprintf(format, args...)} }

// unmodeled are real extensions the simulated phone does not implement: a
// clear refusal rather than a silent difference from a real phone.
var unmodeled = map[string]bool{
	"DNAT": true, "SNAT": true, "MASQUERADE": true, "TPROXY": true, "MARK": true, "CONNMARK": true,
	"LOG": true, "NFLOG": true, "CT": true, "NOTRACK": true, "TCPMSS": true, "IDLETIMER": true,
	"state": true, "conntrack": true, "mark": true, "multiport": true, "iprange": true, "addrtype": true,
	"socket": true, "bpf": true, "quota2": true, "string": true, "limit": true, "connmark": true,
}

// targets the phone models besides user chains.
var targets = map[string]bool{"ACCEPT": true, "DROP": true, "RETURN": true, "REJECT": true, "REDIRECT": true}

// options that take an argument, by short letter and long name.
var (
	withArg = map[string]bool{"A": true, "D": true, "I": true, "C": true, "N": true, "P": true, "t": true, "p": true,
		"s": true, "d": true, "i": true, "o": true, "j": true, "g": true, "m": true, "W": true, "R": true, "E": true}
	// optional arguments are taken when the next word is not an option
	// (xshared.c xs_has_arg).
	optArg = map[string]bool{"L": true, "S": true, "F": true, "Z": true, "X": true, "w": true}
	long   = map[string]string{"append": "A", "delete": "D", "insert": "I", "check": "C", "new-chain": "N",
		"policy": "P", "table": "t", "protocol": "p", "source": "s", "src": "s", "destination": "d", "dst": "d",
		"in-interface": "i", "out-interface": "o", "jump": "j", "goto": "g", "match": "m", "list": "L",
		"list-rules": "S", "flush": "F", "zero": "Z", "delete-chain": "X", "numeric": "n", "verbose": "v",
		"exact": "x", "wait": "w", "wait-interval": "W", "replace": "R", "rename-chain": "E",
		"ipv4": "4", "ipv6": "6"}
)

// parse reads an iptables command line (args without the program name)
// the way getopt_long does for iptables: options in any order, "!" before
// the option it negates, --opt=value, bundled short flags.
func parse(args []string, fam Family) (*command, error) {
	c := &command{table: "filter"}
	var words []string // "-x" / "--long" split into option and argument
	for _, a := range args {
		if strings.HasPrefix(a, "--") && strings.Contains(a, "=") {
			name, val, _ := strings.Cut(a, "=")
			words = append(words, name, val)
			continue
		}
		words = append(words, a)
	}
	invert := false
	takeInvert := func() bool { v := invert; invert = false; return v }
	for i := 0; i < len(words); i++ {
		w := words[i]
		if w == "!" {
			if invert {
				return nil, paramf("multiple `!' flags not allowed")
			}
			invert = true
			continue
		}
		opt, attached, isOpt := splitOption(w)
		if !isOpt {
			return nil, paramf("Bad argument `%s'", w)
		}
		// Bundled flags: -nvL.
		if attached != "" && !withArg[opt] && !optArg[opt] && len(opt) == 1 {
			for j, f := range w[1:] {
				if withArg[string(f)] || optArg[string(f)] {
					words = append(words[:i+1], append([]string{"-" + w[1+j:]}, words[i+1:]...)...)
					break
				}
				if err := c.flag(string(f), fam); err != nil {
					return nil, err
				}
			}
			continue
		}
		arg := attached
		next := func() (string, error) {
			if arg != "" {
				return arg, nil
			}
			if i+1 >= len(words) {
				return "", paramf("option \"%s\" requires an argument", w)
			}
			i++
			return words[i], nil
		}
		optional := func() string {
			if arg != "" {
				return arg
			}
			if i+1 < len(words) && !strings.HasPrefix(words[i+1], "-") && words[i+1] != "!" {
				i++
				return words[i]
			}
			return ""
		}
		var err error
		switch {
		case strings.Contains("ADICNP", opt) && len(opt) == 1:
			var chain string
			if chain, err = next(); err == nil {
				err = c.setCommand(opt[0], chain)
			}
			switch opt {
			case "P":
				if err == nil {
					c.policy, err = next()
				}
			case "I", "D":
				if i+1 < len(words) {
					if n, nerr := strconv.Atoi(words[i+1]); nerr == nil {
						if n < 1 {
							return nil, paramf("Invalid rule number `%s'", words[i+1])
						}
						c.num = n
						i++
					}
				}
			}
		case optArg[opt]:
			v := optional()
			if opt == "w" {
				if v != "" {
					if _, werr := strconv.Atoi(v); werr != nil {
						return nil, paramf("wait seconds not numeric")
					}
				}
				continue
			}
			err = c.setCommand(opt[0], v)
			if opt == "L" && i+1 < len(words) {
				if n, nerr := strconv.Atoi(words[i+1]); nerr == nil && n > 0 {
					c.num = n
					i++
				}
			}
		case opt == "R" || opt == "E":
			return nil, paramf("the simulated phone does not model -%s", opt)
		case opt == "t":
			if c.table, err = next(); err == nil && invert {
				return nil, paramf("unexpected ! flag before --table")
			}
		case opt == "W":
			_, err = next()
		case opt == "p":
			var v string
			if v, err = next(); err == nil {
				err = c.setProto(v, takeInvert(), fam)
			}
		case opt == "s" || opt == "d":
			var v string
			if v, err = next(); err == nil {
				var pfx netip.Prefix
				if pfx, err = parsePrefix(v, fam); err == nil {
					if opt == "s" {
						c.rule.Src, c.rule.InvSrc = pfx, takeInvert()
					} else {
						c.rule.Dst, c.rule.InvDst = pfx, takeInvert()
					}
				}
			}
		case opt == "i" || opt == "o":
			var v string
			if v, err = next(); err == nil {
				if opt == "i" {
					c.rule.In, c.rule.InvIn = v, takeInvert()
				} else {
					c.rule.Out, c.rule.InvOut = v, takeInvert()
				}
			}
		case opt == "j" || opt == "g":
			var v string
			if v, err = next(); err == nil {
				err = c.setTarget(v, opt == "g", fam)
			}
		case opt == "m":
			var v string
			if v, err = next(); err == nil {
				err = c.loadMatch(v)
			}
		case len(opt) > 1:
			var v string
			needs := opt != "random" && opt != "line-numbers"
			if needs {
				v, err = next()
			}
			if err == nil {
				err = c.extensionOption(opt, v, takeInvert(), fam, w)
			}
		default:
			err = c.flag(opt, fam)
		}
		if err != nil {
			return nil, err
		}
		if invert && opt != "p" && opt != "s" && opt != "d" && opt != "i" && opt != "o" {
			return nil, paramf("cannot have ! before -%s", opt)
		}
	}
	if c.op == 0 {
		return nil, paramf("no command specified")
	}
	c.matched = c.rule.Proto != "" || c.rule.Src.IsValid() || c.rule.Dst.IsValid() || c.rule.In != "" ||
		c.rule.Out != "" || len(c.rule.Matches) > 0 || c.rule.Target != ""
	return c, c.validate()
}

// splitOption tells an option word from an argument: "-A" gives "A", "-tnat"
// gives "t" with "nat" attached, "--append" gives "A", "--line-numbers"
// stays long.
func splitOption(w string) (opt, attached string, ok bool) {
	switch {
	case strings.HasPrefix(w, "--") && len(w) > 2:
		name := w[2:]
		if short, ok := long[name]; ok {
			return short, "", true
		}
		return name, "", true
	case strings.HasPrefix(w, "-") && len(w) > 1:
		return w[1:2], w[2:], true
	}
	return "", "", false
}

func (c *command) flag(f string, fam Family) error {
	switch f {
	case "n":
		c.numeric = true
	case "v":
		c.verbose = true
	case "x":
		c.exact = true
	case "4", "6":
		// -4 / -6 select the rules of iptables-restore files; each
		// binary takes its own family's and rejects the other's.
		if (f == "4") != (fam == IPv4) {
			return paramf("This is the IPv%d version of %s.", fam, toolName(fam))
		}
	default:
		return paramf("unknown option \"-%s\"", f)
	}
	return nil
}

func (c *command) setCommand(op byte, chain string) error {
	if c.op != 0 {
		return paramf("Can't use -%c with -%c\n", op, c.op)
	}
	c.op, c.chain = op, chain
	return nil
}

func (c *command) setProto(v string, inv bool, fam Family) error {
	name := strings.ToLower(v)
	switch name {
	case "all", "0":
		name = ""
	case "6":
		name = "tcp"
	case "17":
		name = "udp"
	case "1":
		name = "icmp"
	case "58", "ipv6-icmp":
		name = "icmpv6"
	}
	if name != "" && name != "tcp" && name != "udp" && name != "icmp" && name != "icmpv6" {
		return paramf("unknown protocol \"%s\" specified", v)
	}
	if name == "" && inv {
		return paramf("rule would never match protocol")
	}
	c.rule.Proto, c.rule.InvProto = name, inv
	return nil
}

// parsePrefix reads -s/-d: an address with an optional /length (or dotted
// mask for IPv4). Host names would need DNS, which the phone's iptables
// resolves and the simulated phone does not model.
func parsePrefix(v string, fam Family) (netip.Prefix, error) {
	addrPart, maskPart, hasMask := strings.Cut(v, "/")
	a, err := netip.ParseAddr(addrPart)
	if err != nil || (fam == IPv4) != a.Is4() {
		return netip.Prefix{}, paramf("host/network `%s' not found", addrPart)
	}
	bits := a.BitLen()
	if hasMask {
		if n, err := strconv.Atoi(maskPart); err == nil && n >= 0 && n <= a.BitLen() {
			bits = n
		} else if m, err := netip.ParseAddr(maskPart); err == nil && m.Is4() && fam == IPv4 {
			ones, ok := maskBits(m)
			if !ok {
				return netip.Prefix{}, paramf("invalid mask `%s' specified", maskPart)
			}
			bits = ones
		} else {
			return netip.Prefix{}, paramf("invalid mask `%s' specified", maskPart)
		}
	}
	return netip.PrefixFrom(a, bits).Masked(), nil
}

func maskBits(m netip.Addr) (int, bool) {
	b := m.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	ones := 0
	for v&0x80000000 != 0 {
		ones++
		v <<= 1
	}
	return ones, v == 0
}

func (c *command) setTarget(name string, isGoto bool, fam Family) error {
	if c.rule.Target != "" {
		return paramf("multiple -j flags not allowed")
	}
	if unmodeled[name] {
		return paramf("the simulated phone does not model target `%s'", name)
	}
	c.rule.Target, c.rule.Goto = name, isGoto
	switch name {
	case "REJECT":
		c.rule.Reject = "icmp-port-unreachable"
		if fam == IPv6 {
			c.rule.Reject = "icmp6-port-unreachable"
		}
	}
	return nil
}

func (c *command) loadMatch(name string) error {
	switch name {
	case "owner", "tcp", "udp", "comment":
	default:
		if unmodeled[name] {
			return paramf("the simulated phone does not model match `%s'", name)
		}
		return paramf("Couldn't load match `%s':No such file or directory\n", name)
	}
	c.rule.Matches = append(c.rule.Matches, Match{Name: name})
	return nil
}

// match returns the last loaded match of a name, loading tcp or udp
// implicitly for -p tcp/udp as iptables does for their options.
func (c *command) match(names ...string) *Match {
	for i := len(c.rule.Matches) - 1; i >= 0; i-- {
		for _, n := range names {
			if c.rule.Matches[i].Name == n {
				return &c.rule.Matches[i]
			}
		}
	}
	for _, n := range names {
		if (n == "tcp" || n == "udp") && c.rule.Proto == n && !c.rule.InvProto {
			c.rule.Matches = append(c.rule.Matches, Match{Name: n})
			return &c.rule.Matches[len(c.rule.Matches)-1]
		}
	}
	return nil
}

// rejectTypes are REJECT's --reject-with names and aliases, by family
// (libipt_REJECT.c, libip6t_REJECT.c).
var rejectTypes = map[Family]map[string]string{
	IPv4: {"icmp-net-unreachable": "icmp-net-unreachable", "net-unreach": "icmp-net-unreachable",
		"icmp-host-unreachable": "icmp-host-unreachable", "host-unreach": "icmp-host-unreachable",
		"icmp-proto-unreachable": "icmp-proto-unreachable", "proto-unreach": "icmp-proto-unreachable",
		"icmp-port-unreachable": "icmp-port-unreachable", "port-unreach": "icmp-port-unreachable",
		"icmp-net-prohibited": "icmp-net-prohibited", "net-prohib": "icmp-net-prohibited",
		"icmp-host-prohibited": "icmp-host-prohibited", "host-prohib": "icmp-host-prohibited",
		"icmp-admin-prohibited": "icmp-admin-prohibited", "tcp-reset": "tcp-reset"},
	IPv6: {"icmp6-no-route": "icmp6-no-route", "no-route": "icmp6-no-route",
		"icmp6-adm-prohibited": "icmp6-adm-prohibited", "adm-prohibited": "icmp6-adm-prohibited",
		"icmp6-addr-unreachable": "icmp6-addr-unreachable", "addr-unreach": "icmp6-addr-unreachable",
		"icmp6-port-unreachable": "icmp6-port-unreachable", "port-unreach": "icmp6-port-unreachable",
		"tcp-reset": "tcp-reset"},
}

// extensionOption handles the options matches and targets add.
func (c *command) extensionOption(name, v string, inv bool, fam Family, word string) error {
	unknown := paramf("unknown option \"%s\"", word)
	switch name {
	case "line-numbers":
		c.lineNumbers = true
	case "uid-owner":
		m := c.match("owner")
		if m == nil {
			return unknown
		}
		r, ok := parseUIDs(v)
		if !ok {
			return paramf("owner: Bad value for \"--uid-owner\" option: \"%s\"", v)
		}
		m.UIDs, m.InvUID = r, inv
	case "dport", "destination-port", "sport", "source-port":
		m := c.match("tcp", "udp")
		if m == nil {
			return unknown
		}
		r, err := parsePorts(v)
		if err != nil {
			return err
		}
		if name == "dport" || name == "destination-port" {
			m.Dport, m.HasDport, m.InvDport = r, true, inv
		} else {
			m.Sport, m.HasSport, m.InvSport = r, true, inv
		}
	case "comment":
		m := c.match("comment")
		if m == nil {
			return unknown
		}
		if len(v) > 255 {
			return paramf("COMMENT must be shorter than 256 characters")
		}
		m.Comment = v
	case "reject-with":
		if c.rule.Target != "REJECT" {
			return unknown
		}
		t, ok := rejectTypes[fam][v]
		if !ok {
			return paramf("unknown reject type \"%s\"", v)
		}
		c.rule.Reject = t
	case "to-ports", "to-port":
		if c.rule.Target != "REDIRECT" {
			return unknown
		}
		lo, hi, isRange := strings.Cut(v, "-")
		a, errA := strconv.ParseUint(lo, 10, 16)
		b := a
		var errB error
		if isRange {
			b, errB = strconv.ParseUint(hi, 10, 16)
		}
		if errA != nil || errB != nil || a == 0 || b < a {
			return paramf("Port \"%s\" not valid\n", v)
		}
		c.rule.Ports = [2]uint16{uint16(a), uint16(b)}
	case "random":
		if c.rule.Target != "REDIRECT" {
			return unknown
		}
		c.rule.Random = true
	default:
		return unknown
	}
	return nil
}

func parseUIDs(v string) ([2]uint32, bool) {
	lo, hi, isRange := strings.Cut(v, "-")
	a, ok := uid(lo)
	b := a
	if isRange {
		var okB bool
		b, okB = uid(hi)
		ok = ok && okB && b >= a
	}
	return [2]uint32{a, b}, ok
}

// uid reads a number or a name bionic's getpwnam knows: root, system,
// shell, and u0_aN for apps.
func uid(s string) (uint32, bool) {
	switch s {
	case "root":
		return 0, true
	case "system":
		return 1000, true
	case "shell":
		return 2000, true
	}
	if n, ok := strings.CutPrefix(s, "u0_a"); ok {
		v, err := strconv.ParseUint(n, 10, 32)
		return uint32(v) + 10000, err == nil && v < 10000
	}
	v, err := strconv.ParseUint(s, 10, 32)
	return uint32(v), err == nil && v < math.MaxUint32
}

// portNames are the services the port options accept by name (bionic's
// getservbyname).
var portNames = map[string]uint16{"domain": 53, "http": 80, "https": 443}

func parsePorts(v string) ([2]uint16, error) {
	lo, hi, isRange := strings.Cut(v, ":")
	a, err := port(lo, 0)
	if err != nil {
		return [2]uint16{}, err
	}
	b := a
	if isRange {
		if b, err = port(hi, 65535); err != nil {
			return [2]uint16{}, err
		}
	}
	if b < a {
		return [2]uint16{}, paramf("invalid portrange (min > max)")
	}
	return [2]uint16{a, b}, nil
}

func port(s string, empty uint16) (uint16, error) {
	if s == "" {
		return empty, nil
	}
	if p, ok := portNames[s]; ok {
		return p, nil
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, paramf("invalid port/service `%s' specified", s)
	}
	return uint16(n), nil
}

// validate applies the checks iptables makes on the command as a whole.
func (c *command) validate() error {
	needsRule := c.op == 'A' || c.op == 'I' || c.op == 'C' || (c.op == 'D' && c.num == 0)
	if !needsRule && c.matched {
		return paramf("Illegal option `-%s' with this command\n", ruleOption(&c.rule))
	}
	if c.op == 'D' && c.num != 0 && c.matched {
		return paramf("Illegal option with -D and a rule number")
	}
	if (c.rule.Target == "DROP" || c.policy == "DROP") && c.table == "nat" {
		// iptables.c: "The \"nat\" table is not intended for filtering".
		return paramf("\nThe \"nat\" table is not intended for filtering, the use of DROP is therefore inhibited.\n\n")
	}
	return nil
}

// ruleOption names the first rule option given, for the illegal-option
// message.
func ruleOption(r *Rule) string {
	switch {
	case r.Src.IsValid():
		return "s"
	case r.Dst.IsValid():
		return "d"
	case r.Proto != "":
		return "p"
	case r.In != "":
		return "i"
	case r.Out != "":
		return "o"
	case r.Target != "":
		return "j"
	}
	return "m"
}
