package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"telltale.dev/devices/sim"
	"telltale.dev/devices/sim/rig/rigtest"
)

// fixture is one of the UI driver's own dump fixtures.
func fixture(name string) string { return filepath.Join("..", "..", "harness", "ui", "testdata", name) }

func uiCmd(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	code = runUI(ctx, args, &out, &errOut)
	return out.String(), errOut.String(), code
}

func decodeFound(t *testing.T, out string) []foundNode {
	t.Helper()
	var nodes []foundNode
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var n foundNode
		if err := dec.Decode(&n); err != nil {
			t.Fatalf("output is not JSON lines: %v\n%s", err, out)
		}
		nodes = append(nodes, n)
	}
	if strings.Count(out, "\n") != len(nodes) {
		t.Errorf("want one JSON object per line:\n%s", out)
	}
	return nodes
}

func TestUIFindOnADump(t *testing.T) {
	out, errOut, code := uiCmd(t, "find", "--dump", fixture("chrome-webview-bounds.xml"), "text=Buy now,clickable=true")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	got := decodeFound(t, out)
	wantBounds := [][]int{{40, 300, 520, 700}, {560, 300, 1040, 700}, {590, 1866, 1010, 1859}}
	if len(got) != 3 {
		t.Fatalf("%d matches, want the 3 cards in document order:\n%s", len(got), out)
	}
	for i, n := range got {
		if n.Text != "Buy now" || n.ID != "card" || n.Class != "android.view.View" || !slices.Equal(n.Bounds, wantBounds[i]) {
			t.Errorf("match %d: %+v", i, n)
		}
	}
	if !slices.Equal(got[0].Center, []int{280, 500}) || !*got[0].Visible {
		t.Errorf("first card: centre %v visible %v", got[0].Center, *got[0].Visible)
	}
	if *got[2].Visible {
		t.Errorf("the card with inverted bounds is reported visible")
	}
	if !strings.Contains(out, `"bounds":[40,300,520,700],"center":[280,500]`) {
		t.Errorf("bounds and center are not [x1,y1,x2,y2] and [x,y]:\n%s", out)
	}

	// Alternatives: the first matches nothing, the second is used.
	out, _, code = uiCmd(t, "find", "--dump", fixture("settings-devopts-utf16.xml"), "text=Nope", `text="USB debugging (Security settings)"`)
	if got := decodeFound(t, out); code != 0 || len(got) != 1 || got[0].ID != "android:id/title" {
		t.Errorf("alternatives: exit %d, %s", code, out)
	}
	// Flags after the selector work too, and id= takes the short form.
	out, _, code = uiCmd(t, "find", "id=url_bar", "--dump", fixture("chrome-webview-bounds.xml"))
	if got := decodeFound(t, out); code != 0 || len(got) != 1 || got[0].Text != "shop.example/deals" {
		t.Errorf("id=url_bar: exit %d, %s", code, out)
	}
}

// TestUIFindAgreesWithElementTree ties the command's own output to the
// independent reading of harness/ui/testdata/etree_ui.py (the library's
// agreement test covers every node and the real phones' dumps).
func TestUIFindAgreesWithElementTree(t *testing.T) {
	files, _ := filepath.Glob(fixture("*.xml"))
	sels := [][]string{{"clickable=true"}, {"text~=.", "desc~=."}, {"id~=:id/", "class~=View$"}}
	type job struct {
		Dump      string     `json:"dump"`
		Selectors [][]string `json:"selectors"`
	}
	var jobs []job
	for _, f := range files {
		jobs = append(jobs, job{f, sels})
	}
	req, _ := json.Marshal(jobs)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "python3", fixture("etree_ui.py"))
	cmd.Stdin = bytes.NewReader(req)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("etree_ui.py: %v", err)
	}
	var answers []struct {
		Finds []*[]foundNode `json:"finds"`
	}
	if err := json.Unmarshal(out, &answers); err != nil || len(answers) != len(files) {
		t.Fatalf("etree_ui.py answered %d of %d: %v", len(answers), len(files), err)
	}
	for i, f := range files {
		for j, alts := range sels {
			stdout, stderr, code := uiCmd(t, append([]string{"find", "--dump", f}, alts...)...)
			want := answers[i].Finds[j]
			if want == nil {
				if code != 1 {
					t.Errorf("%s %q: exit %d, want 1 (ElementTree finds nothing)", filepath.Base(f), alts, code)
				}
				continue
			}
			if code != 0 {
				t.Fatalf("%s %q: exit %d: %s", filepath.Base(f), alts, code, stderr)
			}
			got, _ := json.Marshal(decodeFound(t, stdout))
			exp, _ := json.Marshal(*want)
			if string(got) != string(exp) {
				t.Errorf("%s %q:\ntelltale ui find %s\nElementTree      %s", filepath.Base(f), alts, got, exp)
			}
		}
	}
}

func TestUIFindErrors(t *testing.T) {
	out, errOut, code := uiCmd(t, "find", "--dump", fixture("miui-launcher-stderr-noise.xml"), "text=Camera")
	if code != 1 || out != "" || !strings.Contains(errOut, "nothing matches") || !strings.Contains(errOut, `"Mi Browser"`) {
		t.Errorf("no match: exit %d, stdout %q, stderr %q; want 1 and what the screen has", code, out, errOut)
	}
	for _, args := range [][]string{
		{"find", "--dump", fixture("miui-launcher-stderr-noise.xml")},
		{"find", "--dump", fixture("miui-launcher-stderr-noise.xml"), "txt=Settings"},
		{"find", "--dump", fixture("miui-launcher-stderr-noise.xml"), "bounds=[0,0][0,0]"},
		{"screenshot"},
		{"dump", "extra"},
		{"swipe"},
		{},
	} {
		if _, errOut, code := uiCmd(t, args...); code != 2 || errOut == "" {
			t.Errorf("%q: exit %d, stderr %q; want a usage error", args, code, errOut)
		}
	}
	notDump := filepath.Join(t.TempDir(), "log.txt")
	os.WriteFile(notDump, []byte("ERROR: null root node returned by UiTestAutomationBridge.\n"), 0o644)
	if _, errOut, code := uiCmd(t, "find", "--dump", notDump, "text=x"); code != 1 || !strings.Contains(errOut, "no view hierarchy") {
		t.Errorf("a file without a dump: exit %d, %q", code, errOut)
	}
}

func TestUIOnASimulatedPhone(t *testing.T) {
	r := rigtest.New(t)
	p := rigtest.Phone(t, r, sim.Config{})
	server := r.Client().Addr()

	png1 := filepath.Join(t.TempDir(), "screen.png")
	if _, errOut, code := uiCmd(t, "screenshot", "--adb", server, "-o", png1); code != 0 {
		t.Fatalf("screenshot: exit %d: %s", code, errOut)
	}
	f, err := os.Open(png1)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("screenshot is not a PNG: %v", err)
	}

	if _, errOut, code := uiCmd(t, "dump", "--adb", server, "--device", "127.0.0.1:1"); code != 1 || !strings.Contains(errOut, "telltale devices") {
		t.Errorf("an unknown serial: exit %d, %q", code, errOut)
	}
	// With two phones the command asks which.
	rigtest.Phone(t, r, sim.Config{})
	if _, errOut, code := uiCmd(t, "screenshot", "--adb", server, "-o", png1); code != 1 || !strings.Contains(errOut, "--device") {
		t.Errorf("two phones, no --device: exit %d, %q", code, errOut)
	}

	out, errOut, code := uiCmd(t, "dump", "--adb", server, "--device", p.Serial())
	if strings.Contains(errOut, "no uiautomator") {
		t.Skipf("NOT RUN: ui dump/find/tap on the phone: the simulated phone has no uiautomator yet (%s)", strings.TrimSpace(errOut))
	}
	if code != 0 || !strings.HasPrefix(out, "<?xml") {
		t.Fatalf("dump: exit %d: %s\n%s", code, errOut, out)
	}
	dumpFile := filepath.Join(t.TempDir(), "screen.xml")
	if _, errOut, code := uiCmd(t, "dump", "--adb", server, "--device", p.Serial(), "-o", dumpFile); code != 0 {
		t.Fatalf("dump -o: exit %d: %s", code, errOut)
	}
	// What find says on the phone is what it says on the saved dump.
	onPhone, _, code1 := uiCmd(t, "find", "--adb", server, "--device", p.Serial(), "clickable=true")
	onFile, _, code2 := uiCmd(t, "find", "--dump", dumpFile, "clickable=true")
	if code1 != 0 || code2 != 0 || onPhone != onFile {
		t.Errorf("find on the phone (exit %d) and on its dump (exit %d) differ:\n%s\n%s", code1, code2, onPhone, onFile)
	}
	first := decodeFound(t, onFile)
	if len(first) == 0 {
		t.Fatal("nothing clickable on the home screen")
	}
	sel := `text="` + strings.ReplaceAll(first[0].Text, `"`, `""`) + `"`
	if first[0].Text == "" {
		sel = `desc="` + strings.ReplaceAll(first[0].Desc, `"`, `""`) + `"`
	}
	out, errOut, code = uiCmd(t, "tap", "--adb", server, "--device", p.Serial(), "--wait", "5s", sel)
	if code != 0 {
		t.Fatalf("tap %s: exit %d: %s", sel, code, errOut)
	}
	t.Logf("tapped %s", out)
}
