// Package mitmtest holds what the tests of the recording proxy (in-process,
// binary and container) share to watch it stop: uploads held in flight,
// idle keep-alive connections, and a goroutine leak check.
package mitmtest

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Upload is a POST whose body the test holds back. The client sends
// Expect: 100-continue and waits for the proxy's 100 Continue, which the
// proxy sends once it is inside the exchange: from then on the upload is in
// flight for as long as the test holds the body. (In forward mode the
// proxy asks for the body before its upstream sees the request.)
type Upload struct {
	Name     string
	body     *io.PipeWriter
	inFlight chan struct{} // closed at the 100 Continue
	done     chan Result
}

// Result is how an upload ended for its client.
type Result struct {
	Status int
	Body   string
	Close  bool // the response said Connection: close
	Err    error
}

// Payload is the body the upload sends: unique per name, so a flow shows
// which upload it records.
func (u *Upload) Payload() string { return "upload=" + u.Name }

// StartUpload posts to url with hc, whose Transport must have a long
// ExpectContinueTimeout (a short one sends the body without waiting for
// the proxy); chunked sends no Content-Length.
func StartUpload(hc *http.Client, url, name string, chunked bool) *Upload {
	pr, pw := io.Pipe()
	u := &Upload{Name: name, body: pw, inFlight: make(chan struct{}), done: make(chan Result, 1)}
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		Got100Continue: func() { close(u.inFlight) },
	})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, pr)
	req.Header.Set("Expect", "100-continue")
	if !chunked {
		req.ContentLength = int64(len(u.Payload()))
	}
	go func() {
		resp, err := hc.Do(req)
		if err != nil {
			u.done <- Result{Err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		u.done <- Result{Status: resp.StatusCode, Body: string(b), Close: resp.Close, Err: err}
	}()
	return u
}

// WaitInFlight returns once the proxy asked for the body, and fails the
// test if the upload ended before.
func (u *Upload) WaitInFlight(t testing.TB) {
	t.Helper()
	select {
	case <-u.inFlight:
	case r := <-u.done:
		t.Fatalf("upload %s ended before the proxy asked for its body: %+v", u.Name, r)
	}
}

// Release sends the body.
func (u *Upload) Release() {
	go func() {
		io.WriteString(u.body, u.Payload())
		u.body.Close()
	}()
}

// Abandon gives up on the body: Go's client waits for its body writer
// before it reports a connection the proxy closed.
func (u *Upload) Abandon() {
	u.body.CloseWithError(errors.New("the test never sends this body"))
}

// Result waits for the upload's end.
func (u *Upload) Result() Result { return <-u.done }

// IdleConn opens a keep-alive connection to an HTTP proxy and finishes one
// exchange on it (GET http://idle.test/, which the proxy answers or
// forwards), leaving it idle. Stopping the proxy closes such a connection
// at once, so WaitClosed returning is also the sign that stop has begun.
func IdleConn(t testing.TB, proxyAddr string) *bufio.Reader {
	t.Helper()
	c, err := net.DialTimeout("tcp", proxyAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(time.Minute)) // only against a hang
	io.WriteString(c, "GET http://idle.test/ HTTP/1.1\r\nHost: idle.test\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("idle connection's first exchange: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 200 || resp.Close {
		t.Fatalf("idle connection's first exchange: %s, close %v", resp.Status, resp.Close)
	}
	return br
}

// WaitClosed fails the test unless the proxy closes the idle connection
// without another byte.
func WaitClosed(t testing.TB, idle *bufio.Reader) {
	t.Helper()
	if _, err := idle.Peek(1); !errors.Is(err, io.EOF) {
		t.Fatalf("idle keep-alive connection: %v, want it closed (EOF) when stop begins", err)
	}
}

// VerifyNoLeaks fails the test if goroutines other than those running at
// before (goleak.IgnoreCurrent) are left. Client connections end a moment
// after the proxy closes them, later still on a loaded machine: goleak's
// own retries (under half a second) are repeated for up to 30 s before a
// leak is reported.
func VerifyNoLeaks(t testing.TB, before goleak.Option) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := goleak.Find(before)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("goroutines left behind: %v", err)
			return
		}
	}
}
