package leak

// Finding is one canary found in one request, with how it was hidden.
type Finding struct {
	Canary string `json:"canary"` // canary id
	// Entry is the 0-based index of the request in the input's order.
	Entry  int    `json:"entry"`
	Seq    int64  `json:"seq,omitempty"` // the flow's sequence number, when known
	Host   string `json:"host"`
	Method string `json:"method"`
	URL    string `json:"url"`
	// Where is the part of the request: "url", "query:NAME", "header:NAME",
	// "cookie:NAME" or "body".
	Where string `json:"where"`
	// Chain names each decoding step, outermost first, e.g.
	// ["form:data_list", "base64", "gzip", "json:$[1].properties.url"].
	Chain []string `json:"chain"`
	// Evidence is a short excerpt of the decoded bytes around the hit.
	Evidence string `json:"evidence"`
	// Endpoint names the telemetry service the host belongs to, when known.
	Endpoint string `json:"endpoint,omitempty"`
}

// Report is the detector's answer for one capture.
type Report struct {
	Findings []Finding `json:"findings"`
	Entries  int       `json:"entries"` // requests scanned
	Capped   []Capped  `json:"capped"`
}

// Capped notes a request where a bound stopped decoding, so "no finding"
// there is weaker than elsewhere.
type Capped struct {
	Entry int    `json:"entry"`
	Where string `json:"where"`
	// Limit is "depth", "bytes" (decoded bytes per request) or "inflate"
	// (decompression output).
	Limit string `json:"limit"`
}

// Diff is what appeared in an action's window and not in the idle baseline.
type Diff struct {
	Hosts  []string `json:"hosts"`
	Paths  []string `json:"paths"`  // "host/path"
	Events []string `json:"events"` // "event" fields of JSON telemetry
}
