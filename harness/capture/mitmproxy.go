package capture

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"net"
	"strconv"
	"strings"
	"time"
)

// mitmproxy's dump format ("mitmdump -w", mitmproxy's "save"): flows one
// after another, each the tnetstring of the flow's get_state() dict. Each
// dict says its flow-format version; mitmproxy's io/compat.py lists what
// each version changed. The fields read here, by version:
//
//   - 12 (mitmproxy 7.0) and later: WebSocket messages live in the HTTP flow
//     that upgraded ("websocket": {"messages": [[opcode, from_client,
//     content, timestamp, ...], ...]}); older files keep them in separate
//     flows, which this reader does not join: it refuses them.
//   - 15 (8.0): messages gain an "injected" element; 8.1 adds "dropped". Only
//     the first four are read.
//   - 17 is what Debian's mitmproxy 8.1.1 writes (checked in the tests).
//   - 18 (9.0): client_conn.proxy_mode. 19 (9.0): connections rename
//     address to peername and cipher_name to cipher, drop tls_established.
//   - 20 (10.x): connections drop "state", the newest step in the compat.py
//     we could read. 21 (11.x) is read like 20: no source we found shows its
//     step touching the fields read here.
//
// Newer versions are read the same way, with a warning; whatever the
// version, a field this reader needs that is missing or of another type is
// an error, never a silent gap.
const (
	mitmOldestVersion = 12
	mitmNewestVersion = 21
	// maxMitmFlow bounds one flow, body included; a bigger length prefix is
	// a corrupt file long before it is a real flow.
	maxMitmFlow = 1 << 30
)

// mitmFlows returns the flows of a mitmproxy dump. HTTP flows (with their
// WebSocket messages) become flows; TCP, UDP and DNS flows, which telltale
// does not analyse, are counted in st.skipped.
func mitmFlows(br *bufio.Reader, st *readState) iter.Seq2[Flow, error] {
	return func(yield func(Flow, error) bool) {
		var off int64
		for n := 1; ; n++ {
			v, size, err := readTnet(br, maxMitmFlow)
			if err == io.EOF {
				return
			}
			if err != nil {
				yield(Flow{}, mitmError(n, off, err))
				return
			}
			off += int64(size)
			if v.typ != tnetDict {
				yield(Flow{}, fmt.Errorf("capture: mitmproxy flow %d (byte %d): %s where a flow dict belongs", n, off-int64(size), v.kind()))
				return
			}
			f, skip, err := mitmFlow(v, st)
			if err != nil {
				yield(Flow{}, fmt.Errorf("capture: mitmproxy flow %d (byte %d): %w", n, off-int64(size), err))
				return
			}
			if skip != "" {
				st.skip(skip)
				continue
			}
			f.Seq = int64(n)
			if !yield(f, nil) {
				return
			}
		}
	}
}

func mitmError(n int, off int64, err error) error {
	if errors.Is(err, errTruncated) {
		return fmt.Errorf("capture: mitmproxy dump is truncated: flow %d (from byte %d) is cut short (%v); was mitmdump killed before it closed the file? %w",
			n, off, err, ErrTruncated)
	}
	return fmt.Errorf("capture: mitmproxy flow %d (byte %d): not a tnetstring: %w", n, off, err)
}

// mitmFlow converts one flow dict. A flow of a type telltale does not read
// returns a non-empty skip naming that type.
func mitmFlow(v tnet, st *readState) (f Flow, skip string, err error) {
	version, err := mitmVersion(v)
	if err != nil {
		return f, "", err
	}
	st.noteVersion(version)
	typ, err := field(v, "type")
	if err != nil {
		return f, "", err
	}
	if t, _ := typ.str(); t != "http" {
		if t == "" {
			return f, "", errors.New(`no flow "type"`)
		}
		return f, t, nil
	}
	m := mitmReader{v: v, version: version}
	f = m.flow()
	return f, "", m.err
}

func mitmVersion(v tnet) (int64, error) {
	vv, err := v.get("version")
	if err != nil {
		return 0, err
	}
	if vv.typ == tnetList {
		// Before 3.0 the version was mitmproxy's own (major, minor).
		return 0, errors.New("flow format of mitmproxy 2 or older: open and save it again with mitmproxy 8 or newer")
	}
	version, err := vv.int()
	if err != nil || vv.isNull() {
		return 0, fmt.Errorf("no flow-format version (%v): not a mitmproxy flow", err)
	}
	if version < mitmOldestVersion {
		return 0, fmt.Errorf("flow format version %d (mitmproxy 6 or older): open and save it again with mitmproxy 8 or newer", version)
	}
	return version, nil
}

func field(v tnet, key string) (tnet, error) {
	e, err := v.get(key)
	if err != nil {
		return e, fmt.Errorf("%s: %w", key, err)
	}
	return e, nil
}

// mitmReader reads fields of one flow, keeping the first error so the
// conversion reads as a list of fields.
type mitmReader struct {
	v       tnet
	version int64
	err     error
	path    []string
}

func (m *mitmReader) fail(key string, err error) {
	if m.err == nil {
		m.err = fmt.Errorf("%s: %w", strings.Join(append(m.path, key), "."), err)
	}
}

func (m *mitmReader) at(v tnet, key string) tnet {
	if m.err != nil {
		return tnet{typ: tnetNull}
	}
	e, err := v.get(key)
	if err != nil {
		m.fail(key, err)
	}
	return e
}

// need is at for a field mitmproxy always writes: its absence means this is
// not the format this reader knows.
func (m *mitmReader) need(v tnet, key string) tnet {
	e := m.at(v, key)
	if e.isNull() && m.err == nil {
		m.fail(key, errors.New("missing"))
	}
	return e
}

func (m *mitmReader) str(v tnet, key string) string {
	s, err := m.at(v, key).str()
	if err != nil {
		m.fail(key, err)
	}
	return s
}

func (m *mitmReader) bytes(v tnet, key string) []byte {
	b, err := m.at(v, key).bytes()
	if err != nil {
		m.fail(key, err)
	}
	return b
}

func (m *mitmReader) int(v tnet, key string) int64 {
	n, err := m.at(v, key).int()
	if err != nil {
		m.fail(key, err)
	}
	return n
}

func (m *mitmReader) bool(v tnet, key string) bool {
	b, err := m.at(v, key).bool()
	if err != nil {
		m.fail(key, err)
	}
	return b
}

func (m *mitmReader) time(v tnet, key string) time.Time {
	t, err := m.at(v, key).float()
	if err != nil {
		m.fail(key, err)
	}
	return unixFloat(t)
}

// unixFloat turns Unix seconds into a time; 0 (mitmproxy's None) is the
// zero time.
func unixFloat(t float64) time.Time {
	if t <= 0 || math.IsInf(t, 0) || math.IsNaN(t) || t > 1e11 {
		return time.Time{}
	}
	sec, frac := math.Modf(t)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

func (m *mitmReader) enter(key string) func() {
	m.path = append(m.path, key)
	return func() { m.path = m.path[:len(m.path)-1] }
}

func (m *mitmReader) headers(v tnet) []Header {
	hv := m.at(v, "headers")
	if m.err != nil || hv.isNull() {
		return []Header{}
	}
	if hv.typ != tnetList {
		m.fail("headers", fmt.Errorf("%s where a list belongs", hv.kind()))
		return nil
	}
	out := []Header{}
	err := hv.items(func(_, pair tnet) bool {
		var kv [2]string
		i := 0
		err := pair.items(func(_, e tnet) bool {
			if i < 2 {
				kv[i], m.err = e.str()
			}
			i++
			return m.err == nil
		})
		if pair.typ != tnetList || i != 2 || err != nil {
			m.err = errors.Join(m.err, err, errors.New("a header is not a [name, value] pair"))
			return false
		}
		out = append(out, Header{Name: kv[0], Value: kv[1]})
		return m.err == nil
	})
	if err != nil || m.err != nil {
		m.fail("headers", errors.Join(err, m.err))
	}
	return out
}

func (m *mitmReader) flow() Flow {
	v := m.v
	f := Flow{Kind: KindHTTP}
	req := m.need(v, "request")
	f.Request = m.request(req)
	f.Start = m.time(req, "timestamp_start")
	f.End = m.time(req, "timestamp_end")
	if resp := m.at(v, "response"); !resp.isNull() && m.err == nil {
		f.Response = m.response(resp)
		if end := m.time(resp, "timestamp_end"); !end.IsZero() {
			f.End = end
		}
	}
	if e := m.at(v, "error"); !e.isNull() && m.err == nil {
		defer m.enter("error")()
		f.Error = m.str(e, "msg")
	}
	if c := m.at(v, "client_conn"); !c.isNull() && m.err == nil {
		f.Client, f.TLS = m.client(c)
	}
	if ws := m.at(v, "websocket"); !ws.isNull() && m.err == nil {
		f.Kind = KindWebSocket
		f.WebSocket = m.messages(ws)
	}
	return f
}

func (m *mitmReader) request(v tnet) *Request {
	defer m.enter("request")()
	m.need(v, "method")
	r := &Request{
		Method:  m.str(v, "method"),
		Proto:   m.str(v, "http_version"),
		Headers: m.headers(v),
		Body:    m.bytes(v, "content"),
	}
	if m.err != nil {
		return nil
	}
	scheme, host, path := m.str(v, "scheme"), m.str(v, "host"), m.str(v, "path")
	port := m.int(v, "port")
	// mitmproxy's pretty_url: the authority the client named (HTTP/2
	// :authority, else the Host header) before the address it connected
	// to, which in transparent mode is only an IP.
	authority := m.str(v, "authority")
	if authority == "" {
		authority = headerValue(r.Headers, "Host")
	}
	if authority == "" {
		authority = host
		if !defaultPort(scheme, port) {
			authority = net.JoinHostPort(host, strconv.FormatInt(port, 10))
		} else if strings.Contains(host, ":") {
			authority = "[" + host + "]"
		}
	}
	if r.Method == "CONNECT" || path == "" {
		path = "/"
	}
	if scheme == "" {
		scheme = "http"
	}
	r.URL = scheme + "://" + authority + path
	r.BodySize = int64(len(r.Body))
	return r
}

func defaultPort(scheme string, port int64) bool {
	return port == 0 || (scheme == "http" && port == 80) || (scheme == "https" && port == 443)
}

func (m *mitmReader) response(v tnet) *Response {
	defer m.enter("response")()
	m.need(v, "status_code")
	r := &Response{
		Status:  int(m.int(v, "status_code")),
		Proto:   m.str(v, "http_version"),
		Headers: m.headers(v),
		Body:    m.bytes(v, "content"),
	}
	if m.err != nil {
		return nil
	}
	r.BodySize = int64(len(r.Body))
	return r
}

// client reads the client connection: its address and, when it spoke TLS,
// what it negotiated with mitmproxy.
func (m *mitmReader) client(v tnet) (string, *TLSInfo) {
	defer m.enter("client_conn")()
	addrKey, cipherKey := "peername", "cipher"
	if m.version < 19 {
		addrKey, cipherKey = "address", "cipher_name"
	}
	var client string
	if a := m.at(v, addrKey); a.typ == tnetList {
		var hp []string
		a.items(func(_, e tnet) bool {
			switch e.typ {
			case tnetInt:
				hp = append(hp, string(e.data))
			default:
				s, _ := e.str()
				hp = append(hp, s)
			}
			return len(hp) < 2
		})
		if len(hp) == 2 {
			client = net.JoinHostPort(hp[0], hp[1])
		}
	}
	if !m.bool(v, "tls") {
		return client, nil
	}
	established := !m.at(v, "timestamp_tls_setup").isNull()
	if m.version < 19 {
		established = m.bool(v, "tls_established")
	}
	info := &TLSInfo{
		SNI:       m.str(v, "sni"),
		Version:   strings.Replace(m.str(v, "tls_version"), "TLSv", "TLS ", 1),
		Cipher:    m.str(v, cipherKey),
		ALPN:      m.str(v, "alpn"),
		Decrypted: established,
	}
	if !established {
		info.Alert = m.str(v, "error")
	}
	return client, info
}

func (m *mitmReader) messages(v tnet) []Frame {
	defer m.enter("websocket")()
	list := m.at(v, "messages")
	if m.err != nil || list.isNull() {
		return nil
	}
	var out []Frame
	err := list.items(func(_, msg tnet) bool {
		var fr Frame
		i := 0
		err := msg.items(func(_, e tnet) bool {
			var err error
			switch i {
			case 0:
				var op int64
				op, err = e.int()
				fr.Opcode = int(op)
			case 1:
				fr.FromClient, err = e.bool()
			case 2:
				fr.Data, err = e.bytes()
			case 3:
				var t float64
				t, err = e.float()
				fr.Time = unixFloat(t)
			}
			i++
			if err != nil {
				m.fail("messages", err)
			}
			return err == nil && i < 4
		})
		if msg.typ != tnetList || i < 4 || err != nil {
			m.fail("messages", errors.Join(err, errors.New("a message is not [opcode, from_client, content, timestamp, ...]")))
			return false
		}
		out = append(out, fr)
		return true
	})
	if err != nil {
		m.fail("messages", err)
	}
	return out
}
