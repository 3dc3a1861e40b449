package attribution

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/capture"
	"telltale.dev/protocols"
)

// memLog is a flow log in memory with the proxy's semantics (seqs from 1,
// marks interleaved, a long poll that returns as soon as a record is
// above since) and a shell whose answers the test scripts: the tracker's
// unit tests and benchmarks drive it where a real proxy and phone would
// make the timing theirs.
type memLog struct {
	mu      sync.Mutex
	flows   []capture.Flow
	grew    chan struct{}
	windows int
	// shell answers a command; nil answers "" to everything.
	shell func(cmd string) (string, error)
	// onMark, when set, runs after a mark is appended (a phone reacting).
	onMark func(name string)
	cmds   []string
}

func newMemLog() *memLog { return &memLog{grew: make(chan struct{})} }

// add appends flows as the proxy records them, numbering them.
func (m *memLog) add(fs ...capture.Flow) []capture.Flow {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]capture.Flow, len(fs))
	for i, f := range fs {
		f.Seq = int64(len(m.flows) + 1)
		if f.Start.IsZero() {
			f.Start = time.Now()
		}
		m.flows = append(m.flows, f)
		out[i] = f
	}
	close(m.grew)
	m.grew = make(chan struct{})
	return out
}

func (m *memLog) Mark(_ context.Context, name string) (capture.Flow, error) {
	f := m.add(capture.Flow{Kind: capture.KindMark, Mark: name})[0]
	if m.onMark != nil {
		m.onMark(name)
	}
	return f, nil
}

func (m *memLog) WaitFlows(ctx context.Context, since int64, wait time.Duration) ([]capture.Flow, error) {
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		m.mu.Lock()
		i := sort.Search(len(m.flows), func(i int) bool { return m.flows[i].Seq > since })
		out, grew := append([]capture.Flow(nil), m.flows[i:]...), m.grew
		m.mu.Unlock()
		if len(out) > 0 {
			return out, nil
		}
		select {
		case <-grew:
		case <-t.C:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (m *memLog) Shell(_ context.Context, cmd string, args ...string) (string, error) {
	line := strings.Join(append([]string{cmd}, args...), " ")
	m.mu.Lock()
	m.cmds = append(m.cmds, line)
	m.mu.Unlock()
	if m.shell == nil {
		return "", nil
	}
	return m.shell(line)
}

func (m *memLog) NextWindow(action string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.windows++
	return fmt.Sprintf("%s-%d", action, m.windows)
}

func (m *memLog) commands() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.cmds...)
}

// saUpload is a Sensors Analytics batch as the SDK posts it, carrying the
// values in one event's properties.
func saUpload(event string, props map[string]any) capture.Flow {
	body, err := protocols.EncodeSA([]map[string]any{{"event": event, "type": "track", "properties": props}})
	if err != nil {
		panic(err)
	}
	return capture.Flow{Kind: capture.KindHTTP, Request: &capture.Request{
		Method: "POST", URL: "https://sa.api.intl.miui.com/sa?project=mibrowser_global", Proto: "HTTP/1.1",
		Headers: []capture.Header{{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}},
		Body:    body, BodySize: int64(len(body)),
	}, Response: &capture.Response{Status: 200, Proto: "HTTP/1.1"}}
}

// configFetch is background traffic with no canary.
func configFetch(i int) capture.Flow {
	return capture.Flow{Kind: capture.KindHTTP, Request: &capture.Request{
		Method: "GET", URL: fmt.Sprintf("https://sdkconfig.ad.intl.xiaomi.com/api/v4/detail/config?r=%d", i), Proto: "HTTP/1.1",
	}, Response: &capture.Response{Status: 200, Proto: "HTTP/1.1", Body: []byte(`{"code":0}`)}}
}

func visit(c canary.Canary) capture.Flow {
	return saUpload("browser_visit", map[string]any{"url": c.Value, "$screen_name": "BrowserActivity"})
}
