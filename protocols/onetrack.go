package protocols

import (
	"bytes"
	"crypto/aes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// OneTrack, the SDK of MIUI's system apps. Wire format: telemetry.md
// "OneTrack" [S]; timing: miui-ui.md section 8, from decompiled SDK smali
// [S]. That the key_get reply carries the AES key in the clear (inside TLS),
// so a capture that holds the exchange can decrypt later uploads, is modeled:
// the real SDK RSA-encrypts a key it made.
const (
	// OneTrackKeyPath is the key exchange: the phone posts the form
	// secretKey=<base64 RSA(key)>&sign=<md5> and gets {"code":0,"data":{"key":K,"sid":S}}.
	OneTrackKeyPath = "/track/key_get"
	// OneTrackUploadPath takes AES-ECB/PKCS5(gzip(JSON array of events))
	// as application/octet-stream with the OT_* headers below.
	OneTrackUploadPath = "/track/v4"

	OneTrackHeaderSID      = "OT_SID"
	OneTrackHeaderTime     = "OT_ts"
	OneTrackHeaderNet      = "OT_net"
	OneTrackHeaderSender   = "OT_sender" // the reporting package, unencoded
	OneTrackHeaderProtocol = "OT_protocol"
	OneTrackProtocol       = "3.0"

	// Reply codes: 0 accepted, -3 the key expired (fetch a new one).
	OneTrackOK         = 0
	OneTrackKeyExpired = -3

	// OneTrackRetryMin and OneTrackRetryMax bound the upload retry: 10 s
	// after a failure, doubling to 20 min, back to 10 s on success
	// (`c/p.smali` "UploadTimer"). While the retry is pending no other
	// upload is scheduled; the retry uploads every priority.
	OneTrackRetryMin = 10 * time.Second
	OneTrackRetryMax = 20 * time.Minute

	// OneTrackPriorities are the priority levels an event can have; the
	// screen turning on schedules an upload of priority 0, off of 2, and a
	// network coming up of all three (decompiled com/xiaomi/onetrack/c/c.java
	// and c/l.java).
	OneTrackPriorities = 3

	// OneTrackDatabase is the SDK's SQLite file, table events
	// (com/xiaomi/onetrack/c/b.java "EventManager").
	OneTrackDatabase = "onetrack"
	// OneTrackMaxEvent: a larger event is discarded when added.
	OneTrackMaxEvent = 204800
	// OneTrackMaxBatch: an upload stops adding events (ordered by priority,
	// then age) once their JSON reaches this length.
	OneTrackMaxBatch = 307200
	// OneTrackSDKVersion is the sdk_ver the decompiled SDK sends.
	OneTrackSDKVersion = "1.1.5"
)

// OneTrackUploadDelay is how long an event of a priority waits before upload
// (`b/n.smali` getUploadInterval(prio) looks up level prio+1; defaults
// 1 -> 1 s, 2 -> 15 s, 3 -> 15 min; 60 s when the lookup fails). Which
// priority each MIUI event uses is not known [?].
func OneTrackUploadDelay(priority int) time.Duration {
	switch priority + 1 {
	case 1:
		return time.Second
	case 2:
		return 15 * time.Second
	case 3:
		return 15 * time.Minute
	}
	return time.Minute
}

// OneTrackKeyReply is the answer to OneTrackKeyPath.
type OneTrackKeyReply struct {
	Code int `json:"code"`
	Data struct {
		Key string `json:"key"`
		SID string `json:"sid"`
	} `json:"data"`
}

// NewOneTrackKeyReply makes the reply a sinkhole gives the key exchange: a
// fresh AES-128 key and session id, so the client goes on to upload events
// encrypted with it.
func NewOneTrackKeyReply() []byte {
	var key [16]byte
	var sid [12]byte
	_, _ = rand.Read(key[:]) // crypto/rand.Read does not fail
	_, _ = rand.Read(sid[:])
	return OneTrackKeyReplyFor(key[:], hex.EncodeToString(sid[:]))
}

// OneTrackKeyReplyFor is the key exchange reply handing out key (as base64)
// for session sid.
func OneTrackKeyReplyFor(key []byte, sid string) []byte {
	var r OneTrackKeyReply
	r.Data.Key, r.Data.SID = base64.StdEncoding.EncodeToString(key), sid
	b, _ := json.Marshal(r) // a struct of strings always marshals
	return b
}

// ParseOneTrackKeyReply reads a key_get reply body (already decompressed).
func ParseOneTrackKeyReply(body []byte) (key []byte, sid string, err error) {
	var r struct {
		Code *int `json:"code"`
		Data struct {
			Key string `json:"key"`
			SID string `json:"sid"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, "", fmt.Errorf("onetrack key_get reply: %w", err)
	}
	if r.Code == nil || *r.Code != OneTrackOK {
		return nil, "", errors.New("onetrack key_get reply: no code 0")
	}
	if r.Data.SID == "" {
		return nil, "", errors.New("onetrack key_get reply: no sid")
	}
	if key = ParseAESKey(r.Data.Key); key == nil {
		return nil, "", fmt.Errorf("onetrack key_get reply: key %q is neither hex nor base64 of an AES key", r.Data.Key)
	}
	return key, r.Data.SID, nil
}

// ParseAESKey accepts an AES key as hex or base64 (standard or URL, padded
// or not); nil when it is none of them.
func ParseAESKey(s string) []byte {
	valid := func(k []byte) bool { return len(k) == 16 || len(k) == 24 || len(k) == 32 }
	// Hex first: 32 hex digits also decode as base64, to the wrong bytes.
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

// SealOneTrack encrypts events as OneTrack uploads them.
func SealOneTrack(key []byte, events any) ([]byte, error) {
	js, err := json.Marshal(events)
	if err != nil {
		return nil, fmt.Errorf("onetrack: %w", err)
	}
	return EncryptECB(key, Gzip(js))
}

// OpenOneTrack decrypts and inflates an upload, returning its JSON.
func OpenOneTrack(key, body []byte) ([]byte, error) {
	plain, err := DecryptECB(key, body)
	if err != nil {
		return nil, fmt.Errorf("onetrack: %w", err)
	}
	return Gunzip(plain)
}

// ErrBadPadding is a PKCS#5/7 padding that does not check out: almost always
// the wrong key.
var ErrBadPadding = errors.New("bad PKCS#5 padding (wrong key?)")

// EncryptECB is AES-ECB with PKCS#5/7 padding, as OneTrack uses it.
func EncryptECB(key, plain []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes key: %w", err)
	}
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	buf := append(bytes.Clone(plain), bytes.Repeat([]byte{byte(pad)}, pad)...)
	for i := 0; i < len(buf); i += aes.BlockSize {
		block.Encrypt(buf[i:i+aes.BlockSize], buf[i:i+aes.BlockSize])
	}
	return buf, nil
}

// DecryptECB reverses EncryptECB.
func DecryptECB(key, ct []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes key: %w", err)
	}
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%d bytes are not whole AES blocks", len(ct))
	}
	out := make([]byte, len(ct))
	for i := 0; i < len(ct); i += aes.BlockSize {
		block.Decrypt(out[i:i+aes.BlockSize], ct[i:i+aes.BlockSize])
	}
	pad := int(out[len(out)-1])
	if pad == 0 || pad > aes.BlockSize {
		return nil, ErrBadPadding
	}
	for _, c := range out[len(out)-pad:] {
		if int(c) != pad {
			return nil, ErrBadPadding
		}
	}
	return out[:len(out)-pad], nil
}
