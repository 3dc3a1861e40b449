package protocols

import (
	"net/http"
	"strings"
)

// Reply is what a sinkhole answers in place of the real service.
type Reply struct {
	Status      int
	ContentType string // "" for no body
	Body        []byte
}

var accepted = []byte(`{"code":0}`)

// SinkholeReply answers a request the way the service behind it would
// accept it, so clients go on sending what they would send to the real one.
// target is the request target (path and query) or an absolute URL.
func SinkholeReply(target string) Reply {
	path := URLPath(target)
	switch {
	case strings.HasSuffix(path, "/generate_204") || strings.HasSuffix(path, "/gen_204"):
		// Connectivity checks: anything but 204 makes Android think the
		// network is captive and stop sending (AOSP NetworkMonitor).
		return Reply{Status: http.StatusNoContent}
	case strings.HasSuffix(path, OneTrackKeyPath):
		return Reply{Status: http.StatusOK, ContentType: "application/json", Body: NewOneTrackKeyReply()}
	}
	// Sensors Analytics, OneTrack, mistat and api.sec all take {"code":0}
	// as success (modeled for mistat and api.sec: no public source shows
	// their replies).
	return Reply{Status: http.StatusOK, ContentType: "application/json", Body: accepted}
}

// SplitURL splits a URL as a proxy records it ("https://host:port/p?q#f") or
// a request target ("/p?q") into its authority ("" for a target) and its
// request target without fragment ("/" when the URL has no path).
func SplitURL(u string) (authority, target string) {
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			return rest, "/"
		}
		authority, u = rest[:end], rest[end:]
	}
	u, _, _ = strings.Cut(u, "#")
	if u == "" || u[0] == '?' {
		u = "/" + u
	}
	return authority, u
}

// URLPath is the path of a URL or request target, without query or fragment.
func URLPath(u string) string {
	_, target := SplitURL(u)
	path, _, _ := strings.Cut(target, "?")
	return path
}
