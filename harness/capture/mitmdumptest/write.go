package mitmdumptest

import (
	"fmt"
	"net"
	"strconv"
)

// Dict is a tnetstring dict whose keys keep their order.
type Dict []KV

// KV is one key of a Dict.
type KV struct {
	K string
	V any
}

// Append appends the tnetstring of v in mitmproxy's dialect
// (mitmproxy/io/tnetstring.py): string is text (;), []byte is bytes (,),
// int is #, float64 is ^, bool is !, nil is ~, []any is ] and Dict is }.
func Append(dst []byte, v any) []byte {
	var body []byte
	var tag byte
	switch v := v.(type) {
	case nil:
		tag = '~'
	case string:
		body, tag = []byte(v), ';'
	case []byte:
		body, tag = v, ','
	case int:
		body, tag = strconv.AppendInt(nil, int64(v), 10), '#'
	case float64:
		body, tag = strconv.AppendFloat(nil, v, 'f', -1, 64), '^'
	case bool:
		body, tag = strconv.AppendBool(nil, v), '!'
	case []any:
		for _, e := range v {
			body = Append(body, e)
		}
		tag = ']'
	case Dict:
		for _, kv := range v {
			body = Append(Append(body, kv.K), kv.V)
		}
		tag = '}'
	default:
		panic(fmt.Sprintf("mitmdumptest: no tnetstring for %T", v))
	}
	dst = strconv.AppendInt(dst, int64(len(body)), 10)
	dst = append(dst, ':')
	dst = append(dst, body...)
	return append(dst, tag)
}

// Flow describes one flow to write as mitmproxy would save it.
type Flow struct {
	// Version is the flow-format version: 17 is mitmproxy 8.1, 19 and
	// later name the connection fields as mitmproxy 9+ does.
	Version         int
	Type            string // "http" unless set ("tcp", "dns" ...)
	Method, Scheme  string
	Host            string
	Port            int
	Path            string
	Headers         [][2]string
	Body            []byte
	Status          int // 0: no response
	RespHeaders     [][2]string
	RespBody        []byte
	Start           float64 // Unix seconds
	Client          string  // host:port
	TLS             bool
	SNI, TLSVersion string
	WebSocket       []Message
	Error           string
}

// Message is one WebSocket message.
type Message struct {
	Opcode     int // 1 text, 2 binary
	FromClient bool
	Content    []byte
	Time       float64
}

func headers(hs [][2]string) []any {
	out := []any{}
	for _, h := range hs {
		out = append(out, []any{[]byte(h[0]), []byte(h[1])})
	}
	return out
}

func addr(hostport string) any {
	h, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil
	}
	n, _ := strconv.Atoi(p)
	return []any{h, n}
}

// State is the flow's get_state() dict, with the keys mitmproxy writes.
func (f Flow) State() Dict {
	typ := f.Type
	if typ == "" {
		typ = "http"
	}
	var resp any
	if f.Status != 0 {
		resp = Dict{{"http_version", "HTTP/1.1"}, {"headers", headers(f.RespHeaders)}, {"content", f.RespBody},
			{"trailers", nil}, {"timestamp_start", f.Start + 0.01}, {"timestamp_end", f.Start + 0.02},
			{"status_code", f.Status}, {"reason", []byte("OK")}}
	}
	var ws any
	if f.WebSocket != nil {
		var msgs []any
		for _, m := range f.WebSocket {
			msgs = append(msgs, []any{m.Opcode, m.FromClient, m.Content, m.Time, false, false})
		}
		ws = Dict{{"messages", msgs}, {"closed_by_client", true}, {"close_code", 1000}, {"close_reason", ""}, {"timestamp_end", f.Start + 1}}
	}
	var flowErr any
	if f.Error != "" {
		flowErr = Dict{{"msg", f.Error}, {"timestamp", f.Start + 0.03}}
	}
	addrKey, cipherKey := "peername", "cipher"
	if f.Version < 19 {
		addrKey, cipherKey = "address", "cipher_name"
	}
	var sni, tlsVersion, cipher, tlsSetup any
	if f.TLS {
		sni, tlsVersion, cipher, tlsSetup = f.SNI, f.TLSVersion, "TLS_AES_128_GCM_SHA256", f.Start-0.005
	}
	client := Dict{{"id", "c0ffee00-0000-4000-8000-000000000001"}, {addrKey, addr(f.Client)}, {"sockname", []any{"127.0.0.1", 8080}},
		{"tls", f.TLS}, {"sni", sni}, {"tls_version", tlsVersion}, {cipherKey, cipher}, {"alpn", nil},
		{"timestamp_start", f.Start - 0.01}, {"timestamp_end", nil}, {"timestamp_tls_setup", tlsSetup}, {"error", nil}}
	if f.Version < 19 {
		client = append(client, KV{"tls_established", f.TLS})
	}
	return Dict{
		{"type", typ}, {"version", f.Version}, {"id", "f10e0000-0000-4000-8000-000000000001"},
		{"websocket", ws},
		{"response", resp},
		{"request", Dict{{"path", []byte(f.Path)}, {"authority", []byte("")}, {"scheme", []byte(f.Scheme)},
			{"method", []byte(f.Method)}, {"port", f.Port}, {"host", f.Host},
			{"timestamp_end", f.Start + 0.001}, {"timestamp_start", f.Start}, {"trailers", nil},
			{"content", f.Body}, {"headers", headers(f.Headers)}, {"http_version", []byte("HTTP/1.1")}}},
		{"timestamp_created", f.Start}, {"comment", ""}, {"metadata", Dict{}}, {"marked", ""},
		{"is_replay", nil}, {"intercepted", false},
		{"server_conn", Dict{{"id", "5e0e0000-0000-4000-8000-000000000001"}, {"tls", f.TLS}, {"sni", sni}}},
		{"client_conn", client},
		{"error", flowErr},
	}
}
