package leak

import (
	"bytes"
	"compress/gzip"
	"crypto/aes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"strings"

	"telltale.dev/harness/capture"
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

// OneTrack decodes MIUI OneTrack uploads. The phone gets a key from
// /track/key_get, whose reply is {"code":0,"data":{"key":K,"sid":S}} (K as
// base64 or hex), and later posts AES-ECB (PKCS#7) ciphertext with the header
// OT_SID: S. That the reply carries the key in the clear (inside TLS) is our
// model of the exchange (see telemetry.md), not a published fact.
type OneTrack struct{}

// Name implements KeyedDecoder.
func (OneTrack) Name() string { return "onetrack-aes" }

// Learn implements KeyedDecoder.
func (OneTrack) Learn(f *capture.Flow) []Key {
	if f.Response == nil || !strings.HasSuffix(urlPath(f.Request.URL), "/track/key_get") {
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
	var reply struct {
		Code *int `json:"code"`
		Data struct {
			Key string `json:"key"`
			Sid string `json:"sid"`
		} `json:"data"`
	}
	if json.Unmarshal(body, &reply) != nil || reply.Code == nil || *reply.Code != 0 || reply.Data.Sid == "" {
		return nil
	}
	secret := parseKey(reply.Data.Key)
	if secret == nil {
		return nil
	}
	return []Key{{ID: reply.Data.Sid, Secret: secret}}
}

// parseKey accepts an AES key as hex or base64 (standard or URL, padded or
// not).
func parseKey(s string) []byte {
	valid := func(k []byte) bool { return len(k) == 16 || len(k) == 24 || len(k) == 32 }
	if k, err := hex.DecodeString(s); err == nil && valid(k) {
		return k
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil && valid(k) {
			return k
		}
	}
	return nil
}

// Open implements KeyedDecoder.
func (OneTrack) Open(f *capture.Flow, keys []Key) ([]byte, bool) {
	sid := headerValue(f.Request.Headers, "OT_SID")
	body := f.Request.Body
	if sid == "" || len(body) == 0 || len(body)%aes.BlockSize != 0 {
		return nil, false
	}
	// The newest key with this sid first: a re-keyed session replaces it.
	for i := len(keys) - 1; i >= 0; i-- {
		if keys[i].ID != sid {
			continue
		}
		if plain, ok := decryptECB(keys[i].Secret, body); ok {
			return plain, true
		}
	}
	return nil, false
}

// decryptECB decrypts AES-ECB with PKCS#7 padding; a bad pad means the key
// was wrong.
func decryptECB(key, ct []byte) ([]byte, bool) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, false
	}
	out := make([]byte, len(ct))
	for i := 0; i < len(ct); i += aes.BlockSize {
		block.Decrypt(out[i:i+aes.BlockSize], ct[i:i+aes.BlockSize])
	}
	pad := int(out[len(out)-1])
	if pad == 0 || pad > aes.BlockSize {
		return nil, false
	}
	for _, c := range out[len(out)-pad:] {
		if int(c) != pad {
			return nil, false
		}
	}
	return out[:len(out)-pad], true
}

func urlPath(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
		if j := strings.IndexByte(u, '/'); j >= 0 {
			u = u[j:]
		} else {
			u = "/"
		}
	}
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	return u
}
