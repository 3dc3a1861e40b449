package sim

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/sim/sdk/groundtruth"
	"telltale.dev/fixtures/apk"
)

// node is a uiautomator dump node read back generically: the attributes in
// the order the phone wrote them.
type node struct {
	Attrs    []xml.Attr `xml:",any,attr"`
	Children []node     `xml:"node"`
}

func (n node) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (n node) walk(fn func(node)) {
	fn(n)
	for _, c := range n.Children {
		c.walk(fn)
	}
}

// dumpAttrs is the platform dumper's attribute order on Android 10 and 11.
var dumpAttrs = []string{"index", "text", "resource-id", "class", "package", "content-desc", "checkable", "checked",
	"clickable", "enabled", "focusable", "focused", "scrollable", "long-clickable", "password", "selected", "bounds"}

// shellSplit runs `adb shell CMD` and keeps stdout and stderr apart, as
// shell v2 carries them.
func (r *adbRig) shellSplit(cmd string) (stdout, stderr string) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, port, _ := strings.Cut(r.server.Addr(), ":")
	c := exec.CommandContext(ctx, "adb", "-P", port, "-s", r.phone.Serial(), "shell", cmd)
	var o, e bytes.Buffer
	c.Stdout, c.Stderr = &o, &e
	if err := c.Run(); err != nil {
		r.t.Fatalf("adb shell %q: %v\n%s", cmd, err, e.String())
	}
	return o.String(), e.String()
}

// dumpScreen dumps the hierarchy to /dev/tty through the adb server and
// parses it, checking the frame real phones put around it.
func (r *adbRig) dumpScreen() node {
	r.t.Helper()
	out, _ := r.shellSplit("uiautomator dump /dev/tty")
	const head = `<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><hierarchy rotation="0">`
	const tail = "</hierarchy>UI hierchary dumped to: /dev/tty\n"
	if !strings.HasPrefix(out, head) || !strings.HasSuffix(out, tail) || strings.Count(out, "\n") != 1 {
		r.t.Fatalf("uiautomator dump /dev/tty printed %q", out)
	}
	var h struct {
		Rotation string `xml:"rotation,attr"`
		Root     node   `xml:"node"`
	}
	if err := xml.Unmarshal([]byte(strings.TrimSuffix(out, "UI hierchary dumped to: /dev/tty\n")), &h); err != nil {
		r.t.Fatalf("the dump is not XML: %v", err)
	}
	return h.Root
}

// find returns the nodes whose attribute name has value.
func find(root node, name, value string) []node {
	var out []node
	root.walk(func(n node) {
		if n.attr(name) == value {
			out = append(out, n)
		}
	})
	return out
}

func center(t *testing.T, n node) (x, y int) {
	t.Helper()
	var l, tp, rt, b int
	if _, err := fmt.Sscanf(n.attr("bounds"), "[%d,%d][%d,%d]", &l, &tp, &rt, &b); err != nil {
		t.Fatalf("bounds %q: %v", n.attr("bounds"), err)
	}
	return (l + rt) / 2, (tp + b) / 2
}

func TestUIAutomatorDumpShowsTheLauncher(t *testing.T) {
	r := startConnected(t, Config{Model: "redmi-note-8", NoNoise: true})
	root := r.dumpScreen()
	if root.attr("package") != "com.miui.home" || root.attr("bounds") != "[0,0][1080,2340]" || root.attr("index") != "0" {
		t.Fatalf("root node %v", root.Attrs)
	}
	bad := 0
	root.walk(func(n node) {
		var names []string
		for _, a := range n.Attrs {
			if a.Name.Local != "NAF" {
				names = append(names, a.Name.Local)
			}
		}
		if !slices.Equal(names, dumpAttrs) && bad == 0 {
			t.Errorf("attributes %v, want %v", names, dumpAttrs)
		}
		if !slices.Equal(names, dumpAttrs) {
			bad++
		}
	})
	if bad > 1 {
		t.Errorf("%d nodes in all have attributes out of order", bad)
	}
	// An icon for each launchable app, its label as a MIUI home shows it.
	for _, label := range []string{"Mi Browser", "Mint Browser", "Settings", "File Manager", "Security"} {
		icons := find(root, "content-desc", label)
		if len(icons) < 1 || icons[0].attr("clickable") != "true" || icons[0].attr("class") != "android.widget.RelativeLayout" {
			t.Errorf("no clickable icon for %q: %v", label, icons)
			continue
		}
		titles := find(icons[0], "resource-id", "com.miui.home:id/icon_title")
		if len(titles) != 1 || titles[0].attr("text") != label {
			t.Errorf("icon %q title %v", label, titles)
		}
	}
	// Packages without a launcher activity have no icon.
	if n := find(root, "content-desc", "com.miui.analytics"); len(n) != 0 {
		t.Errorf("a service package has an icon: %v", n)
	}
	// MIUI prints its theme loader's trace on stderr and dumps all the same;
	// without a file the dump lands in /sdcard/window_dump.xml.
	out, errOut := r.shellSplit("uiautomator dump")
	if out != "UI hierchary dumped to: /sdcard/window_dump.xml\n" || !strings.HasPrefix(errOut, "java.io.FileNotFoundException: /data/system/theme_config/theme_compatibility.xml") {
		t.Errorf("uiautomator dump: stdout %q stderr %q", out, errOut)
	}
	if got := r.shell("cat /sdcard/window_dump.xml"); !strings.HasSuffix(got, "</hierarchy>") || !strings.Contains(got, `content-desc="Mi Browser"`) {
		t.Errorf("/sdcard/window_dump.xml holds %q", got)
	}
}

// TestTapOnAnIconStartsTheApp installs an APK, finds its icon in the dump,
// taps the centre of its bounds, and sees the app resumed and reported.
func TestTapOnAnIconStartsTheApp(t *testing.T) {
	truth := &groundtruth.Log{}
	r := startConnected(t, Config{Model: "redmi-note-8", Truth: truth, NoNoise: true})
	b, err := apk.Build(apk.Options{Package: "com.canary.tap", Label: "Canary Tap"})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tap.apk")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	d := &fdevice{t: t, phone: r.phone, server: r.server}
	if res := d.whileTapping("android:id/button2", "install", path); res.code != 0 {
		t.Fatalf("adb install: %+v", res)
	}
	icons := slices.DeleteFunc(find(r.dumpScreen(), "content-desc", "Canary Tap"), func(n node) bool {
		return n.attr("clickable") != "true"
	})
	if len(icons) != 1 {
		t.Fatalf("icons for the installed app: %v", icons)
	}
	x, y := center(t, icons[0])
	r.shell("input tap " + strconv.Itoa(x) + " " + strconv.Itoa(y))
	if got := r.shell("dumpsys activity activities | grep mResumedActivity"); !strings.Contains(got, " com.canary.tap/android.app.Activity ") {
		t.Fatalf("after the tap: %q", got)
	}
	// The app's window is on screen now, under its label.
	if titles := find(r.dumpScreen(), "text", "Canary Tap"); len(titles) != 1 || titles[0].attr("package") != "com.canary.tap" {
		t.Errorf("the app's screen: %v", titles)
	}
	if got := r.shell("dumpsys window windows | grep mCurrentFocus"); !strings.Contains(got, "com.canary.tap/android.app.Activity}") {
		t.Errorf("focus: %q", got)
	}
	// BACK finishes it and the home screen is back.
	r.shell("input keyevent KEYCODE_BACK")
	if got := r.shell("dumpsys activity activities | grep mResumedActivity"); !strings.Contains(got, " com.miui.home/.launcher.Launcher ") {
		t.Errorf("after BACK: %q", got)
	}
	// With the display off a tap reaches nothing.
	r.shell("input keyevent 26; input tap " + strconv.Itoa(x) + " " + strconv.Itoa(y))
	if got := r.shell("dumpsys activity activities | grep mResumedActivity"); !strings.Contains(got, " com.miui.home/.launcher.Launcher ") {
		t.Errorf("a tap with the display off started %q", got)
	}
	opened := 0
	for _, rec := range groundtruth.Latest(drain(t, truth)) {
		if rec.Action == "open-app" && rec.Values["package"] == "com.canary.tap" {
			opened++
		}
	}
	if opened != 1 {
		t.Errorf("the launch was reported %d times, want once", opened)
	}
}

// TestScreenshotShowsTheScreen takes screenshots through the adb server: the
// home screen has its icons drawn, a screen that is off is black, and
// framebuffer: (Phone.Screenshot) shows the same as screencap.
func TestScreenshotShowsTheScreen(t *testing.T) {
	r := startConnected(t, Config{Model: "redmi-note-8", NoNoise: true})
	shot := func() image.Image {
		t.Helper()
		out, code := r.adb("exec-out", "screencap -p")
		if code != 0 {
			t.Fatalf("screencap: exit %d", code)
		}
		img, err := png.Decode(strings.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	colours := func(img image.Image) int {
		seen := map[color.Color]bool{}
		for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y += 7 {
			for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x += 7 {
				seen[img.At(x, y)] = true
			}
		}
		return len(seen)
	}
	home := shot()
	if home.Bounds().Dx() != 1080 || home.Bounds().Dy() != 2340 || colours(home) < 3 {
		t.Errorf("home screen: %v with %d colours", home.Bounds(), colours(home))
	}
	fb, err := r.phone.Screenshot(context.Background())
	if err != nil || colours(fb) != colours(home) {
		t.Errorf("framebuffer: %v, %d colours", err, colours(fb))
	}
	r.shell("input keyevent 26")
	if off := shot(); colours(off) != 1 {
		t.Errorf("a screen that is off shows %d colours", colours(off))
	}
}
