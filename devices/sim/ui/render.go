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
)

// Render draws the screen: windows bottom first, each view's box, text and
// icon. A display that is off is black, as screencap shows it.
func Render(screen Rect, roots []*Node, displayOn bool) *image.Paletted {
	img := image.NewPaletted(image.Rect(0, 0, screen.Width(), screen.Height()), palette)
	if !displayOn {
		return img
	}
	for _, r := range roots {
		if r != nil {
			fill(img, r.Bounds, tint(r.Package))
			drawNode(img, r)
		}
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

func drawNode(img *image.Paletted, n *Node) {
	b := n.Bounds
	switch {
	case n.Class == "android.widget.EditText":
		fill(img, b, white)
		outline(img, b, grey)
	case n.Class == "android.widget.ImageView" && n.ContentDesc != "":
		icon(img, b, n.ContentDesc)
	case n.Clickable:
		outline(img, b, grey)
	}
	if n.Checkable && n.Checked {
		fill(img, R(b.Right-60, b.Top+b.Height()/2-15, b.Right-20, b.Top+b.Height()/2+15), blue)
	}
	switch {
	case n.Text != "":
		text(img, b, n.Text, black)
	case n.Class == "android.widget.EditText" && n.Hint != "":
		text(img, b, n.Hint, lightGrey)
	}
	for _, c := range n.Children {
		drawNode(img, c)
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
		text(img, sq, string([]rune(label)[:1]), white)
	}
}

func fill(img *image.Paletted, r Rect, c uint8) {
	r = r.Intersect(R(0, 0, img.Rect.Dx(), img.Rect.Dy()))
	for y := r.Top; y < r.Bottom; y++ {
		row := img.Pix[y*img.Stride+r.Left : y*img.Stride+r.Right]
		for i := range row {
			row[i] = c
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

// text draws s centred in b, enlarged, at a smaller size when it would not
// fit, and cut to what fits on one line at the smallest.
func text(img *image.Paletted, b Rect, s string, c uint8) {
	face := basicfont.Face7x13
	runes := []rune(s)
	scale := textScale
	for scale > 2 && len(runes)*face.Advance*scale > b.Width()-8 {
		scale--
	}
	fit := max((b.Width()-8)/(face.Advance*scale), 0)
	if len(runes) > fit {
		runes = runes[:fit]
	}
	if len(runes) == 0 {
		return
	}
	mask := image.NewAlpha(image.Rect(0, 0, len(runes)*face.Advance, face.Height))
	d := font.Drawer{Dst: mask, Src: image.Opaque, Face: face, Dot: fixed.P(0, face.Ascent)}
	d.DrawString(string(runes))
	left := b.Left + (b.Width()-mask.Rect.Dx()*scale)/2
	top := b.Top + (b.Height()-face.Height*scale)/2
	for y := 0; y < mask.Rect.Dy(); y++ {
		for x := 0; x < mask.Rect.Dx(); x++ {
			if mask.AlphaAt(x, y).A >= 0x80 {
				fill(img, R(left+x*scale, top+y*scale, left+(x+1)*scale, top+(y+1)*scale), c)
			}
		}
	}
}
