package leak

import (
	"time"

	"telltale.dev/harness/capture"
)

// Finding is one canary found in one request, with how it was hidden.
type Finding struct {
	Canary string `json:"canary"` // canary id
	// Entry is the 0-based index of the request in the input's order.
	Entry int   `json:"entry"`
	Seq   int64 `json:"seq,omitempty"` // the flow's sequence number, when known
	// Time is when the request started (the flow's Start), when known.
	Time   time.Time `json:"time,omitzero"`
	Host   string    `json:"host"`
	Method string    `json:"method"`
	URL    string    `json:"url"`
	// Where is the part of the request: "host", "url" (the path), "query"
	// (a bare query), "query:NAME", "fragment", "header:NAME", "cookie:NAME",
	// "body" or "websocket".
	Where string `json:"where"`
	// Chain names each decoding step, outermost first, e.g.
	// ["form:data_list", "base64", "gzip", "json:$[1].properties.url"].
	Chain []string `json:"chain"`
	// Evidence is a short excerpt of the decoded bytes around the hit.
	Evidence string `json:"evidence"`
	// Endpoint names the telemetry service the host belongs to, when known.
	Endpoint string `json:"endpoint,omitempty"`
	// App is the app on the phone that sent the request, when the capture
	// could tell (the flow's App).
	App *capture.App `json:"app,omitempty"`
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

// Place is one canary found at one place: a host, a part of the request and
// a chain of decodings. An SDK that retries a batch, or sends the same event
// in two uploads, makes one Place with Requests > 1, not several.
type Place struct {
	// Finding is the first request (lowest seq) that carried it there.
	Finding
	// Requests counts the requests that carried it there; LastSeq is the
	// latest of them.
	Requests int   `json:"requests"`
	LastSeq  int64 `json:"last_seq,omitempty"`
	// Planted is when the canary was planted (the seq and time given to
	// Session.Plant). Delay runs from the planting to the first request; it
	// is zero when either time is unknown.
	Planted Planting      `json:"planted"`
	Delay   time.Duration `json:"delay_ns,omitempty"`
}

// Planting is the point in a session's flow log where canaries were planted:
// usually the start mark of the action that planted them.
type Planting struct {
	Seq  int64     `json:"seq"`
	Time time.Time `json:"time,omitzero"`
}

// Query selects findings of a Session. The zero Query selects everything.
type Query struct {
	// Canaries are the canary ids wanted; none: every canary.
	Canaries []string
	// After and Before bound the flows' seqs: only requests with
	// After < Seq < Before count. Zero leaves that side open (the proxy's
	// seqs start at 1).
	After, Before int64
}
