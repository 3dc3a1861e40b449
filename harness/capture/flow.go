// Package capture is the flow model shared by the proxy, the detector and the
// reports: what a device sent and got back, one record per completed exchange,
// in the order the proxy saw them complete.
package capture

import (
	"fmt"
	"time"
)

// Kind says what a record in the flow log is.
type Kind string

const (
	// KindHTTP is a completed HTTP exchange (plain, or decrypted from TLS).
	KindHTTP Kind = "http"
	// KindTLSFailure is a client that refused our certificate or broke the
	// handshake: it contacted the host, but nothing it sent can be read.
	KindTLSFailure Kind = "tls-failure"
	// KindWebSocket is an upgraded connection; its frames are in WebSocket.
	KindWebSocket Kind = "websocket"
	// KindMark is a named point in the sequence posted by the harness, such as
	// the start or end of an action's window.
	KindMark Kind = "mark"
)

// Flow is one record of the flow log. Seq orders records; it is assigned by
// the proxy when the record is written, so marks and flows interleave exactly
// as they happened.
type Flow struct {
	Seq    int64     `json:"seq"`
	Kind   Kind      `json:"kind"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end,omitzero"`
	Client string    `json:"client,omitempty"` // client address as seen by the proxy
	// App is the app on the phone that opened the connection, when the
	// proxy could tell (a listener of its own for the app's uid); nil when
	// it could not.
	App *App `json:"app,omitempty"`
	// Route is how the connection reached the proxy: RouteProxy or
	// RouteRedirect; "" for marks and captures of other tools.
	Route string `json:"route,omitempty"`

	TLS       *TLSInfo  `json:"tls,omitempty"`
	Request   *Request  `json:"request,omitempty"`
	Response  *Response `json:"response,omitempty"`
	WebSocket []Frame   `json:"websocket,omitempty"`
	Mark      string    `json:"mark,omitempty"` // the mark's name, for KindMark
	Error     string    `json:"error,omitempty"`
}

// How a connection reached the proxy.
const (
	// RouteProxy: the app used the proxy setting (CONNECT, or an
	// absolute-form request).
	RouteProxy = "proxy"
	// RouteRedirect: the app ignored any proxy setting and its connection
	// was redirected to the proxy (iptables on the phone): TLS routed by its
	// SNI, plain HTTP by its Host header.
	RouteRedirect = "redirect"
)

// App is an app on the phone, as the kernel tells them apart: by uid.
// Packages that share a uid (android:sharedUserId) cannot be told apart by
// their traffic; Package then names them all, comma separated, as
// `pm list packages -U` lists them.
type App struct {
	UID     int    `json:"uid"`
	Package string `json:"package,omitempty"`
}

// String is "com.example.app (uid 10123)", or "uid 10123" for a uid no
// package holds.
func (a *App) String() string {
	if a == nil {
		return "unknown app"
	}
	if a.Package == "" {
		return fmt.Sprintf("uid %d", a.UID)
	}
	return fmt.Sprintf("%s (uid %d)", a.Package, a.UID)
}

// TLSInfo describes the client side of an intercepted TLS connection.
type TLSInfo struct {
	SNI       string `json:"sni,omitempty"`
	Version   string `json:"version,omitempty"` // "TLS 1.3"
	Cipher    string `json:"cipher,omitempty"`
	ALPN      string `json:"alpn,omitempty"`
	Decrypted bool   `json:"decrypted"`
	// Alert is the client's TLS alert or handshake error when Decrypted is false.
	Alert string `json:"alert,omitempty"`
}

// Header is one header line. Headers keep their order and repetitions, so a
// slice and not a map.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Request is what the client sent. Body holds the bytes exactly as sent on the
// wire (still compressed when Content-Encoding says so).
type Request struct {
	Method    string   `json:"method"`
	URL       string   `json:"url"` // absolute: scheme://host/path?query
	Proto     string   `json:"proto"`
	Headers   []Header `json:"headers"`
	Body      []byte   `json:"body,omitempty"`
	BodySize  int64    `json:"bodySize"` // size on the wire, even when Body is truncated
	Truncated bool     `json:"truncated,omitempty"`
}

// Response is what the proxy (or the upstream) answered.
type Response struct {
	Status    int      `json:"status"`
	Proto     string   `json:"proto"`
	Headers   []Header `json:"headers"`
	Body      []byte   `json:"body,omitempty"`
	BodySize  int64    `json:"bodySize"`
	Truncated bool     `json:"truncated,omitempty"`
}

// Frame is one WebSocket message.
type Frame struct {
	Time       time.Time `json:"time"`
	FromClient bool      `json:"fromClient"`
	Opcode     int       `json:"opcode"`
	Data       []byte    `json:"data,omitempty"`
}
