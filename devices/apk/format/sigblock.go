package format

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"io"
)

// The APK Signing Block sits between the zip entries and the central
// directory: u64 size, (u64 length, u32 id, value) pairs, u64 size again,
// then the magic. https://source.android.com/docs/security/features/apksigning/v2
const (
	SigBlockMagic = "APK Sig Block 42"
	V2BlockID     = 0x7109871a
	V3BlockID     = 0xf05368c0
	// ChunkSize is the unit of the content digest.
	ChunkSize = 1 << 20
)

// Signature algorithm ids of APK Signature Scheme v2 and v3.
const (
	SigRSAPSSSHA256   = 0x0101
	SigRSAPSSSHA512   = 0x0102
	SigRSAPKCS1SHA256 = 0x0103
	SigRSAPKCS1SHA512 = 0x0104
	SigECDSASHA256    = 0x0201
	SigECDSASHA512    = 0x0202
	SigDSASHA256      = 0x0301
)

// DigestSHA512 reports whether a signature algorithm's content digest is
// CHUNKED_SHA512 rather than CHUNKED_SHA256.
func DigestSHA512(sigAlg uint32) bool {
	return sigAlg == SigRSAPSSSHA512 || sigAlg == SigRSAPKCS1SHA512 || sigAlg == SigECDSASHA512
}

// ContentDigest is the two-level digest of the three zip sections (entries,
// central directory, end of central directory with its central directory
// offset pointing at the signing block): a digest over each 1 MiB chunk
// (prefixed 0xa5 and the chunk length), then one over the chunk digests
// (prefixed 0x5a and the chunk count). Sections are read in chunks, so a
// large APK is never held in memory whole.
func ContentDigest(sha512Digest bool, sections ...io.Reader) ([]byte, error) {
	newHash := sha256.New
	if sha512Digest {
		newHash = sha512.New
	}
	var chunkDigests []byte
	count := 0
	buf := make([]byte, ChunkSize)
	for _, sec := range sections {
		for {
			n, err := io.ReadFull(sec, buf)
			if n > 0 {
				h := newHash()
				h.Write(binary.LittleEndian.AppendUint32([]byte{0xa5}, uint32(n)))
				h.Write(buf[:n])
				chunkDigests = h.Sum(chunkDigests)
				count++
			}
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				break
			}
			if err != nil {
				return nil, err
			}
		}
	}
	top := newHash()
	top.Write(binary.LittleEndian.AppendUint32([]byte{0x5a}, uint32(count)))
	top.Write(chunkDigests)
	return top.Sum(nil), nil
}
