package leak

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"

	"telltale.dev/harness/capture"
	"telltale.dev/protocols"
)

// Key is a secret a keyed decoder learned from the capture, with the id
// later requests use to name it (a session id, a key version).
type Key struct {
	ID     string
	Secret []byte
}

// KeyedDecoder opens request bodies encrypted with a key the same capture
// exchanged earlier. Implement it for a vendor's scheme and pass it with
// WithDecoder. Implementations keep no state: the detector collects keys per
// Scan, so one decoder serves concurrent scans.
type KeyedDecoder interface {
	// Name is the chain step for bodies it opened, e.g. "onetrack-aes".
	Name() string
	// Learn returns the keys this flow hands out, if any. It sees every
	// request of the capture before any Open.
	Learn(f *capture.Flow) []Key
	// Open returns the decrypted request body when one of keys applies.
	Open(f *capture.Flow, keys []Key) ([]byte, bool)
}

// OneTrack decodes MIUI OneTrack uploads (protocols: the key exchange at
// OneTrackKeyPath, then AES-ECB bodies naming the key by their OT_SID header).
type OneTrack struct{}

// Name implements KeyedDecoder.
func (OneTrack) Name() string { return "onetrack-aes" }

// Learn implements KeyedDecoder.
func (OneTrack) Learn(f *capture.Flow) []Key {
	if f.Response == nil || !strings.HasSuffix(protocols.URLPath(f.Request.URL), protocols.OneTrackKeyPath) {
		return nil
	}
	body := f.Response.Body
	if strings.Contains(strings.ToLower(headerValue(f.Response.Headers, "Content-Encoding")), "gzip") {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil
		}
		// A key reply is tiny; refuse to inflate more than a page of it.
		if body, err = io.ReadAll(io.LimitReader(zr, 64<<10)); err != nil {
			return nil
		}
	}
	secret, sid, err := protocols.ParseOneTrackKeyReply(body)
	if err != nil {
		return nil
	}
	return []Key{{ID: sid, Secret: secret}}
}

// Open implements KeyedDecoder.
func (OneTrack) Open(f *capture.Flow, keys []Key) ([]byte, bool) {
	sid := headerValue(f.Request.Headers, protocols.OneTrackHeaderSID)
	if sid == "" || len(f.Request.Body) == 0 {
		return nil, false
	}
	// The newest key with this sid first: a re-keyed session replaces it.
	for i := len(keys) - 1; i >= 0; i-- {
		if keys[i].ID != sid {
			continue
		}
		if plain, err := protocols.DecryptECB(keys[i].Secret, f.Request.Body); err == nil {
			return plain, true
		}
	}
	return nil, false
}
