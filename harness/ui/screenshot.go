package ui

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"slices"
)

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// Screenshot returns the screen as PNG. On phones with shell_v2 (Android
// 7+) `screencap -p` streams it without a terminal, as `adb exec-out` does;
// older ones get a file that is pulled, since their shell's terminal would
// turn every LF in the image into CR LF.
func (d *Driver) Screenshot(ctx context.Context) ([]byte, error) {
	fctx, cancel := context.WithTimeout(ctx, d.opts.CallTimeout)
	feats, err := d.dev.Features(fctx)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("screenshot of %s: %w", d.dev.Serial(), err)
	}
	var img []byte
	if slices.Contains(feats, "shell_v2") {
		r, err := d.shell(ctx, "screencap -p")
		if err != nil {
			return nil, err
		}
		if err := r.Err(); err != nil {
			return nil, fmt.Errorf("screenshot: %w", err)
		}
		img = r.Stdout
	} else if img, err = d.pulledScreenshot(ctx); err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(img, pngMagic) {
		return nil, fmt.Errorf("screencap -p on %s did not print a PNG (%d bytes starting %s)", d.dev.Serial(), len(img), excerpt(string(img[:min(len(img), 64)])))
	}
	if _, err := png.DecodeConfig(bytes.NewReader(img)); err != nil {
		return nil, fmt.Errorf("screencap -p on %s printed a broken PNG: %w", d.dev.Serial(), err)
	}
	return img, nil
}

func (d *Driver) pulledScreenshot(ctx context.Context) ([]byte, error) {
	const path = "/data/local/tmp/telltale-screen.png"
	if _, err := d.shell(ctx, "screencap -p "+path); err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, d.opts.CallTimeout)
	defer cancel()
	var buf bytes.Buffer
	err := d.dev.Pull(pctx, path, &buf)
	_, _ = d.shell(ctx, "rm -f "+path)
	if err != nil {
		return nil, fmt.Errorf("pulling the screenshot from %s: %w", d.dev.Serial(), err)
	}
	return buf.Bytes(), nil
}
