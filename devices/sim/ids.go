package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"

	"telltale.dev/devices/profiles"
)

// deviceIDs makes a phone's identifiers from its model, firmware and seed:
// the same seed gives the same phone. androidID is 16 hex digits; imei is
// 15 digits with a valid Luhn check digit.
func deviceIDs(prof *profiles.Profile, fw *profiles.Firmware, seed string) (androidID, imei string) {
	sum := sha256.Sum256([]byte(prof.Name + "\x00" + fw.Version + "\x00" + seed))
	return hex.EncodeToString(sum[:8]), imeiFrom(sum[8:16])
}

// serialFrom is ro.serialno for an ANDROID_ID (modeled).
func serialFrom(androidID string) string { return strings.ToUpper(androidID[:12]) }

// imeiFrom makes a 15-digit IMEI-shaped number with a valid Luhn check digit.
func imeiFrom(b []byte) string {
	var d strings.Builder
	d.WriteString("86")
	for i := 0; d.Len() < 14; i++ {
		d.WriteByte('0' + b[i%len(b)]%10)
	}
	s := d.String()
	sum := 0
	for i := 0; i < 14; i++ {
		n := int(s[i] - '0')
		if i%2 == 1 {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return s + strconv.Itoa((10-sum%10)%10)
}
