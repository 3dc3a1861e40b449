package leak

import "telltale.dev/protocols"

// Endpoint names the telemetry service behind host (a port is ignored).
func Endpoint(host string) (name string, ok bool) {
	s, ok := protocols.Lookup(host)
	return s.Name, ok
}
