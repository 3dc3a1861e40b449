package apk

import (
	"bytes"
	"encoding/binary"
	"io"

	"telltale.dev/devices/apk/format"
)

// zipLayout is where an APK's zip sections lie: the byte ranges APK
// Signature Schemes v2 and v3 digest, found the way Android's
// ApkSigningBlockUtils finds them.
type zipLayout struct {
	r        io.ReaderAt
	cdOffset int64 // start of the central directory
	cdSize   int64
	eocdOff  int64 // start of the end of central directory record
	eocd     []byte
}

const (
	eocdSize       = 22
	eocdSig        = 0x06054b50
	zip64LocSig    = 0x07064b50
	zip64LocSize   = 20
	maxZipComment  = 0xffff
	eocdCDSizeOff  = 12
	eocdCDOffset   = 16
	eocdCommentOff = 20
)

// locateZip finds the end of central directory record (scanning back over
// a comment of up to 64 KiB) and the central directory it points at.
func locateZip(r io.ReaderAt, size int64) (*zipLayout, error) {
	tail := min(size, eocdSize+maxZipComment)
	buf := make([]byte, tail)
	if _, err := r.ReadAt(buf, size-tail); err != nil && err != io.EOF {
		return nil, err
	}
	for i := len(buf) - eocdSize; i >= 0; i-- {
		if binary.LittleEndian.Uint32(buf[i:]) != eocdSig {
			continue
		}
		// The comment length must account for exactly the rest of the file.
		if int(binary.LittleEndian.Uint16(buf[i+eocdCommentOff:])) != len(buf)-i-eocdSize {
			continue
		}
		z := &zipLayout{r: r, eocdOff: size - tail + int64(i), eocd: buf[i:]}
		z.cdSize = int64(binary.LittleEndian.Uint32(z.eocd[eocdCDSizeOff:]))
		z.cdOffset = int64(binary.LittleEndian.Uint32(z.eocd[eocdCDOffset:]))
		return z, nil
	}
	return nil, noSignature("Not an APK file: ZIP End of Central Directory record not found")
}

// signingBlock returns the APK Signing Block's pairs, checking what
// ApkSigningBlockUtils.findApkSigningBlock checks; every failure means "no
// signature" to Android, not "bad signature".
func (z *zipLayout) signingBlock() (pairs []byte, start int64, err error) {
	if z.eocdOff >= zip64LocSize {
		loc := make([]byte, 4)
		if _, err := z.r.ReadAt(loc, z.eocdOff-zip64LocSize); err == nil && binary.LittleEndian.Uint32(loc) == zip64LocSig {
			return nil, 0, noSignature("ZIP64 APK not supported")
		}
	}
	if z.cdOffset > z.eocdOff {
		return nil, 0, noSignature("ZIP Central Directory offset out of range: %d. ZIP End of Central Directory offset: %d", z.cdOffset, z.eocdOff)
	}
	if z.cdOffset+z.cdSize != z.eocdOff {
		return nil, 0, noSignature("ZIP Central Directory is not immediately followed by End of Central Directory")
	}
	const minBlock = 32
	if z.cdOffset < minBlock {
		return nil, 0, noSignature("APK too small for APK Signing Block. ZIP Central Directory offset: %d", z.cdOffset)
	}
	footer := make([]byte, 24)
	if _, err := z.r.ReadAt(footer, z.cdOffset-24); err != nil {
		return nil, 0, err
	}
	if string(footer[8:]) != format.SigBlockMagic {
		return nil, 0, noSignature("No APK Signing Block before ZIP Central Directory")
	}
	sizeInFooter := binary.LittleEndian.Uint64(footer)
	if sizeInFooter < 24 || sizeInFooter > 1<<31-1-8 {
		return nil, 0, noSignature("APK Signing Block size out of range: %d", sizeInFooter)
	}
	total := int64(sizeInFooter) + 8
	start = z.cdOffset - total
	if start < 0 {
		return nil, 0, noSignature("APK Signing Block offset out of range: %d", start)
	}
	if total > maxSigningBlock {
		return nil, 0, noSignature("APK Signing Block of %d bytes is larger than the %d this verifier reads", total, maxSigningBlock)
	}
	block := make([]byte, total)
	if _, err := z.r.ReadAt(block, start); err != nil {
		return nil, 0, err
	}
	if sizeInHeader := binary.LittleEndian.Uint64(block); sizeInHeader != sizeInFooter {
		return nil, 0, noSignature("APK Signing Block sizes in header and footer do not match: %d vs %d", sizeInHeader, sizeInFooter)
	}
	return block[8 : total-24], start, nil
}

// maxSigningBlock bounds what is read into memory for the signing block;
// real ones are a few KiB, padded to 4 KiB by newer tools.
const maxSigningBlock = 16 << 20

// schemeBlock returns the value of the pair with id in the signing block.
func schemeBlock(pairs []byte, id uint32) ([]byte, error) {
	for n := 1; len(pairs) > 0; n++ {
		if len(pairs) < 8 {
			return nil, noSignature("Insufficient data to read size of APK Signing Block entry #%d", n)
		}
		l := binary.LittleEndian.Uint64(pairs)
		pairs = pairs[8:]
		if l < 4 || l > 1<<31-1 {
			return nil, noSignature("APK Signing Block entry #%d size out of range: %d", n, l)
		}
		if l > uint64(len(pairs)) {
			return nil, noSignature("APK Signing Block entry #%d size out of range: %d, available: %d", n, l, len(pairs))
		}
		if binary.LittleEndian.Uint32(pairs) == id {
			return pairs[4:l], nil
		}
		pairs = pairs[l:]
	}
	return nil, noSignature("No block with ID %d in APK Signing Block.", int32(id))
}

// sections returns readers over the three digested ranges, with the copy of
// the end of central directory record pointing its central directory
// offset at the signing block, as the schemes define it.
func (z *zipLayout) sections(blockStart int64) []io.Reader {
	eocd := append([]byte(nil), z.eocd...)
	binary.LittleEndian.PutUint32(eocd[eocdCDOffset:], uint32(blockStart))
	return []io.Reader{
		io.NewSectionReader(z.r, 0, blockStart),
		io.NewSectionReader(z.r, z.cdOffset, z.cdSize),
		bytes.NewReader(eocd),
	}
}
