package mitm

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"telltale.dev/harness/capture"
)

// One port serves apps that use the proxy setting and connections the phone
// redirected without one; each flow says which way it came.
func TestProxyPortAlsoTakesRedirectedConnections(t *testing.T) {
	p := startProxy(t, Config{})
	_, port, _ := net.SplitHostPort(p.addr)
	steps := []struct {
		args       []string
		url, route string
	}{
		{[]string{"-x", p.addr, "--cacert", p.caFile, "https://connect.test/a"}, "https://connect.test/a", capture.RouteProxy},
		{[]string{"-x", p.addr, "http://absolute.test/b"}, "http://absolute.test/b", capture.RouteProxy},
		{[]string{"--cacert", p.caFile, "--resolve", "sni.test:" + port + ":127.0.0.1", "https://sni.test:" + port + "/c"},
			"https://sni.test:" + port + "/c", capture.RouteRedirect},
		{[]string{"--resolve", "host.test:" + port + ":127.0.0.1", "http://host.test:" + port + "/d"},
			"http://host.test:" + port + "/d", capture.RouteRedirect},
	}
	for i, st := range steps {
		if out, code := curl(t, st.args...); code != 0 || out != `{"code":0}` {
			t.Fatalf("curl %v: exit %d out %q", st.args, code, out)
		}
		f := p.waitFlows(t, i+1)[i]
		if f.Request.URL != st.url || f.Route != st.route || f.App != nil {
			t.Errorf("step %d: flow %s route %q app %s, want %s route %q and no app", i, f.Request.URL, f.Route, f.App, st.url, st.route)
		}
	}
}

// An app's own listener stamps every flow from it with the app, the
// handshakes it refused included.
func TestAppListenerStampsEveryFlowWithItsApp(t *testing.T) {
	p := startProxy(t, Config{AppDir: t.TempDir()})
	app := capture.App{UID: 10187, Package: "com.example.flutter"}
	sock := postApp(t, p, `{"uid":10187,"package":"com.example.flutter"}`, http.StatusOK)
	if again := postApp(t, p, `{"uid":10187,"package":"com.other"}`, http.StatusOK); again != sock {
		t.Errorf("second POST /apps for uid 10187 answered socket %q, want the first one %q", again, sock)
	}
	if out, code := curl(t, "--unix-socket", sock, "--cacert", p.caFile, "https://tracking.test/v1?id=1"); code != 0 || out != `{"code":0}` {
		t.Fatalf("curl over the app's socket: exit %d out %q", code, out)
	}
	if _, code := curl(t, "--unix-socket", sock, "--http1.1", "https://pinned.test/"); code == 0 {
		t.Fatal("curl accepted a certificate from a CA it was not given")
	}
	fl := p.waitFlows(t, 2)
	for _, f := range fl {
		if f.App == nil || *f.App != app || f.Route != capture.RouteRedirect {
			t.Errorf("%s flow: app %s route %q, want %s route %q", f.Kind, f.App, f.Route, &app, capture.RouteRedirect)
		}
	}
	if fl[0].Request == nil || fl[0].Request.URL != "https://tracking.test/v1?id=1" || fl[1].Kind != capture.KindTLSFailure {
		t.Errorf("flows %s %+v, %s", fl[0].Kind, fl[0].Request, fl[1].Kind)
	}
}

func TestAppListenerRefusals(t *testing.T) {
	p := startProxy(t, Config{})
	if msg := postApp(t, p, `{"uid":10187}`, http.StatusBadRequest); !strings.Contains(msg, "--app-dir") {
		t.Errorf("proxy without an app directory answered %q, want a hint at --app-dir", msg)
	}
	q := startProxy(t, Config{AppDir: t.TempDir()})
	for _, body := range []string{`{"uid":-1}`, `not json`} {
		if msg := postApp(t, q, body, http.StatusBadRequest); msg == "" {
			t.Errorf("POST /apps %s: empty refusal", body)
		}
	}
}

// postApp posts body to /apps and returns the socket, or the refusal's text
// when want is not 200.
func postApp(t *testing.T, p *testProxy, body string, want int) string {
	t.Helper()
	resp, err := http.Post(p.controlURL+"/apps", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("POST /apps %s: %s %s, want %d", body, resp.Status, b, want)
	}
	if want != http.StatusOK {
		return strings.TrimSpace(string(b))
	}
	var l AppListener
	if err := json.Unmarshal(b, &l); err != nil || l.Socket == "" {
		t.Fatalf("POST /apps answered %s (%v)", b, err)
	}
	return l.Socket
}
