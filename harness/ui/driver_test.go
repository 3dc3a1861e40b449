package ui

import (
	"os"
	"strings"
	"testing"
)

// The outputs are what phones print, quoted in the issues the reasons cite.
func TestClassifyDumpFailures(t *testing.T) {
	naf := "java.lang.NullPointerException: Attempt to invoke virtual method 'java.lang.CharSequence android.view.accessibility.AccessibilityNodeInfo.getContentDescription()' on a null object reference\n" +
		"\tat com.android.uiautomator.core.AccessibilityNodeInfoDumper.childNafCheck(AccessibilityNodeInfoDumper.java:296)\n"
	for _, c := range []struct {
		name, out        string
		code             int
		idle, unwritable bool
		fatal            error
		reason           string
	}{
		{"null root", "ERROR: null root node returned by UiTestAutomationBridge.\r\n", 0, false, false, nil, "no active window"},
		{"idle", "ERROR: could not get idle state.\n", 0, true, false, nil, "never settled"},
		{"NAF crash", naf, 1, false, false, nil, "childNafCheck"},
		{"sdcard refused", "java.io.FileNotFoundException: /sdcard/window_dump.xml: open failed: EACCES (Permission denied)\n", 0, false, true, nil, fallbackDumpPath},
		{"killed", "Killed\n", 137, false, false, nil, "killed"},
		{"no uiautomator", "/system/bin/sh: uiautomator: not found\n", 127, false, false, ErrNoUIAutomator, ""},
		{"unknown", "something else\n", 0, false, false, nil, ""},
	} {
		f := classifyDump(c.out, true, c.code)
		if f.idle != c.idle || f.unwritable != c.unwritable || f.fatal != c.fatal || !strings.Contains(f.reason, c.reason) {
			t.Errorf("%s: %+v", c.name, f)
		}
	}
}

func TestInputOutputIgnoresMIUIThemeTrace(t *testing.T) {
	data, err := os.ReadFile("testdata/miui-launcher-stderr-noise.xml")
	if err != nil {
		t.Fatal(err)
	}
	trace, _, _ := strings.Cut(string(data), "<?xml")
	if !strings.Contains(trace, "Exception") {
		t.Fatal("fixture lost its trace")
	}
	if got := withoutThemeTrace(trace); got != "" {
		t.Errorf("left of the theme trace: %q", got)
	}
	refused := trace + "java.lang.SecurityException: Injecting to another application requires INJECT_EVENTS permission\n\tat android.os.Parcel.createException(Parcel.java:2071)\n"
	if got := withoutThemeTrace(refused); !strings.HasPrefix(got, "java.lang.SecurityException") || !strings.Contains(got, "Parcel") {
		t.Errorf("a real exception after the theme trace was dropped: %q", got)
	}
}

func TestScrollGeometry(t *testing.T) {
	sc := mustParseFile(t, "mibrowser-u2-pretty-crlf.xml")
	area := scrollArea(sc)
	if area != (Rect{0, 240, 1080, 2190}) {
		t.Fatalf("scroll area %v, want the news flow's visible part", area)
	}
	for dir, want := range map[Direction][2]Point{
		Down:  {{540, 1702}, {540, 727}},
		Up:    {{540, 727}, {540, 1702}},
		Right: {{810, 1215}, {270, 1215}},
		Left:  {{270, 1215}, {810, 1215}},
	} {
		from, to := swipeFor(area, dir)
		if [2]Point{from, to} != want {
			t.Errorf("direction %d: %v -> %v, want %v", dir, from, to, want)
		}
	}
	// Without a scrollable view the whole display scrolls.
	land := mustParseFile(t, "entities-settings.xml")
	if a := scrollArea(land); a != land.Display() {
		t.Errorf("no scrollable view: area %v, want the display %v", a, land.Display())
	}
	if fingerprint(sc) != fingerprint(mustParseFile(t, "mibrowser-u2-pretty-crlf.xml")) || fingerprint(sc) == fingerprint(land) {
		t.Errorf("fingerprints do not tell screens apart")
	}
}
