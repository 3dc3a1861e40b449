package leak

import (
	"slices"
	"strings"
	"sync"

	"telltale.dev/harness/capture"
	"telltale.dev/protocols"
)

// events is a detector without canaries, used to read event names.
var events = sync.OnceValue(func() *Detector { return New(nil) })

// Differential lists the hosts, paths and telemetry event names seen in the
// action window and never in the idle baseline. Event names are read through
// the same decodings as canaries (base64, gzip, keyed decryption with keys
// exchanged in either window, ...). TLS failures count as contacting their
// SNI host.
func Differential(baseline, action []capture.Flow) Diff {
	bh, bp, be := events().inventory(baseline, action)
	ah, ap, ae := events().inventory(action, baseline)
	return Diff{Hosts: only(ah, bh), Paths: only(ap, bp), Events: only(ae, be)}
}

// inventory collects the hosts, host/paths and event names of flows; keys
// may come from either window, so both are learned from.
func (d *Detector) inventory(flows, other []capture.Flow) (hosts, paths, evs map[string]bool) {
	hosts, paths, evs = map[string]bool{}, map[string]bool{}, map[string]bool{}
	keys := make([][]Key, len(d.cfg.decoders))
	for _, w := range [][]capture.Flow{flows, other} {
		for i := range w {
			learn(d.cfg.decoders, &w[i], keys)
		}
	}
	s := d.scanners.Get().(*scanner)
	defer d.scanners.Put(s)
	s.begin(d.t, &Report{})
	s.events = func(e string) { evs[e] = true }
	defer s.end()
	for i := range flows {
		f := &flows[i]
		switch {
		case f.Kind == capture.KindTLSFailure && f.TLS != nil && f.TLS.SNI != "":
			hosts[strings.ToLower(f.TLS.SNI)] = true
		case isRequest(f):
			s.scanRequest(f, i, keys)
			hosts[s.host] = true
			paths[s.host+protocols.URLPath(f.Request.URL)] = true
		}
	}
	return hosts, paths, evs
}

func only(a, b map[string]bool) []string {
	out := []string{}
	for k := range a {
		if !b[k] {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
