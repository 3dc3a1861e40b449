package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"telltale.dev/harness/capture/mitmdumptest"
)

func TestHARCommandExitCodes(t *testing.T) {
	dir := t.TempDir()
	fl := mitmdumptest.Flow{Version: 17, Method: "GET", Scheme: "http", Host: "a.test", Port: 80, Path: "/", Status: 200, Start: 1.7e9, Client: "127.0.0.1:1"}
	dump := mitmdumptest.Append(mitmdumptest.Append(nil, fl.State()), mitmdumptest.Flow{Version: 17, Type: "tcp"}.State())
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		return p
	}
	good, cut, pcap := write("good.mitm", dump), write("cut.mitm", dump[:len(dump)/3]), write("x.pcapng", []byte("\x0a\x0d\x0d\x0a\x1c\x00\x00\x00"))
	cases := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{good}, 0, "warning: " + good + " (mitmproxy dump (flow format 17)): skipped 1 tcp flow(s)"},
		{[]string{cut}, 2, cut + ": capture: mitmproxy dump is truncated: flow 1"},
		{[]string{pcap}, 2, pcap + ": capture: looks like a pcapng packet capture"},
		{[]string{filepath.Join(dir, "missing.har")}, 2, "no such file"},
		{[]string{good, cut}, 2, "usage: telltale har CAPTURE"},
		{[]string{"-h"}, 0, "usage: telltale har CAPTURE"},
	}
	for _, tc := range cases {
		var stdout, stderr bytes.Buffer
		if code := harMain(t.Context(), tc.args, &stdout, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.stderr) {
			t.Errorf("har %v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.stderr)
		}
		if tc.code == 0 && tc.args[0] == good && !strings.Contains(stdout.String(), `"url": "http://a.test/"`) {
			t.Errorf("har %v: stdout %s", tc.args, stdout.String())
		}
	}
}
