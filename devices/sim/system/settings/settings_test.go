package settings_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/internal/cmdtest"
	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/system/settings"
)

func TestSettingsTool(t *testing.T) {
	var bus event.Bus
	var got []event.SettingChanged
	event.On(&bus, func(e event.SettingChanged) { got = append(got, e) })
	s := settings.New(settings.Config{Bus: &bus, SDK: 30})
	s.Seed(map[string]string{"system:screen_off_timeout": "60000", "bogus:x": "1"})
	tool := s.Commands()["settings"]
	root := shell.WithUID(context.Background(), 0)
	if r := cmdtest.Run(root, tool, "settings", "--user", "0", "put", "system", "screen_off_timeout", "123"); r.Code != 0 {
		t.Fatal(r)
	}
	cmdtest.Must(t, tool, "settings", "put", "global", "http_proxy", "127.0.0.1:8080")
	want := []event.SettingChanged{
		{NS: "system", Key: "screen_off_timeout", Old: "60000", New: "123", Had: true, By: 0},
		{NS: "global", Key: "http_proxy", New: "127.0.0.1:8080", By: 2000},
	}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("events %+v, want %+v", got, want)
	}
	if out := cmdtest.Must(t, tool, "settings", "get", "global", "nothing"); out != "null\n" {
		t.Errorf("unset: %q", out)
	}
	if out := cmdtest.Must(t, s.ShellCommand, "list", "global"); out != "http_proxy=127.0.0.1:8080\n" {
		t.Errorf("cmd settings list: %q", out)
	}
	if out := cmdtest.Must(t, tool, "settings", "delete", "global", "http_proxy"); out != "Deleted 1 rows\n" {
		t.Errorf("delete: %q", out)
	}
	r := cmdtest.Run(context.Background(), tool, "settings", "get", "bogus", "x")
	if r.Code != 1 || !strings.HasPrefix(r.Err, "Invalid namespace 'bogus'") {
		t.Errorf("bad namespace: %+v", r)
	}
	if err := s.Put("bogus", "k", "v", 1000); err == nil {
		t.Error("Put into a missing namespace")
	}
}

// shellGate refuses WRITE_SECURE_SETTINGS to the shell, as MIUI does
// without "USB debugging (Security settings)".
type shellGate struct{}

func (shellGate) MayWriteSecureSettings(uid uint32) bool { return uid != 2000 }

// TestRefusalsAsTheReleaseWordsThem: a refused write is the provider's
// exception through the shell command handler, exit 255; Android 10 heads
// a SecurityException "Security exception:", 11 names the verb.
func TestRefusalsAsTheReleaseWordsThem(t *testing.T) {
	const denial = "java.lang.SecurityException: Permission denial: writing to settings requires:android.permission.WRITE_SECURE_SETTINGS\n"
	for _, c := range []struct {
		sdk     int
		args    []string
		head    string
		exc     string
		applied bool
	}{
		{29, []string{"put", "global", "http_proxy", "127.0.0.1:8080"},
			"Security exception: Permission denial: writing to settings requires:android.permission.WRITE_SECURE_SETTINGS\n\n", denial, false},
		{30, []string{"put", "global", "http_proxy", "127.0.0.1:8080"}, "\nException occurred while executing 'put':\n", denial, false},
		{30, []string{"put", "secure", "android_id", "x"}, "\nException occurred while executing 'put':\n", denial, false},
		{30, []string{"delete", "global", "adb_enabled"}, "\nException occurred while executing 'delete':\n", denial, false},
		{29, []string{"put", "system", "screen_off_timeout", "soon"}, "\nException occurred while executing:\n",
			"java.lang.IllegalArgumentException: Invalid value: soon for setting: screen_off_timeout\n", false},
		{30, []string{"put", "system", "screen_brightness", "256"}, "\nException occurred while executing 'put':\n",
			"java.lang.IllegalArgumentException: Invalid value: 256 for setting: screen_brightness\n", false},
		{30, []string{"put", "system", "screen_brightness", "255"}, "", "", true},
		{30, []string{"put", "system", "screen_off_timeout", "-1"}, "\nException occurred while executing 'put':\n",
			"java.lang.IllegalArgumentException: Invalid value: -1 for setting: screen_off_timeout\n", false},
		{30, []string{"put", "system", "screen_off_timeout", "2147483648"}, "\nException occurred while executing 'put':\n",
			"java.lang.IllegalArgumentException: Invalid value: 2147483648 for setting: screen_off_timeout\n", false},
		{30, []string{"put", "system", "my_key", "anything"}, "", "", true},
	} {
		var bus event.Bus
		s := settings.New(settings.Config{Bus: &bus, Gate: shellGate{}, SDK: c.sdk})
		s.Seed(map[string]string{"global:adb_enabled": "1"})
		r := cmdtest.Run(context.Background(), s.ShellCommand, c.args...)
		ns, key := c.args[1], c.args[2]
		v, _ := s.Setting(ns, key)
		if c.applied {
			if r.Code != 0 || r.Err != "" || v != c.args[3] {
				t.Errorf("sdk %d %v: %+v, value %q", c.sdk, c.args, r, v)
			}
			continue
		}
		if r.Code != 255 || !strings.HasPrefix(r.Err, c.head+c.exc+"\tat com.android.providers.settings.SettingsProvider.") || r.Out != "" {
			t.Errorf("sdk %d %v:\n%+v\nwant stderr %q...", c.sdk, c.args, r, c.head+c.exc)
		}
		if (c.args[0] == "put" && v == c.args[3]) || (c.args[0] == "delete" && v != "1") {
			t.Errorf("sdk %d %v: the refused write changed %s:%s to %q", c.sdk, c.args, ns, key, v)
		}
	}
	// Root and the system hold the permission on any phone.
	var bus event.Bus
	s := settings.New(settings.Config{Bus: &bus, Gate: shellGate{}, SDK: 29})
	root := shell.WithUID(context.Background(), 0)
	if r := cmdtest.Run(root, s.ShellCommand, "put", "global", "http_proxy", "127.0.0.1:8080"); r.Code != 0 {
		t.Errorf("root: %+v", r)
	}
	var perm *settings.PermissionError
	if err := s.Put("secure", "x", "1", 2000); !errors.As(err, &perm) {
		t.Errorf("Put as the shell: %v", err)
	}
	if err := s.Put("secure", "x", "1", 1000); err != nil {
		t.Errorf("Put as the system: %v", err)
	}
}
