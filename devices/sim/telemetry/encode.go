package telemetry

import (
	"bytes"
	"compress/gzip"
	"crypto/aes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"unicode/utf16"
)

// Wire formats a rule can name.
const (
	// FormatSA is Sensors Analytics: form crc/gzip=1/data_list with
	// data_list = base64(gzip(JSON array of events)).
	FormatSA = "sa"
	// FormatOneTrack is MIUI OneTrack: a key from /track/key_get, then
	// AES-128-ECB/PKCS5(gzip(JSON array)) posted raw with OT_* headers.
	FormatOneTrack = "onetrack"
	// FormatJSONGzip is a JSON body sent with Content-Encoding: gzip.
	FormatJSONGzip = "json-gzip"
	// FormatMistat is a plain JSON body.
	FormatMistat = "mistat"
	// FormatConfig is a GET with the phone's identity in the query.
	FormatConfig = "config"
	// FormatTrackV1 is the legacy OneTrack form with _ei_/_mod_/... fields.
	FormatTrackV1 = "track-v1"
)

// maxDecoded bounds what the decoders inflate, so a bad body cannot exhaust memory.
const maxDecoded = 16 << 20

// JavaHashCode is Java's String.hashCode, which the Sensors Analytics SDK
// sends as crc: s[0]*31^(n-1) + ... over UTF-16 code units, wrapping at 32 bits.
func JavaHashCode(s string) int32 {
	var h int32
	for _, c := range utf16.Encode([]rune(s)) {
		h = 31*h + int32(c)
	}
	return h
}

// Gzip compresses b.
func Gzip(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b) // writes to a bytes.Buffer cannot fail
	_ = zw.Close()
	return buf.Bytes()
}

// Gunzip decompresses b, refusing more than 16 MiB of output.
func Gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, maxDecoded+1))
	if err != nil {
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	if len(out) > maxDecoded {
		return nil, fmt.Errorf("gunzip: more than %d bytes", maxDecoded)
	}
	return out, nil
}

// EncodeSA builds a Sensors Analytics form body for a batch of events.
func EncodeSA(events []map[string]any) ([]byte, error) {
	js, err := json.Marshal(events)
	if err != nil {
		return nil, fmt.Errorf("sensors analytics: %w", err)
	}
	data := base64.StdEncoding.EncodeToString(Gzip(js))
	form := url.Values{}
	form.Set("crc", strconv.Itoa(int(JavaHashCode(data))))
	form.Set("gzip", "1")
	form.Set("data_list", data)
	return []byte(form.Encode()), nil
}

// DecodeSA reverses EncodeSA, checking the crc.
func DecodeSA(body []byte) ([]map[string]any, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("sensors analytics form: %w", err)
	}
	data := form.Get("data_list")
	if crc := form.Get("crc"); crc != strconv.Itoa(int(JavaHashCode(data))) {
		return nil, fmt.Errorf("sensors analytics: crc %s does not match data_list", crc)
	}
	if form.Get("gzip") != "1" {
		return nil, fmt.Errorf("sensors analytics: gzip=%s is not the plain base64+gzip form", form.Get("gzip"))
	}
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, fmt.Errorf("sensors analytics data_list: %w", err)
	}
	js, err := Gunzip(raw)
	if err != nil {
		return nil, err
	}
	var events []map[string]any
	if err := json.Unmarshal(js, &events); err != nil {
		return nil, fmt.Errorf("sensors analytics events: %w", err)
	}
	return events, nil
}

// SealOneTrack encrypts events as OneTrack uploads them.
func SealOneTrack(key []byte, events any) ([]byte, error) {
	js, err := json.Marshal(events)
	if err != nil {
		return nil, fmt.Errorf("onetrack: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("onetrack key: %w", err)
	}
	plain := Gzip(js)
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	plain = append(plain, bytes.Repeat([]byte{byte(pad)}, pad)...)
	out := make([]byte, len(plain))
	for i := 0; i < len(plain); i += aes.BlockSize {
		block.Encrypt(out[i:i+aes.BlockSize], plain[i:i+aes.BlockSize])
	}
	return out, nil
}

// OpenOneTrack decrypts and inflates a OneTrack upload, returning its JSON.
func OpenOneTrack(key, body []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("onetrack key: %w", err)
	}
	if len(body) == 0 || len(body)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("onetrack: body of %d bytes is not whole AES blocks", len(body))
	}
	plain := make([]byte, len(body))
	for i := 0; i < len(body); i += aes.BlockSize {
		block.Decrypt(plain[i:i+aes.BlockSize], body[i:i+aes.BlockSize])
	}
	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > aes.BlockSize || !bytes.Equal(plain[len(plain)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil, errors.New("onetrack: bad PKCS5 padding (wrong key?)")
	}
	return Gunzip(plain[:len(plain)-pad])
}

// KeyReply is the answer to /track/key_get.
type KeyReply struct {
	Code int `json:"code"`
	Data struct {
		Key string `json:"key"`
		SID string `json:"sid"`
	} `json:"data"`
}

// ParseKeyReply reads a key_get reply; the key is base64 (standard) or hex
// of 16, 24 or 32 bytes.
func ParseKeyReply(body []byte) (key []byte, sid string, err error) {
	var r KeyReply
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, "", fmt.Errorf("onetrack key_get reply: %w", err)
	}
	if r.Code != 0 {
		return nil, "", fmt.Errorf("onetrack key_get reply: code %d", r.Code)
	}
	// Hex first: 32 hex digits would also decode as base64, to the wrong bytes.
	for _, dec := range []func(string) ([]byte, error){hex.DecodeString, base64.StdEncoding.DecodeString} {
		if k, err := dec(r.Data.Key); err == nil && (len(k) == 16 || len(k) == 24 || len(k) == 32) {
			return k, r.Data.SID, nil
		}
	}
	return nil, "", fmt.Errorf("onetrack key_get reply: key %q is neither base64 nor hex of an AES key", r.Data.Key)
}
