package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/profiles"
)

// TestSimKindFlags: --stock, --kind and --su-policy take their values or
// say what they want; a kind the model cannot be is the phone's refusal.
func TestSimKindFlags(t *testing.T) {
	t.Setenv(profiles.EnvDir, "")
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--kind", "rooted"}, 2, `--kind "rooted": want research, stock or emulator`},
		{[]string{"--stock", "--kind", "research"}, 2, "--stock and --kind research ask for two kinds of phone"},
		{[]string{"--su-policy", "ask"}, 2, `--su-policy "ask": want granted, prompt or deny`},
		{[]string{"--stock", "--su-policy", "prompt"}, 1, "a su policy is Magisk's, which only a research phone has"},
		{[]string{"--model", "aosp-emulator", "--stock"}, 1, "aosp-emulator is a userdebug emulator image"},
		{[]string{"--kind", "emulator"}, 1, "kind emulator needs a userdebug image"},
	} {
		var out, errb bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		code := runSim(ctx, c.args, &out, &errb)
		cancel()
		if code != c.code || !strings.Contains(errb.String(), c.msg) || out.Len() != 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", c.args, code, errb.String(), c.code, c.msg)
		}
	}
	// Valid flags start the phone and print its serial.
	var out, errb bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		done <- runSim(ctx, []string{"--stock", "--no-noise"}, &syncWriter{w: &out, onWrite: cancel}, &errb)
	}()
	if code := <-done; code != 0 || !strings.HasPrefix(out.String(), "127.0.0.1:") {
		t.Errorf("--stock: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}

// syncWriter calls onWrite after the first write: the serial is out, so the
// phone is up and may be stopped.
type syncWriter struct {
	w       *bytes.Buffer
	onWrite func()
}

func (s *syncWriter) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	s.onWrite()
	return n, err
}
