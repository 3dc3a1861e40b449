package netstack

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"

	"telltale.dev/protocols"
)

// maxOutsideBody bounds the body of one request the outside reads before
// it answers; the rest is read and thrown away.
const maxOutsideBody = 16 << 20

// serveOutside is the far end of a TCP connection to the modeled outside:
// the server the phone asked for. The real vendors' servers accept what
// their SDKs upload, so what arrives as HTTP/1.1 is answered as the real
// service accepts it (protocols.SinkholeReply: {"code":0}, a OneTrack key
// for a key exchange, 204 for a connectivity check), request after request
// until the phone closes or asks to. Modeled: no real server is reached,
// and clients speak to this one without TLS (uplink.Exchange says why);
// anything that is not HTTP (a TLS ClientHello, nc's bytes) is taken and
// nothing is answered, as before a server that waits for more.
func serveOutside(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for isRequest(br) {
		req, err := http.ReadRequest(br)
		if err != nil {
			break
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(req.Body, maxOutsideBody))
		req.Body.Close()
		reply := protocols.SinkholeReply(req.RequestURI)
		resp := &http.Response{StatusCode: reply.Status, ProtoMajor: 1, ProtoMinor: 1, Request: req,
			Header: http.Header{}, ContentLength: int64(len(reply.Body)), Close: req.Close,
			Body: io.NopCloser(bytes.NewReader(reply.Body))}
		if reply.ContentType != "" {
			resp.Header.Set("Content-Type", reply.ContentType)
		}
		if resp.Write(c) != nil || req.Close {
			return
		}
	}
	_, _ = io.Copy(io.Discard, br)
}

// isRequest says whether what comes next starts an HTTP/1.1 request line
// (a method the uploads use, then a space), without reading it; false at
// the end of the stream.
func isRequest(br *bufio.Reader) bool {
	for _, m := range []string{"POST ", "GET ", "PUT ", "HEAD "} {
		if b, err := br.Peek(len(m)); err == nil && string(b) == m {
			return true
		}
	}
	return false
}
