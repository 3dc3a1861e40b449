package adbd

import (
	"context"
	"encoding/binary"
	"image"
	"image/draw"
	"time"
)

// The framebuffer: reply is AOSP adb/daemon/framebuffer_service.cpp's: a
// struct fbinfo of u32s (version 2 since Android 9 added colorSpace), then
// the pixels as screencap hands them to adbd. Phones' SurfaceFlinger
// screenshots are RGBA_8888 (screencap's format 1) in sRGB (colorspace 1,
// cmds/screencap/screencap.cpp).
const (
	fbVersion    = 2
	fbColorSRGB  = 1
	fbHeaderSize = 14 * 4
	// screenshotTimeout bounds how long the Device may take to draw.
	screenshotTimeout = 10 * time.Second
)

func (c *conn) framebufferService(s *stream) {
	d, ok := c.srv.dev.(Display)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, screenshotTimeout)
	img, err := d.Screenshot(ctx)
	cancel()
	if err != nil {
		c.log.Info("framebuffer: no screenshot", "err", err)
		return
	}
	s.Write(framebuffer(img))
}

// framebuffer encodes img as the header and RGBA_8888 rows, top to bottom.
func framebuffer(img image.Image) []byte {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := make([]byte, fbHeaderSize+4*w*h)
	for i, v := range []uint32{
		fbVersion, 32, fbColorSRGB, uint32(4 * w * h), uint32(w), uint32(h),
		0, 8, // red offset, length
		16, 8, // blue
		8, 8, // green
		24, 8, // alpha
	} {
		binary.LittleEndian.PutUint32(out[4*i:], v)
	}
	pix := &image.NRGBA{Pix: out[fbHeaderSize:], Stride: 4 * w, Rect: image.Rect(0, 0, w, h)}
	draw.Draw(pix, pix.Rect, img, b.Min, draw.Src)
	return out
}
