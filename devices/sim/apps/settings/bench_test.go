package settings_test

import (
	"io"
	"testing"

	"telltale.dev/devices/sim/apps/internal/apptest"
	"telltale.dev/devices/sim/ui"
)

// BenchmarkRootPage is the phone's share of `uiautomator dump` and
// `screencap -p` on the longest screen the apps draw, the Settings root
// list: building its views, writing the XML, drawing and encoding the PNG.
func BenchmarkRootPage(b *testing.B) {
	s, _, _, _ := open(b, apptest.Props{"ro.build.version.incremental": "V12.0.2.0.QCOMIXM"})
	opts := ui.DumpOptions{Screen: apptest.Display}
	b.Run("build", func(b *testing.B) {
		for b.Loop() {
			s.Top()
		}
	})
	b.Run("dump", func(b *testing.B) {
		for b.Loop() {
			if err := ui.Dump(io.Discard, s.Top(), opts); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("screencap", func(b *testing.B) {
		for b.Loop() {
			img := ui.Render(apptest.Display, []*ui.Node{s.Top()}, true)
			if err := ui.EncodePNG(io.Discard, img); err != nil {
				b.Fatal(err)
			}
		}
	})
}
