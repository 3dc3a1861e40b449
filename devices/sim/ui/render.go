package ui

import (
	"hash/fnv"
	"image"
	"image/color"
	"image/png"
	"io"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// The screenshot palette: a paletted image keeps the PNG small and quick to
// encode, and boxes and text need few colours.
var palette = color.Palette{
	color.RGBA{0, 0, 0, 255},       // 0 black: the display off, text
	color.RGBA{255, 255, 255, 255}, // 1 white: input fields
	color.RGBA{120, 120, 120, 255}, // 2 grey: outlines
	color.RGBA{170, 170, 170, 255}, // 3 light grey: hints
	color.RGBA{66, 133, 244, 255},  // 4 blue: icons, checked switches
	// 5..: window backgrounds, chosen by package so screenshots of two apps differ.
	color.RGBA{236, 239, 241, 255},
	color.RGBA{232, 245, 233, 255},
	color.RGBA{227, 242, 253, 255},
	color.RGBA{255, 243, 224, 255},
	color.RGBA{243, 229, 245, 255},
	color.RGBA{255, 253, 231, 255},
}

const (
	black, white, grey, lightGrey, blue = 0, 1, 2, 3, 4
	firstTint                           = 5
	// textScale enlarges the 7x13 bitmap font to about the size of 16sp
	// text on a 440 dpi phone.
	textScale = 3
	// minLetterIcon is the smallest icon that gets its label's letter: a
	// page indicator's dot stays a dot.
	minLetterIcon = 60
	// bigIcon is the smallest image drawn as an app icon (a launcher's
	// are about 60 dp and not clickable themselves); other described
	// images are buttons and tabs, drawn with their description.
	bigIcon = 150
)

// Render draws the screen: windows bottom first, each view's box, text and
// icon; a window above the first (a dialog, a menu) on white with a frame
// so it stands out. A display that is off is black, as screencap shows it.
// Views are clipped to their parents, as the dump's bounds are.
func Render(screen Rect, roots []*Node, displayOn bool) *image.Paletted {
	img := image.NewPaletted(image.Rect(0, 0, screen.Width(), screen.Height()), palette)
	if !displayOn {
		return img
	}
	for i, r := range roots {
		if r == nil {
			continue
		}
		if i == 0 {
			fill(img, r.Bounds, tint(r.Package))
		} else {
			fill(img, r.Bounds, white)
			outline(img, r.Bounds, black)
		}
		drawNode(img, r, screen)
	}
	return img
}

// EncodePNG writes img as screencap -p does.
func EncodePNG(w io.Writer, img image.Image) error {
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	return enc.Encode(w, img)
}

func tint(pkg string) uint8 {
	h := fnv.New32a()
	h.Write([]byte(pkg))
	return firstTint + uint8(h.Sum32()%uint32(len(palette)-firstTint))
}

func drawNode(img *image.Paletted, n *Node, clip Rect) {
	b := n.Bounds
	visible := b.Intersect(clip)
	if visible.Empty() {
		return
	}
	sub := img.SubImage(image.Rectangle{Min: image.Pt(visible.Left, visible.Top), Max: image.Pt(visible.Right, visible.Bottom)}).(*image.Paletted)
	ink := uint8(black)
	if n.Disabled {
		ink = lightGrey
	}
	side := min(b.Width(), b.Height())
	switch {
	case n.Class == "android.widget.EditText":
		fill(sub, b, white)
		outline(sub, b, grey)
		if n.Text == n.Hint {
			ink = lightGrey // an empty field reports its hint as its text
		}
	case n.Class == "android.widget.ImageView" && n.ContentDesc != "" && ((side >= bigIcon && !n.Clickable) || side < minLetterIcon):
		icon(sub, b, n.ContentDesc)
	case n.Class == "android.widget.ImageView" && n.ContentDesc != "":
		// A toolbar or tab button: its description says more than a letter.
		outline(sub, b, grey)
		text(sub, b, n.ContentDesc, ink, true)
	case n.Range != nil:
		seekBar(sub, b, *n.Range)
	case n.Clickable || n.Selected:
		outline(sub, b, grey)
	}
	if n.Checkable {
		box := R(b.Right-60, b.Top+b.Height()/2-15, b.Right-20, b.Top+b.Height()/2+15)
		if n.Checked {
			fill(sub, box, blue)
		} else {
			outline(sub, box, grey)
		}
	}
	if n.Text != "" {
		centred := n.Class != "android.widget.TextView" && n.Class != "android.widget.EditText" && n.Class != "android.widget.CheckedTextView"
		text(sub, b, n.Text, ink, centred)
	}
	for _, c := range n.Children {
		drawNode(sub, c, visible)
	}
}

// seekBar is a track with a thumb at the current value.
func seekBar(img *image.Paletted, b Rect, r Range) {
	mid := b.Top + b.Height()/2
	fill(img, R(b.Left+20, mid-3, b.Right-20, mid+3), grey)
	if r.Max > r.Min {
		x := b.Left + 20 + (b.Width()-40)*(r.Current-r.Min)/(r.Max-r.Min)
		fill(img, R(b.Left+20, mid-3, x, mid+3), blue)
		fill(img, R(x-15, mid-15, x+15, mid+15), blue)
	}
}

// icon is a filled square with the label's first letter, where a real
// launcher shows the app's icon.
func icon(img *image.Paletted, b Rect, label string) {
	side := min(b.Width(), b.Height())
	sq := R(b.Left+(b.Width()-side)/2, b.Top+(b.Height()-side)/2, 0, 0)
	sq.Right, sq.Bottom = sq.Left+side, sq.Top+side
	fill(img, sq, blue)
	if side >= minLetterIcon {
		text(img, sq, string([]rune(label)[:1]), white, true)
	}
}

// fill paints r, clipped to img's bounds (a sub-image keeps the screen's
// coordinates).
func fill(img *image.Paletted, r Rect, c uint8) {
	r = r.Intersect(R(img.Rect.Min.X, img.Rect.Min.Y, img.Rect.Max.X, img.Rect.Max.Y))
	for y := r.Top; y < r.Bottom; y++ {
		i := img.PixOffset(r.Left, y)
		row := img.Pix[i : i+r.Width()]
		for j := range row {
			row[j] = c
		}
	}
}

func outline(img *image.Paletted, r Rect, c uint8) {
	const w = 2
	fill(img, R(r.Left, r.Top, r.Right, r.Top+w), c)
	fill(img, R(r.Left, r.Bottom-w, r.Right, r.Bottom), c)
	fill(img, R(r.Left, r.Top, r.Left+w, r.Bottom), c)
	fill(img, R(r.Right-w, r.Top, r.Right, r.Bottom), c)
}

// text draws s in b: centred, or from the left edge, at the largest size
// that fits, wrapped onto as many lines as b holds and cut after the last.
func text(img *image.Paletted, b Rect, s string, c uint8, centred bool) {
	face := basicfont.Face7x13
	width := b.Width() - 16
	if width <= 0 {
		return
	}
	runes := []rune(s)
	scale := textScale
	for scale > 2 && len(runes)*face.Advance*scale > width {
		scale--
	}
	perLine := max(width/(face.Advance*scale), 1)
	lineH := face.Height * scale
	lines := wrap(runes, perLine, max(b.Height()/lineH, 1))
	top := b.Top + (b.Height()-lineH*len(lines))/2
	for i, line := range lines {
		left := b.Left + 8
		if centred {
			left = b.Left + (b.Width()-len(line)*face.Advance*scale)/2
		}
		glyphs(img, line, left, top+i*lineH, scale, c)
	}
}

// wrap breaks runes into at most max lines of perLine, at spaces where it
// can.
func wrap(runes []rune, perLine, max int) [][]rune {
	var lines [][]rune
	for len(runes) > 0 && len(lines) < max {
		if len(runes) <= perLine {
			lines = append(lines, runes)
			break
		}
		cut := perLine
		for i := perLine; i > perLine/2; i-- {
			if runes[i] == ' ' {
				cut = i
				break
			}
		}
		lines = append(lines, runes[:cut])
		runes = runes[cut:]
		for len(runes) > 0 && runes[0] == ' ' {
			runes = runes[1:]
		}
	}
	return lines
}

// glyphs draws one line of text, each font pixel a scale-sized square.
func glyphs(img *image.Paletted, runes []rune, left, top, scale int, c uint8) {
	face := basicfont.Face7x13
	mask := image.NewAlpha(image.Rect(0, 0, len(runes)*face.Advance, face.Height))
	d := font.Drawer{Dst: mask, Src: image.Opaque, Face: face, Dot: fixed.P(0, face.Ascent)}
	d.DrawString(string(runes))
	for y := 0; y < mask.Rect.Dy(); y++ {
		for x := 0; x < mask.Rect.Dx(); x++ {
			if mask.AlphaAt(x, y).A >= 0x80 {
				fill(img, R(left+x*scale, top+y*scale, left+(x+1)*scale, top+(y+1)*scale), c)
			}
		}
	}
}
