package session

import (
	"maps"
	"testing"
)

// `pm list packages -U` as Android 10 prints it, with a shared uid and, on
// a phone with a second user, a uid per user.
func TestParsePackages(t *testing.T) {
	out := "package:com.android.settings uid:1000\r\n" +
		"package:android uid:1000\n" +
		"package:com.example.flutternews uid:10014\n" +
		"package:com.mi.globalbrowser uid:10005,1010005\n" +
		"garbage line\n" +
		"package:broken uid:x\n"
	want := map[int]string{1000: "android,com.android.settings", 10014: "com.example.flutternews", 10005: "com.mi.globalbrowser"}
	if got := parsePackages(out); !maps.Equal(got, want) {
		t.Errorf("parsePackages = %v, want %v", got, want)
	}
}

func TestParseCapture(t *testing.T) {
	for in, want := range map[string]Capture{"": CaptureAuto, "auto": CaptureAuto, "proxy": CaptureProxy, "transparent": CaptureTransparent} {
		if got, err := ParseCapture(in); err != nil || got != want {
			t.Errorf("ParseCapture(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseCapture("vpn"); err == nil {
		t.Error(`ParseCapture("vpn") accepted`)
	}
}
