package apk

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"telltale.dev/devices/apk/format"
)

// This file verifies APK Signature Schemes v2 and v3 the way Android's
// ApkSignatureSchemeV2Verifier and ApkSignatureSchemeV3Verifier do
// (frameworks/base core/java/android/util/apk), with their exception texts,
// since `pm install` prints them.

// signed is the outcome of a successful verification.
type signed struct {
	scheme int
	certs  []*x509.Certificate
}

// verifyScheme verifies the v2 or v3 block of the APK for a platform at
// API level sdk. A *notFound error means the APK has no such signature.
func verifyScheme(z *zipLayout, scheme, sdk int) (*signed, error) {
	id := uint32(format.V2BlockID)
	if scheme == 3 {
		id = format.V3BlockID
	}
	pairs, start, err := z.signingBlock()
	if err != nil {
		return nil, err
	}
	block, err := schemeBlock(pairs, id)
	if err != nil {
		return nil, err
	}
	signers, err := lpSlice(&block)
	if err != nil {
		return nil, throw(err, "Failed to read list of signers")
	}
	digests := map[bool][]byte{} // keyed by "is SHA-512"
	var certs []*x509.Certificate
	count := 0
	for len(signers) > 0 {
		if scheme == 2 {
			count++
		}
		signer, err := lpSlice(&signers)
		if err == nil {
			certs, err = verifySigner(signer, scheme, sdk, digests)
		}
		if errors.Is(err, errOtherPlatform) {
			continue
		}
		if err != nil {
			return nil, throw(err, "Failed to parse/verify signer #%d block", count)
		}
		if scheme == 3 {
			count++
		}
	}
	switch {
	case count < 1 || certs == nil:
		return nil, throw(nil, "No signers found")
	case scheme == 3 && count != 1:
		return nil, throw(nil, "APK Signature Scheme V3 only supports one signer: multiple signers found.")
	case len(digests) == 0:
		return nil, throw(nil, "No content digests found")
	}
	if err := verifyIntegrity(z, start, digests); err != nil {
		return nil, err
	}
	return &signed{scheme: scheme, certs: certs}, nil
}

// errOtherPlatform is PlatformNotSupportedException: a v3 signer meant for
// other API levels, which Android skips.
var errOtherPlatform = errors.New("signer not supported by this platform version")

// verifyIntegrity recomputes the content digests the signers vouched for.
func verifyIntegrity(z *zipLayout, blockStart int64, want map[bool][]byte) error {
	for _, sha512 := range []bool{false, true} {
		expected, ok := want[sha512]
		if !ok {
			continue
		}
		got, err := format.ContentDigest(sha512, z.sections(blockStart)...)
		if err != nil {
			return throw(err, "Failed to compute digest(s) of contents")
		}
		if !bytes.Equal(got, expected) {
			return throw(nil, "%s digest of contents did not verify", digestName(sha512))
		}
	}
	return nil
}

func digestName(sha512 bool) string {
	if sha512 {
		return "SHA-512"
	}
	return "SHA-256"
}

// verifySigner checks one signer block and records its content digest.
func verifySigner(signer []byte, scheme, sdk int, digests map[bool][]byte) ([]*x509.Certificate, error) {
	signedData, err := lpSlice(&signer)
	if err != nil {
		return nil, err
	}
	var minSDK, maxSDK uint32
	if scheme == 3 {
		if minSDK, err = u32(&signer); err == nil {
			maxSDK, err = u32(&signer)
		}
		if err != nil {
			return nil, err
		}
		if int64(sdk) < int64(int32(minSDK)) || int64(sdk) > int64(int32(maxSDK)) {
			return nil, errOtherPlatform
		}
	}
	sigs, err := lpSlice(&signer)
	if err != nil {
		return nil, err
	}
	publicKey, err := lpSlice(&signer)
	if err != nil {
		return nil, err
	}

	var sigAlgs []uint32
	best, bestSig := uint32(0), []byte(nil)
	for n := 1; len(sigs) > 0; n++ {
		rec, err := lpSlice(&sigs)
		if err != nil {
			return nil, throw(err, "Failed to parse signature record #%d", n)
		}
		if len(rec) < 8 {
			return nil, throw(nil, "Signature record too short")
		}
		alg, _ := u32(&rec)
		sigAlgs = append(sigAlgs, alg)
		if !supportedAlg(alg) {
			continue
		}
		if bestSig == nil || format.DigestSHA512(alg) && !format.DigestSHA512(best) {
			if bestSig, err = lpSlice(&rec); err != nil {
				return nil, throw(err, "Failed to parse signature record #%d", n)
			}
			best = alg
		}
	}
	if bestSig == nil {
		if len(sigAlgs) == 0 {
			return nil, throw(nil, "No signatures found")
		}
		return nil, throw(nil, "No supported signatures found")
	}
	if err := checkSignature(best, publicKey, signedData, bestSig); err != nil {
		return nil, err
	}

	// The signature over signedData holds; now read what it vouches for.
	digestsRec, err := lpSlice(&signedData)
	if err != nil {
		return nil, err
	}
	var digestAlgs []uint32
	var content []byte
	for n := 1; len(digestsRec) > 0; n++ {
		rec, err := lpSlice(&digestsRec)
		if err == nil && len(rec) < 8 {
			err = throw(nil, "Record too short")
		}
		var alg uint32
		if err == nil {
			alg, _ = u32(&rec)
			if alg == best {
				content, err = lpSlice(&rec)
			}
		}
		if err != nil {
			return nil, throw(err, "Failed to parse digest record #%d", n)
		}
		digestAlgs = append(digestAlgs, alg)
	}
	if !slices.Equal(sigAlgs, digestAlgs) {
		return nil, throw(nil, "Signature algorithms don't match between digests and signatures records")
	}
	sha512 := format.DigestSHA512(best)
	if prev, ok := digests[sha512]; ok && !bytes.Equal(prev, content) {
		return nil, throw(nil, "%s contents digest does not match the digest specified by a preceding signer", digestName(sha512))
	}
	digests[sha512] = content

	certsRec, err := lpSlice(&signedData)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for n := 1; len(certsRec) > 0; n++ {
		der, err := lpSlice(&certsRec)
		if err != nil {
			return nil, err
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, throw(err, "Failed to decode certificate #%d", n)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, throw(nil, "No certificates listed")
	}
	if !bytes.Equal(certs[0].RawSubjectPublicKeyInfo, publicKey) {
		return nil, throw(nil, "Public key mismatch between certificate and signature record")
	}
	if scheme == 3 {
		signedMin, err := u32(&signedData)
		if err != nil {
			return nil, err
		}
		if signedMin != minSDK {
			return nil, throw(nil, "minSdkVersion mismatch between signed and unsigned in v3 signer block.")
		}
		signedMax, err := u32(&signedData)
		if err != nil {
			return nil, err
		}
		if signedMax != maxSDK {
			return nil, throw(nil, "maxSdkVersion mismatch between signed and unsigned in v3 signer block.")
		}
	}
	attrs, err := lpSlice(&signedData)
	if err != nil {
		return nil, err
	}
	if scheme == 2 {
		if err := checkStrippingProtection(attrs); err != nil {
			return nil, err
		}
	}
	// v3's proof-of-rotation attribute (key rotation lineage) is not
	// checked: modeled as an APK whose signer never rotated its key.
	return certs, nil
}

// strippingProtectionID marks a v2 signer of an APK that also has a v3
// signature, so that stripping v3 is noticed.
const strippingProtectionID = 0xbeeff00d

func checkStrippingProtection(attrs []byte) error {
	for len(attrs) > 0 {
		a, err := lpSlice(&attrs)
		if err != nil {
			return err
		}
		if len(a) < 4 {
			return throw(nil, "Remaining buffer too short to contain additional attribute ID. Remaining: %d", len(a))
		}
		id, _ := u32(&a)
		if id != strippingProtectionID {
			continue
		}
		if len(a) < 4 {
			return throw(nil, "V2 Signature Scheme Stripping Protection Attribute  value too small.  Expected 4 bytes, but found %d", len(a))
		}
		if v, _ := u32(&a); v == 3 {
			return throw(nil, "V2 signature indicates APK is signed using APK Signature Scheme v3, but none was found. Signature stripped?")
		}
	}
	return nil
}

// supportedAlg lists the algorithms this verifier checks. Android also
// accepts DSA and the verity variants; an APK signed only with those is
// refused here ("No supported signatures found"): modeled, as no tool
// telltale meets signs that way by default.
func supportedAlg(alg uint32) bool {
	switch alg {
	case format.SigRSAPSSSHA256, format.SigRSAPSSSHA512, format.SigRSAPKCS1SHA256,
		format.SigRSAPKCS1SHA512, format.SigECDSASHA256, format.SigECDSASHA512:
		return true
	}
	return false
}

// jcaName is the algorithm as Java names it in the verifier's messages.
func jcaName(alg uint32) string {
	switch alg {
	case format.SigRSAPSSSHA256:
		return "SHA256withRSA/PSS"
	case format.SigRSAPSSSHA512:
		return "SHA512withRSA/PSS"
	case format.SigRSAPKCS1SHA256:
		return "SHA256withRSA"
	case format.SigRSAPKCS1SHA512:
		return "SHA512withRSA"
	case format.SigECDSASHA256:
		return "SHA256withECDSA"
	}
	return "SHA512withECDSA"
}

func checkSignature(alg uint32, publicKey, msg, sig []byte) error {
	name := jcaName(alg)
	key, err := x509.ParsePKIXPublicKey(publicKey)
	if err != nil {
		return throw(err, "Failed to verify %s signature", name)
	}
	h, hashID := sha256.New(), crypto.SHA256
	if format.DigestSHA512(alg) {
		h, hashID = sha512.New(), crypto.SHA512
	}
	h.Write(msg)
	sum := h.Sum(nil)
	ok := false
	switch alg {
	case format.SigRSAPKCS1SHA256, format.SigRSAPKCS1SHA512, format.SigRSAPSSSHA256, format.SigRSAPSSSHA512:
		pub, isRSA := key.(*rsa.PublicKey)
		if !isRSA {
			return throw(fmt.Errorf("%T is not an RSA key", key), "Failed to verify %s signature", name)
		}
		if alg == format.SigRSAPKCS1SHA256 || alg == format.SigRSAPKCS1SHA512 {
			ok = rsa.VerifyPKCS1v15(pub, hashID, sum, sig) == nil
		} else {
			ok = rsa.VerifyPSS(pub, hashID, sum, sig, &rsa.PSSOptions{SaltLength: hashID.Size(), Hash: hashID}) == nil
		}
	default:
		pub, isEC := key.(*ecdsa.PublicKey)
		if !isEC {
			return throw(fmt.Errorf("%T is not an EC key", key), "Failed to verify %s signature", name)
		}
		ok = ecdsa.VerifyASN1(pub, sum, sig)
	}
	if !ok {
		return throw(nil, "%s signature did not verify", name)
	}
	return nil
}

// lpSlice takes a u32-length-prefixed field off the front of b, with the
// texts of ApkSigningBlockUtils.getLengthPrefixedSlice.
func lpSlice(b *[]byte) ([]byte, error) {
	if len(*b) < 4 {
		return nil, throw(nil, "Remaining buffer too short to contain length of length-prefixed field. Remaining: %d", len(*b))
	}
	n := binary.LittleEndian.Uint32(*b)
	if int32(n) < 0 {
		return nil, throw(nil, "Negative length")
	}
	if uint64(n) > uint64(len(*b)-4) {
		return nil, throw(nil, "Length-prefixed field longer than remaining buffer. Field length: %d, remaining: %d", n, len(*b)-4)
	}
	v := (*b)[4 : 4+n]
	*b = (*b)[4+n:]
	return v, nil
}

// u32 takes a little-endian u32 off the front of b; a short buffer is
// Java's BufferUnderflowException, which has no message.
func u32(b *[]byte) (uint32, error) {
	if len(*b) < 4 {
		return 0, throw(nil, "null")
	}
	v := binary.LittleEndian.Uint32(*b)
	*b = (*b)[4:]
	return v, nil
}
