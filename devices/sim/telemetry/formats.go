package telemetry

// Wire formats a rule can name; the formats themselves are described in
// telltale.dev/protocols.
const (
	FormatSA       = "sa"        // protocols.EncodeSA
	FormatOneTrack = "onetrack"  // protocols.SealOneTrack after the key exchange
	FormatJSONGzip = "json-gzip" // a JSON body sent with Content-Encoding: gzip
	FormatMistat   = "mistat"    // a plain JSON body
	FormatConfig   = "config"    // a GET with the phone's identity in the query
	FormatTrackV1  = "track-v1"  // the legacy OneTrack form with _ei_/_mod_/... fields
)
