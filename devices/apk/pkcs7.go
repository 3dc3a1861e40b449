package apk

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
	"math/big"
)

// A JAR signature block (META-INF/*.RSA, *.EC) is a PKCS#7 (RFC 2315)
// SignedData with a detached signature over the .SF file. This reads as
// much of it as JAR verification needs.

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,optional,tag:0"`
}

type signedData struct {
	Version          int
	DigestAlgorithms asn1.RawValue
	ContentInfo      asn1.RawValue
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      []signerInfo  `asn1:"set"`
}

type signerInfo struct {
	Version         int
	IssuerAndSerial issuerAndSerial
	DigestAlgorithm pkix.AlgorithmIdentifier
	AuthAttrs       asn1.RawValue `asn1:"optional,tag:0"`
	SigAlgorithm    pkix.AlgorithmIdentifier
	Signature       []byte
	UnauthAttrs     asn1.RawValue `asn1:"optional,tag:1"`
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue `asn1:"set"`
}

var (
	oidSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSHA1          = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidRSA           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidECPublicKey   = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
)

// verifyPKCS7 checks that some signer of block signed content and returns
// the certificates the block carries, signer first, as Android's
// StrictJarVerifier.verifyBytes uses them.
func verifyPKCS7(block, content []byte) ([]*x509.Certificate, error) {
	var ci contentInfo
	if rest, err := asn1.Unmarshal(block, &ci); err != nil || len(rest) > 0 || !ci.ContentType.Equal(oidSignedData) {
		return nil, throw(parseErr(err, rest), "IO exception verifying jar cert")
	}
	var sd signedData
	if rest, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil || len(rest) > 0 {
		return nil, throw(parseErr(err, rest), "IO exception verifying jar cert")
	}
	certs, err := x509.ParseCertificates(sd.Certificates.Bytes)
	if err != nil {
		return nil, throw(err, "IO exception verifying jar cert")
	}
	for _, si := range sd.SignerInfos {
		cert := signerCert(certs, si.IssuerAndSerial)
		if cert == nil || si.verify(cert, content) != nil {
			continue
		}
		return signerFirst(certs, cert), nil
	}
	return nil, throw(nil, "Failed to verify signature")
}

func parseErr(err error, rest []byte) error {
	switch {
	case err != nil:
		return err
	case len(rest) > 0:
		return fmt.Errorf("%d bytes after the PKCS#7 structure", len(rest))
	}
	return errors.New("not a PKCS#7 SignedData")
}

func signerCert(certs []*x509.Certificate, id issuerAndSerial) *x509.Certificate {
	for _, c := range certs {
		if bytes.Equal(c.RawIssuer, id.Issuer.FullBytes) && c.SerialNumber.Cmp(id.Serial) == 0 {
			return c
		}
	}
	return nil
}

func signerFirst(certs []*x509.Certificate, signer *x509.Certificate) []*x509.Certificate {
	out := []*x509.Certificate{signer}
	for _, c := range certs {
		if c != signer {
			out = append(out, c)
		}
	}
	return out
}

// verify checks one SignerInfo: with authenticated attributes, their
// message digest must be the content's and the signature covers them
// (re-tagged as a SET); without, the signature covers the content.
func (si signerInfo) verify(cert *x509.Certificate, content []byte) error {
	h, hashName, err := digestFor(si.DigestAlgorithm.Algorithm)
	if err != nil {
		return err
	}
	signedMsg := content
	if len(si.AuthAttrs.FullBytes) > 0 {
		attrs, err := parseAttrs(si.AuthAttrs.Bytes)
		if err != nil {
			return err
		}
		h.Write(content)
		if !hasDigest(attrs, h.Sum(nil)) {
			return errors.New("message digest attribute does not match the signed file")
		}
		signedMsg = append([]byte{0x31}, si.AuthAttrs.FullBytes[1:]...)
	}
	alg, err := x509Alg(si.SigAlgorithm.Algorithm, hashName, cert)
	if err != nil {
		return err
	}
	return cert.CheckSignature(alg, signedMsg, si.Signature)
}

// parseAttrs reads the elements of an implicitly tagged SET OF Attribute.
func parseAttrs(b []byte) ([]attribute, error) {
	var out []attribute
	for len(b) > 0 {
		var a attribute
		rest, err := asn1.Unmarshal(b, &a)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
		b = rest
	}
	return out, nil
}

func hasDigest(attrs []attribute, sum []byte) bool {
	for _, a := range attrs {
		if !a.Type.Equal(oidMessageDigest) {
			continue
		}
		var d []byte
		if _, err := asn1.Unmarshal(a.Values.Bytes, &d); err == nil && bytes.Equal(d, sum) {
			return true
		}
	}
	return false
}

func digestFor(oid asn1.ObjectIdentifier) (hash.Hash, string, error) {
	switch {
	case oid.Equal(oidSHA1):
		return sha1.New(), "SHA1", nil
	case oid.Equal(oidSHA256):
		return sha256.New(), "SHA256", nil
	case oid.Equal(oidSHA384):
		return sha512.New384(), "SHA384", nil
	case oid.Equal(oidSHA512):
		return sha512.New(), "SHA512", nil
	}
	return nil, "", fmt.Errorf("unsupported digest algorithm %v", oid)
}

// x509Alg maps the signer's (digest, signature) algorithm pair to Go's
// name for it. The signature algorithm is either the bare key algorithm
// (rsaEncryption, ecPublicKey) or a combined one (sha256WithRSAEncryption).
func x509Alg(sigOID asn1.ObjectIdentifier, hashName string, cert *x509.Certificate) (x509.SignatureAlgorithm, error) {
	table := map[string]map[string]x509.SignatureAlgorithm{
		"RSA":   {"SHA1": x509.SHA1WithRSA, "SHA256": x509.SHA256WithRSA, "SHA384": x509.SHA384WithRSA, "SHA512": x509.SHA512WithRSA},
		"ECDSA": {"SHA1": x509.ECDSAWithSHA1, "SHA256": x509.ECDSAWithSHA256, "SHA384": x509.ECDSAWithSHA384, "SHA512": x509.ECDSAWithSHA512},
	}
	var key string
	switch {
	case sigOID.Equal(oidRSA), cert.PublicKeyAlgorithm == x509.RSA && isCombined(sigOID, "RSA"):
		key = "RSA"
	case sigOID.Equal(oidECPublicKey), cert.PublicKeyAlgorithm == x509.ECDSA && isCombined(sigOID, "ECDSA"):
		key = "ECDSA"
	default:
		return 0, fmt.Errorf("unsupported signature algorithm %v", sigOID)
	}
	return table[key][hashName], nil
}

// isCombined reports whether oid is a digest-with-key algorithm of the
// family: PKCS#1 (1.2.840.113549.1.1.x) for RSA, ANSI X9.62 ecdsa-with-SHA*
// (1.2.840.10045.4.x) for ECDSA.
func isCombined(oid asn1.ObjectIdentifier, family string) bool {
	prefix := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1}
	if family == "ECDSA" {
		prefix = asn1.ObjectIdentifier{1, 2, 840, 10045, 4}
	}
	return len(oid) > len(prefix) && oid[:len(prefix)].Equal(prefix)
}
