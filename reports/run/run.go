// Package run is the run directory: what one telltale run leaves on disk, written
// as the run goes so that an interrupted run still leaves everything up to the
// point it stopped, and read back by the report, baseline, diff and merge tools.
//
// Layout of a run directory:
//
//	run.json                   Manifest: harness, devices, flags, status
//	findings.json              Findings: every spec's result, in the order recorded
//	specs/<NNN>-<slug>.har     the flows of one spec's window (HAR 1.2)
//	flows/<device-slug>.jsonl  optional copy of a device's whole flow log
//	junit.xml, report.json     Ginkgo's own reports (written by the suite)
//	devices/<device-slug>/     a device's own files: its proxy's flow log, settings before and after
//	logs/                      free-form logs (session, simulated phones' ground truth, failed specs' logcat and screenshots)
//	index.html                 the human report, rendered by Finish and `telltale report html`
//
// Several processes may write one run directory at once (Ginkgo parallel
// processes each leasing a phone): the first calls Create, the others Join, and
// every write takes an exclusive lock on <dir>/.lock, so run.json and
// findings.json are always whole, valid JSON replaced by atomic rename.
package run

import (
	"slices"
	"sort"
	"time"

	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/bypass"
	"telltale.dev/harness/leak"
)

// SchemaVersion is the version of run.json and findings.json written by this
// package. Readers refuse a newer version rather than misread it; additive
// changes (new optional fields) keep the number. Version 2: a spec's
// findings are places (one per canary, host, part and chain, with a request
// count, the delay since the planting and a late flag), no longer one per
// request; version 1 files still read, each finding as a place of its own.
const SchemaVersion = 2

// Run status values in Manifest.Status.
const (
	StatusRunning     = "running" // still being written, or the writer died without Finish
	StatusPassed      = "passed"
	StatusFailed      = "failed"
	StatusInterrupted = "interrupted" // stopped by a signal or a suite timeout
)

// Spec states in SpecResult.State.
const (
	StatePassed  = "passed"
	StateFailed  = "failed"
	StateSkipped = "skipped"
)

// Manifest is run.json.
type Manifest struct {
	SchemaVersion int       `json:"schemaVersion"`
	Harness       Harness   `json:"harness"`
	RunID         string    `json:"runId"`
	Start         time.Time `json:"start"`
	End           time.Time `json:"end,omitzero"`
	Status        string    `json:"status"`
	// Reason says why a run that did not pass ended as it did: a failed
	// set-up with its message, an interrupt, how many specs failed.
	Reason string `json:"reason,omitempty"`
	// Pipeline is true for a --pipeline run: each phone's actions ran back
	// to back and their windows overlap (see Findings).
	Pipeline    bool     `json:"pipeline,omitempty"`
	Seed        int64    `json:"seed"`
	Devices     []Device `json:"devices"`
	GinkgoFlags []string `json:"ginkgoFlags,omitempty"`
	// Policy names the leak policy the suite asserted against (free text,
	// e.g. "known-leaks" or a file name).
	Policy string `json:"policy,omitempty"`
	// Shards lists the runs a merged run was made from (telltale report merge).
	Shards []Shard `json:"shards,omitempty"`
}

// Harness identifies the telltale build that made the run.
type Harness struct {
	Version string `json:"version"`
	Commit  string `json:"commit,omitempty"`
}

// Shard is one source run of a merged run.
type Shard struct {
	RunID  string `json:"runId"`
	Status string `json:"status"`
	// Dir is where the shard's own files (junit.xml, report.json, logs/) were
	// copied, relative to the merged run directory.
	Dir string `json:"dir"`
}

// Device is one phone or emulator used in the run.
type Device struct {
	Serial         string `json:"serial"`
	Model          string `json:"model"` // profile name, "redmi-note-8"
	DisplayName    string `json:"displayName,omitempty"`
	Firmware       string `json:"firmware"` // full version, "V11.0.3.0.PCOMIXM"
	Fingerprint    string `json:"fingerprint,omitempty"`
	AndroidVersion string `json:"androidVersion,omitempty"`
	MIUIVersion    string `json:"miuiVersion,omitempty"`
	CAFingerprint  string `json:"caFingerprint,omitempty"` // SHA-256 of the proxy CA installed
	CAStore        string `json:"caStore,omitempty"`       // "system" | "user"
	ProxyImage     string `json:"proxyImage,omitempty"`    // image id of the proxy container
	ProxyMode      string `json:"proxyMode,omitempty"`     // "sinkhole" or "forward": who answers
	// Capture is how the phone's traffic reached the proxy: "proxy" (the
	// proxy setting) or "transparent" (iptables, each app attributed).
	Capture string `json:"capture,omitempty"`
	// Host is the adb server or farm address the device was reached through.
	Host     string   `json:"host,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	// Teardown is when the harness began to take its proxy away from the
	// device: nothing planted should leave the phone after it.
	Teardown time.Time `json:"teardown,omitzero"`
}

// Findings is findings.json.
//
// Schema (version 2): {"schemaVersion": 2, "runId": "...", "specs": [SpecResult...]}
// where each spec has: id (1-based, unique in the run), name (Ginkgo's full
// text), device (serial, see run.json devices), action (devices/profiles
// Action* name), variant (free text, "" for the default), canaries (planted
// values {id,value,kind}), findings (one per place a canary reached: the
// harness/leak Finding of its first request (canary, seq, time, host, url,
// where, chain outermost first, evidence), requests (how many requests
// carried it there), last_seq, planted {seq, time} (the action's start
// mark), delay_ns (from the planting to the first request) and late (true
// when it came after the action's window had ended: attributed by its
// canary, not by time)), capped (requests where a decoding bound stopped
// the detector), diff (hosts/paths/events seen in the window and not when
// idle), tlsFailures (hosts contacted whose traffic could not be
// decrypted), bypassed (connections opened in the window around the proxy:
// proto, remote, app {uid, package}, state), window (flow sequence and time
// range of the action, and
// ended: why it ended, "seen", "drained", "timeout", "settled", "failed" or
// "swept"), flows (count), hosts (per-host flow counts), histogram (flows
// per time bucket across the window), har (relative path), state, failure,
// start, end. In a --pipeline run (run.json pipeline) every window of a
// phone ends at the same sweep, so windows overlap and diff shows more than
// its own action. Unknown fields must be ignored by readers.
type Findings struct {
	SchemaVersion int          `json:"schemaVersion"`
	RunID         string       `json:"runId"`
	Specs         []SpecResult `json:"specs"`
}

// SpecResult is the outcome of one spec: one action on one device.
type SpecResult struct {
	ID      int    `json:"id"` // 0 on input: RecordSpec assigns the next free id
	Name    string `json:"name"`
	Device  string `json:"device"` // serial
	Action  string `json:"action"`
	Variant string `json:"variant,omitempty"` // e.g. "aggregated switch off"

	Canaries    []canary.Canary `json:"canaries,omitempty"`
	Findings    []Finding       `json:"findings,omitempty"`
	Capped      []leak.Capped   `json:"capped,omitempty"`
	Diff        leak.Diff       `json:"diff"`
	TLSFailures []TLSFailure    `json:"tlsFailures,omitempty"`
	// Bypassed are connections the phone opened in the window around the
	// proxy (an app that ignores the proxy setting, QUIC): what they sent
	// was not seen, so no canary found is not "no leak".
	Bypassed []bypass.Bypass `json:"bypassed,omitempty"`
	Window   Window          `json:"window"`

	// Flows, Hosts and Histogram summarise the window's flows; RecordSpec
	// fills them from the flows it is given, so the report never needs to
	// read the HARs.
	Flows     int         `json:"flows"`
	Hosts     []HostCount `json:"hosts,omitempty"`
	Histogram []int       `json:"histogram,omitempty"`
	HAR       string      `json:"har,omitempty"` // relative to the run dir

	State   string    `json:"state"`
	Failure string    `json:"failure,omitempty"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end,omitzero"`
}

// Finding is one place a canary reached: a host, a part of the request and
// a chain of decodings, with the first request that carried it there.
type Finding struct {
	leak.Place
	// Late is true when the first request came after the action's window
	// had ended (a batched upload): it still belongs to the action, by its
	// canary.
	Late bool `json:"late,omitempty"`
}

// AsFindings makes a spec's findings from a leak session's places; late
// says they came after the window.
func AsFindings(places []leak.Place, late bool) []Finding {
	out := make([]Finding, len(places))
	for i, p := range places {
		out[i] = Finding{Place: p, Late: late}
	}
	return out
}

// TLSFailure is a host the device contacted in the window whose TLS we could
// not open (pinning, CA not trusted): a leak there cannot be ruled out.
type TLSFailure struct {
	SNI    string `json:"sni"`
	Alert  string `json:"alert,omitempty"`
	Client string `json:"client,omitempty"`
}

// Window is the span of the flow log that belongs to the action.
type Window struct {
	StartSeq int64     `json:"startSeq"`
	EndSeq   int64     `json:"endSeq"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	// Acted is when the action itself was done (the rest of the window is
	// waiting for what it sends); Ended says why the window ended
	// (harness/attribution's End*).
	Acted time.Time `json:"acted,omitzero"`
	Ended string    `json:"ended,omitempty"`
}

// HostCount is how many flows of the window went to one host.
type HostCount struct {
	Host  string `json:"host"`
	Flows int    `json:"flows"`
}

// HistogramBuckets is the number of time buckets RecordSpec splits a window
// into for the report's timeline.
const HistogramBuckets = 24

// Leaked reports whether the spec found any canary.
func (s SpecResult) Leaked() bool { return len(s.Findings) > 0 }

// Late reports whether any of the spec's leaks came after its window.
func (s SpecResult) Late() bool {
	return slices.ContainsFunc(s.Findings, func(f Finding) bool { return f.Late })
}

// Delay is the longest a canary of the spec took to reach a place: how long
// after the action began the last of its leaks first showed.
func (s SpecResult) Delay() time.Duration {
	var d time.Duration
	for _, f := range s.Findings {
		d = max(d, f.Delay)
	}
	return d
}

// LeakHosts returns the distinct hosts of the spec's findings, sorted.
func (s SpecResult) LeakHosts() []string {
	seen := map[string]bool{}
	var hosts []string
	for _, f := range s.Findings {
		if !seen[f.Host] {
			seen[f.Host] = true
			hosts = append(hosts, f.Host)
		}
	}
	sort.Strings(hosts)
	return hosts
}

// Chains returns the distinct decoding chains of the spec's findings, as
// Chain writes them, in the order first found.
func (s SpecResult) Chains() []string {
	var out []string
	for _, f := range s.Findings {
		if c := Chain(f.Chain); !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// BypassLines are the spec's connections around the proxy, one line each
// ("com.example.app (uid 10187) -> 203.0.113.7:443/tcp"), sorted.
func (s SpecResult) BypassLines() []string {
	var out []string
	for _, b := range s.Bypassed {
		if l := b.String(); !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

// Apps are the distinct apps that sent the spec's findings, sorted; empty
// when the capture could not tell.
func (s SpecResult) Apps() []string {
	var out []string
	for _, f := range s.Findings {
		if f.App != nil && !slices.Contains(out, f.App.String()) {
			out = append(out, f.App.String())
		}
	}
	sort.Strings(out)
	return out
}

// TLSHosts returns the distinct hosts the spec's window could not decrypt, sorted.
func (s SpecResult) TLSHosts() []string {
	var out []string
	for _, t := range s.TLSFailures {
		if !slices.Contains(out, t.SNI) {
			out = append(out, t.SNI)
		}
	}
	sort.Strings(out)
	return out
}

// Key names the spec's row in matrices and baselines: the action, and the
// variant in brackets when there is one ("search [aggregated switch off]").
func (s SpecResult) Key() string {
	if s.Variant == "" {
		return s.Action
	}
	return s.Action + " [" + s.Variant + "]"
}

// Run is a run directory read back.
type Run struct {
	Dir      string
	Manifest Manifest
	Specs    []SpecResult
}

// Device returns the manifest's device with the serial, and whether it exists.
func (r *Run) Device(serial string) (Device, bool) {
	for _, d := range r.Manifest.Devices {
		if d.Serial == serial {
			return d, true
		}
	}
	return Device{}, false
}
