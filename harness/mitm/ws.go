package mitm

import (
	"bufio"
	"context"
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
)

// maxFrame bounds one WebSocket frame, so a bogus length cannot make the
// proxy allocate gigabytes.
const maxFrame = 64 << 20

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// websocket handles an upgrade request: in sinkhole mode the proxy accepts
// it and records what the client sends; in forward mode it relays frames
// both ways, recording each. The flow is written when the socket closes.
func (h *h1conn) websocket(ctx context.Context, req *h1req, u, authority string, start time.Time) {
	flow := &capture.Flow{Kind: capture.KindWebSocket, Start: start, Client: h.client, TLS: h.tls,
		Request: &capture.Request{Method: req.method, URL: u, Proto: req.proto, Headers: req.headers}}
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
	if err := h.bw.Flush(); err != nil {
		flow.Error = err.Error()
		return
	}
	for {
		h.conn.SetReadDeadline(time.Now().Add(idleTimeout))
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
			writeFrame(h.bw, 0x8, fr.payload)
			h.bw.Flush()
			return
		case 0x9: // ping
			writeFrame(h.bw, 0xA, fr.payload)
			if h.bw.Flush() != nil {
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
	path := u
	if i := strings.Index(u, "://"); i >= 0 {
		if j := strings.IndexByte(u[i+3:], '/'); j >= 0 {
			path = u[i+3+j:]
		}
	}
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
	if err := h.bw.Flush(); err != nil {
		return
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		relayFrames(ubr, h.conn, false, rec)
		h.conn.Close() // unblock the other direction
	}()
	relayFrames(h.br, up, true, rec)
	up.Close()
	wg.Wait()
}

// relayFrames copies frames from src to dst as they are, recording each.
func relayFrames(src *bufio.Reader, dst io.Writer, fromClient bool, rec *frameLog) {
	for {
		fr, err := readFrame(src, dst)
		if err != nil {
			return
		}
		rec.add(fromClient, fr.opcode, fr.payload)
		if fr.opcode == 0x8 {
			return
		}
	}
}

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

// writeFrame writes an unmasked (server to client) final frame.
func writeFrame(bw *bufio.Writer, opcode int, payload []byte) {
	bw.WriteByte(0x80 | byte(opcode))
	switch n := len(payload); {
	case n < 126:
		bw.WriteByte(byte(n))
	case n <= 0xffff:
		bw.WriteByte(126)
		binary.Write(bw, binary.BigEndian, uint16(n))
	default:
		bw.WriteByte(127)
		binary.Write(bw, binary.BigEndian, uint64(n))
	}
	bw.Write(payload)
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
