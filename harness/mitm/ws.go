package mitm

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"telltale.dev/harness/capture"
	"telltale.dev/protocols"
)

// maxFrame bounds one WebSocket frame, so a bogus length cannot make the
// proxy allocate gigabytes.
const maxFrame = 64 << 20

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// websocket handles an upgrade request: in sinkhole mode the proxy accepts
// it and records what the client sends; in forward mode it relays frames
// both ways, recording each. The flow is written when the socket closes.
func (h *h1conn) websocket(ctx context.Context, req *h1req, u, authority string, start time.Time) {
	flow := h.cc.flow(capture.KindWebSocket, start, h.tls)
	flow.Request = &capture.Request{Method: req.method, URL: u, Proto: req.proto, Headers: req.headers}
	rec := &frameLog{limit: h.s.cfg.BodyLimit}
	defer func() {
		flow.WebSocket = rec.frames
		flow.End = time.Now()
		h.s.record(flow)
	}()
	h.conn.SetReadDeadline(time.Time{})
	if h.s.cfg.Mode == Forward {
		h.wsForward(ctx, req, u, authority, flow, rec)
		return
	}
	key := ""
	for _, hd := range req.headers {
		if strings.EqualFold(hd.Name, "Sec-WebSocket-Key") {
			key = hd.Value
		}
	}
	if key == "" {
		flow.Error = "upgrade without Sec-WebSocket-Key"
		h.writeSimple(http.StatusBadRequest, flow.Error)
		return
	}
	sum := sha1.Sum([]byte(key + wsGUID))
	headers := []capture.Header{
		{Name: "Upgrade", Value: "websocket"}, {Name: "Connection", Value: "Upgrade"},
		{Name: "Sec-WebSocket-Accept", Value: base64.StdEncoding.EncodeToString(sum[:])},
	}
	flow.Response = &capture.Response{Status: http.StatusSwitchingProtocols, Proto: "HTTP/1.1", Headers: headers}
	h.bw.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	for _, hd := range headers {
		writeHeader(h.bw, hd.Name, hd.Value)
	}
	h.bw.WriteString("\r\n")
	client := &wsPeer{conn: h.conn}
	if err := h.cc.switchProtocols(client, h.bw.Flush, client.goAway); err != nil {
		flow.Error = err.Error()
		return
	}
	for {
		client.readFor(idleTimeout)
		fr, err := readFrame(h.br, nil)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				flow.Error = "reading frame: " + err.Error()
			}
			return
		}
		rec.add(true, fr.opcode, fr.payload)
		switch fr.opcode {
		case 0x8: // close: echo it, as RFC 6455 5.5.1 asks
			client.send(0x8, fr.payload)
			return
		case 0x9: // ping
			if client.send(0xA, fr.payload) != nil {
				return
			}
		}
	}
}

func (h *h1conn) wsForward(ctx context.Context, req *h1req, u, authority string, flow *capture.Flow, rec *frameLog) {
	d := net.Dialer{Timeout: 10 * time.Second}
	up, err := d.DialContext(ctx, "tcp", h.s.upstreamAddr(authority))
	if err != nil {
		flow.Error = "upstream: " + err.Error()
		h.writeSimple(http.StatusBadGateway, flow.Error)
		return
	}
	defer up.Close()
	// A forced stop cancels ctx: the upstream goes, and the relay with it.
	defer context.AfterFunc(ctx, func() { up.Close() })()
	if h.scheme == "https" {
		host, _, _ := net.SplitHostPort(authority)
		tc := tls.Client(up, &tls.Config{ServerName: host, InsecureSkipVerify: h.s.cfg.UpstreamInsecure, NextProtos: []string{"http/1.1"}}) //nolint:gosec // opt-in for test upstreams
		if err := tc.HandshakeContext(ctx); err != nil {
			flow.Error = "upstream TLS: " + err.Error()
			h.writeSimple(http.StatusBadGateway, flow.Error)
			return
		}
		up = tc
	}
	ubw := bufio.NewWriter(up)
	_, path := protocols.SplitURL(u)
	fmt.Fprintf(ubw, "%s %s HTTP/1.1\r\n", req.method, path)
	for _, hd := range req.headers {
		if strings.EqualFold(hd.Name, "Proxy-Connection") || strings.EqualFold(hd.Name, "Proxy-Authorization") {
			continue
		}
		writeHeader(ubw, hd.Name, hd.Value)
	}
	ubw.WriteString("\r\n")
	if err := ubw.Flush(); err != nil {
		flow.Error = "upstream: " + err.Error()
		return
	}
	ubr := bufio.NewReader(up)
	budget := maxHeaderBytes
	status, err := readStatusLine(ubr, &budget)
	var headers []capture.Header
	if err == nil {
		headers, err = readHeaders(ubr, &budget)
	}
	if err != nil {
		flow.Error = "upstream: " + err.Error()
		h.writeSimple(http.StatusBadGateway, flow.Error)
		return
	}
	cresp := &capture.Response{Status: status, Proto: "HTTP/1.1", Headers: headers}
	flow.Response = cresp
	fmt.Fprintf(h.bw, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	var length int64 = -1
	for _, hd := range headers {
		writeHeader(h.bw, hd.Name, hd.Value)
		if strings.EqualFold(hd.Name, "Content-Length") {
			length, _ = strconv.ParseInt(hd.Value, 10, 64)
		}
	}
	h.bw.WriteString("\r\n")
	if status != http.StatusSwitchingProtocols {
		// The upstream refused the upgrade: pass its answer on as it is.
		flow.Error = "upstream refused the WebSocket upgrade"
		var body io.Reader = ubr
		if length >= 0 {
			body = io.LimitReader(ubr, length)
		}
		bc := newBodyCapture(body, h.s.cfg.BodyLimit)
		defer bc.release()
		copyPooled(h.bw, bc)
		cresp.Body, cresp.BodySize, cresp.Truncated = bc.result()
		h.bw.Flush()
		return
	}
	client := &wsPeer{conn: h.conn}
	server := &wsPeer{conn: up, mask: true}
	if err := h.cc.switchProtocols(client, h.bw.Flush, func() {
		client.goAway()
		server.goAway()
	}); err != nil {
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() { relayFrames(ubr, server, client, false, rec) })
	relayFrames(h.br, client, server, true, rec)
	wg.Wait()
}

// relayFrames copies frames from one peer to the other as they are,
// recording each, until a close frame (the other direction then ends with
// the answer to it, or closeWait later) or an error. An error closes this
// side and sends the other a close frame rather than cutting it: frames it
// sent before are still unread, and its direction records them until its
// answer (or closeWait) ends it.
func relayFrames(src *bufio.Reader, from, to *wsPeer, fromClient bool, rec *frameLog) {
	var raw bytes.Buffer
	for {
		raw.Reset()
		fr, err := readFrame(src, &raw)
		if err == nil {
			rec.add(fromClient, fr.opcode, fr.payload)
			err = to.relay(raw.Bytes(), fr.opcode)
		}
		if err != nil {
			from.conn.Close()
			if to.send(0x8, peerGone) != nil {
				to.conn.Close()
			}
			return
		}
		if fr.opcode == 0x8 {
			return
		}
	}
}

// goingAway is the payload of the close frame a stopping proxy sends: 1001,
// "an endpoint is going away, such as a server going down" (RFC 6455 7.4.1).
var goingAway = append([]byte{0x03, 0xE9}, "proxy stopping"...)

// peerGone is the close frame one side gets when the other side's
// connection failed: 1001 as well, the other endpoint is gone.
var peerGone = append([]byte{0x03, 0xE9}, "other side gone"...)

// wsPeer is one side of a WebSocket that the proxy writes to. Writes are
// serialised, since stop sends its close frame from another goroutine, and
// end with the first close frame: nothing may follow one (RFC 6455 5.5.1).
// After it the peer has closeWait to answer with its own.
type wsPeer struct {
	conn   net.Conn
	mask   bool // the peer is the server: frames to it are masked (RFC 6455 5.3)
	mu     sync.Mutex
	closed bool
	buf    []byte
}

// send writes one frame of the proxy's own.
func (p *wsPeer) send(opcode int, payload []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = appendFrame(p.buf[:0], opcode, payload, p.mask)
	return p.writeLocked(p.buf, opcode)
}

// relay passes on a frame read from the other peer, unchanged.
func (p *wsPeer) relay(raw []byte, opcode int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.writeLocked(raw, opcode)
}

func (p *wsPeer) writeLocked(frame []byte, opcode int) error {
	if p.closed {
		return nil
	}
	p.conn.SetWriteDeadline(time.Now().Add(idleTimeout))
	if opcode == 0x8 {
		p.closed = true
		p.conn.SetReadDeadline(time.Now().Add(closeWait))
	}
	_, err := p.conn.Write(frame)
	return err
}

// readFor lets the peer stay silent for d, unless a close frame went to it.
func (p *wsPeer) readFor(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.conn.SetReadDeadline(time.Now().Add(d))
	}
}

// goAway sends the close frame of a proxy that is stopping.
func (p *wsPeer) goAway() { p.send(0x8, goingAway) }

type frame struct {
	opcode  int
	payload []byte // unmasked
}

// readFrame reads one frame (RFC 6455 5.2). When raw is not nil the frame's
// bytes are also written there unchanged, for relaying.
func readFrame(br *bufio.Reader, raw io.Writer) (frame, error) {
	var hdr [14]byte
	if _, err := io.ReadFull(br, hdr[:2]); err != nil {
		return frame{}, err
	}
	n := 2
	opcode := int(hdr[0] & 0x0f)
	masked := hdr[1]&0x80 != 0
	length := uint64(hdr[1] & 0x7f)
	ext := 0
	switch length {
	case 126:
		ext = 2
	case 127:
		ext = 8
	}
	if masked {
		ext += 4
	}
	if _, err := io.ReadFull(br, hdr[2:2+ext]); err != nil {
		return frame{}, err
	}
	switch length {
	case 126:
		length = uint64(binary.BigEndian.Uint16(hdr[2:4]))
		n = 4
	case 127:
		length = binary.BigEndian.Uint64(hdr[2:10])
		n = 10
	}
	if length > maxFrame {
		return frame{}, fmt.Errorf("frame of %d bytes is over the %d byte limit", length, maxFrame)
	}
	var mask []byte
	if masked {
		mask = hdr[n : n+4]
	}
	payload := make([]byte, length)
	if _, err := io.ReadFull(br, payload); err != nil {
		return frame{}, err
	}
	if raw != nil {
		if _, err := raw.Write(hdr[:2+ext]); err != nil {
			return frame{}, err
		}
		if _, err := raw.Write(payload); err != nil {
			return frame{}, err
		}
	}
	for i := range payload {
		if mask != nil {
			payload[i] ^= mask[i%4]
		}
	}
	return frame{opcode: opcode, payload: payload}, nil
}

// appendFrame appends a final frame (RFC 6455 5.2), masked with a fresh key
// when it goes to a server.
func appendFrame(b []byte, opcode int, payload []byte, mask bool) []byte {
	b = append(b, 0x80|byte(opcode))
	var maskBit byte
	if mask {
		maskBit = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		b = append(b, maskBit|byte(n))
	case n <= 0xffff:
		b = append(b, maskBit|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, maskBit|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if !mask {
		return append(b, payload...)
	}
	var key [4]byte
	rand.Read(key[:])
	b = append(b, key[:]...)
	for i, c := range payload {
		b = append(b, c^key[i%4])
	}
	return b
}

// frameLog collects frames from both directions of a relay.
type frameLog struct {
	mu     sync.Mutex
	limit  int64
	frames []capture.Frame
}

func (l *frameLog) add(fromClient bool, opcode int, payload []byte) {
	if int64(len(payload)) > l.limit {
		payload = payload[:l.limit]
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.frames = append(l.frames, capture.Frame{Time: time.Now(), FromClient: fromClient, Opcode: opcode, Data: payload})
}
