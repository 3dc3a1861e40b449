package run

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteMatrix writes the leak matrix as text, one line per spec: the
// device, the action, its verdict (as the HTML report words it: "LEAKED
// late" when a leak came after the action's window), where the canary went
// and by which chains, or for a spec that planted nothing what its window
// added, or for one whose connections went around the proxy which app to
// where; the apps that sent the leaks (when the capture could tell); how
// long after the action began its last leak first showed; and the spec's
// state.
func (r *Run) WriteMatrix(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DEVICE\tACTION\tVERDICT\tTO\tVIA\tAPP\tDELAY\tSPEC")
	for _, s := range r.Specs {
		dev := s.Device
		if d, ok := r.Device(s.Device); ok {
			dev = d.Model + " " + d.Firmware
		}
		to, via, app, delay := "-", "-", "-", "-"
		if apps := s.Apps(); len(apps) > 0 {
			app = strings.Join(apps, ",")
		}
		if d := s.Delay(); d > 0 {
			delay = d.Round(100 * time.Millisecond).String()
		}
		switch {
		case s.Leaked():
			to = strings.Join(s.LeakHosts(), ",")
			via = strings.Join(s.Chains(), "; ")
		case len(s.Bypassed) > 0:
			to = "around the proxy: " + strings.Join(s.BypassLines(), "; ")
		case len(s.TLSFailures) > 0:
			to = "not readable: " + strings.Join(s.TLSHosts(), ",")
		case len(s.Canaries) == 0 && len(s.Diff.Hosts) > 0:
			to = "new: " + strings.Join(s.Diff.Hosts, ",")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", dev, s.Key(), s.Verdict().Text, to, via, app, delay, s.State)
	}
	return tw.Flush()
}
