package ui

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkStep times each UI step against a simulated phone through the
// real adb server: dump (uiautomator dump + read back + parse), find (a dump
// and a selector), tap (find, then input tap at the centre), and the input
// and state calls a flow makes. Run with
//
//	go test ./harness/ui -run '^$' -bench Step -benchtime 50x
func BenchmarkStep(b *testing.B) {
	d, dev := startPhone(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	probe, err := dev.Shell(ctx, "uiautomator dump /dev/tty")
	canDump := err == nil && bytes.Contains(probe.Stdout, []byte("<hierarchy"))

	dumpStep := func(b *testing.B, need bool, step func() error) {
		if need && !canDump {
			b.Skip("NOT RUN: the simulated phone has no working uiautomator yet")
		}
		for b.Loop() {
			if err := step(); err != nil {
				b.Fatal(err)
			}
		}
	}
	// The launcher's workspace: a tap there lands between the icons, so
	// every iteration finds and taps on the same home screen.
	target, err := ParseSelector("id=workspace")
	if err != nil {
		b.Fatal(err)
	}
	if canDump {
		if _, _, err := d.Find(ctx, target); err != nil {
			b.Fatalf("the simulated launcher changed: %v", err)
		}
	}
	b.Run("dump", func(b *testing.B) {
		dumpStep(b, true, func() error { _, err := d.Dump(ctx); return err })
	})
	b.Run("dump-tty", func(b *testing.B) {
		tty := New(dev, Options{DumpPath: ttyPath})
		dumpStep(b, true, func() error { _, err := tty.Dump(ctx); return err })
	})
	b.Run("find", func(b *testing.B) {
		dumpStep(b, true, func() error { _, _, err := d.Find(ctx, target); return err })
	})
	b.Run("tap", func(b *testing.B) {
		dumpStep(b, true, func() error { _, err := d.Tap(ctx, target); return err })
	})
	b.Run("tap-at", func(b *testing.B) {
		dumpStep(b, false, func() error { return d.TapAt(ctx, Point{540, 1200}) })
	})
	b.Run("type", func(b *testing.B) {
		dumpStep(b, false, func() error { return d.Type(ctx, "hello world") })
	})
	b.Run("key", func(b *testing.B) {
		dumpStep(b, false, func() error { return d.Key(ctx, KeyWakeup) })
	})
	b.Run("state", func(b *testing.B) {
		dumpStep(b, false, func() error { _, err := d.State(ctx); return err })
	})
	b.Run("screenshot", func(b *testing.B) {
		dumpStep(b, false, func() error { _, err := d.Screenshot(ctx); return err })
	})
}

// BenchmarkParse times the host's part of a dump: parsing our fixtures.
func BenchmarkParse(b *testing.B) {
	files, _ := filepath.Glob("testdata/*.xml")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(filepath.Base(f), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := Parse(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFindOnScreen times a selector over a parsed dump, alternatives
// and a regex included.
func BenchmarkFindOnScreen(b *testing.B) {
	sc := mustParseFile(b, "miui-launcher-stderr-noise.xml")
	var sels []Selector
	for _, s := range []string{"id=no_such", "text~=(?i)^file manager$,clickable=true"} {
		sel, err := ParseSelector(s)
		if err != nil {
			b.Fatal(err)
		}
		sels = append(sels, sel)
	}
	for b.Loop() {
		if _, _, ok := sc.FindVisible(sels...); !ok {
			b.Fatal("no match")
		}
	}
}
