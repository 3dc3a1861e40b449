package apk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"

	"telltale.dev/devices/apk/format"
)

// element is one start tag of a binary XML document, with what Android's
// parser keeps of it: the name, the attributes as encoded and the line
// numbers of its start and end tags (the positions PackageParser names in
// its errors).
type element struct {
	name          uint32
	attrs         []attr
	line, endLine int
	children      []*element
}

type attr struct {
	ns, name, raw uint32
	typ           uint8
	data          uint32
}

// document is a decoded AXML tree; strings stay in the pool until asked
// for.
type document struct {
	pool   *stringPool
	resIDs []byte
	root   *element
}

// decodeXML walks the chunks of a binary XML document into a tree, checking
// every size against its container the way ResXMLTree::setTo does.
func decodeXML(b []byte) (*document, error) {
	if len(b) >= 2 && binary.LittleEndian.Uint16(b) != format.ChunkXML {
		return nil, fmt.Errorf("first chunk has type 0x%04x, want 0x%04x (binary XML); a text manifest must be compiled first", binary.LittleEndian.Uint16(b), format.ChunkXML)
	}
	_, hdr, size, err := chunkAt(b, 0, len(b))
	if err != nil {
		return nil, err
	}
	d := &document{}
	var stack []*element
	for off := hdr; off < size; {
		ctyp, chdr, csize, err := chunkAt(b, off, size)
		if err != nil {
			return nil, err
		}
		c := b[off : off+csize]
		switch ctyp {
		case format.ChunkStringPool:
			if d.pool != nil {
				return nil, fmt.Errorf("second string pool at offset %d", off)
			}
			if d.pool, err = parsePool(c, chdr); err != nil {
				return nil, fmt.Errorf("string pool: %w", err)
			}
		case format.ChunkResMap:
			d.resIDs = c[chdr:]
		case format.ChunkStartElem:
			el, err := d.startElement(c, chdr)
			if err != nil {
				return nil, fmt.Errorf("element at offset %d: %w", off, err)
			}
			switch {
			case len(stack) > 0:
				parent := stack[len(stack)-1]
				parent.children = append(parent.children, el)
			case d.root == nil:
				d.root = el
			default:
				return nil, fmt.Errorf("second root element at offset %d", off)
			}
			stack = append(stack, el)
		case format.ChunkEndElem:
			if len(stack) == 0 {
				return nil, fmt.Errorf("end of element at offset %d without a start", off)
			}
			stack[len(stack)-1].endLine = lineOf(c, chdr)
			stack = stack[:len(stack)-1]
		}
		// Namespace, CDATA and unknown chunks carry nothing the package
		// manager reads; skipping unknown ones is what Android does too.
		off += csize
	}
	if d.root == nil {
		return nil, errors.New("no start tag found")
	}
	return d, nil
}

// chunkAt validates the chunk header at off against the enclosing end.
func chunkAt(b []byte, off, end int) (typ uint16, hdr, size int, err error) {
	if end-off < format.ChunkHeaderSize {
		return 0, 0, 0, fmt.Errorf("truncated chunk header at offset %d", off)
	}
	typ = binary.LittleEndian.Uint16(b[off:])
	hdr = int(binary.LittleEndian.Uint16(b[off+2:]))
	size64 := int64(binary.LittleEndian.Uint32(b[off+4:]))
	if hdr < format.ChunkHeaderSize || int64(hdr) > size64 || size64 > int64(end-off) {
		return 0, 0, 0, fmt.Errorf("chunk 0x%04x at offset %d: header size %d, size %d do not fit in %d bytes", typ, off, hdr, size64, end-off)
	}
	return typ, hdr, int(size64), nil
}

func lineOf(c []byte, hdr int) int {
	if hdr < format.NodeHeaderSize {
		return 0
	}
	return int(binary.LittleEndian.Uint32(c[8:]))
}

func (d *document) startElement(c []byte, hdr int) (*element, error) {
	if d.pool == nil {
		return nil, errors.New("element before the string pool")
	}
	if hdr < format.NodeHeaderSize || len(c)-hdr < format.AttrExtSize {
		return nil, errors.New("truncated start element")
	}
	x := c[hdr:]
	start := int(binary.LittleEndian.Uint16(x[8:]))
	step := int(binary.LittleEndian.Uint16(x[10:]))
	count := int(binary.LittleEndian.Uint16(x[12:]))
	if step < format.AttrSize || start > len(x) || count > (len(x)-start)/step {
		return nil, fmt.Errorf("%d attributes of %d bytes from %d do not fit in %d bytes", count, step, start, len(x))
	}
	el := &element{name: binary.LittleEndian.Uint32(x[4:]), line: lineOf(c, hdr)}
	for i := range count {
		p := x[start+i*step:]
		el.attrs = append(el.attrs, attr{
			ns:   binary.LittleEndian.Uint32(p[0:]),
			name: binary.LittleEndian.Uint32(p[4:]),
			raw:  binary.LittleEndian.Uint32(p[8:]),
			typ:  p[15],
			data: binary.LittleEndian.Uint32(p[16:]),
		})
	}
	return el, nil
}

// find returns the attribute Android would match for id: by resource id
// when the resource map names one (that is how the framework looks them
// up), else by name, for hand-made documents without a resource map.
func (d *document) find(el *element, id uint32, name string) (attr, bool) {
	for _, a := range el.attrs {
		if got, ok := d.resID(a.name); ok {
			if got == id {
				return a, true
			}
			continue
		}
		if d.pool.is(a.name, name) {
			return a, true
		}
	}
	return attr{}, false
}

// plain returns the attribute without namespace or resource id called name,
// as getAttributeValue(null, name) finds <manifest package>.
func (d *document) plain(el *element, name string) (attr, bool) {
	for _, a := range el.attrs {
		if _, ok := d.resID(a.name); !ok && a.ns == format.NoIndex && d.pool.is(a.name, name) {
			return a, true
		}
	}
	return attr{}, false
}

func (d *document) resID(name uint32) (uint32, bool) {
	if uint64(name) >= uint64(len(d.resIDs)/4) {
		return 0, false
	}
	return binary.LittleEndian.Uint32(d.resIDs[4*name:]), true
}

func (d *document) named(el *element, name string) bool { return d.pool.is(el.name, name) }

// maxDecoded bounds the string bytes one document may decode in total: a
// hostile pool can point many attributes at one long string.
const maxDecoded = 2 * maxManifestSize

// stringPool decodes strings on demand and keeps count of what it decoded.
type stringPool struct {
	offsets []byte // u32 per string, relative to data
	data    []byte
	utf8    bool
	decoded int
}

func parsePool(c []byte, hdr int) (*stringPool, error) {
	if hdr < format.PoolHeaderSize {
		return nil, fmt.Errorf("header size %d < %d", hdr, format.PoolHeaderSize)
	}
	count := uint64(binary.LittleEndian.Uint32(c[8:]))
	styles := uint64(binary.LittleEndian.Uint32(c[12:]))
	flags := binary.LittleEndian.Uint32(c[16:])
	stringsStart := uint64(binary.LittleEndian.Uint32(c[20:]))
	stylesStart := uint64(binary.LittleEndian.Uint32(c[24:]))
	size := uint64(len(c))
	if uint64(hdr)+4*(count+styles) > size {
		return nil, fmt.Errorf("%d string and %d style offsets do not fit in %d bytes", count, styles, size)
	}
	end := size
	if styles > 0 && stylesStart != 0 {
		end = stylesStart
	}
	if count > 0 && (stringsStart > end || end > size) {
		return nil, fmt.Errorf("string data [%d, %d) outside the %d-byte chunk", stringsStart, end, size)
	}
	p := &stringPool{offsets: c[hdr : uint64(hdr)+4*count], utf8: flags&format.PoolUTF8Flag != 0}
	if count > 0 {
		p.data = c[stringsStart:end]
	}
	return p, nil
}

// span returns where string i's characters lie in data and how many
// characters (UTF-16 units or bytes) it has.
func (p *stringPool) span(i uint32) (start, n int, err error) {
	if uint64(i) >= uint64(len(p.offsets)/4) {
		return 0, 0, fmt.Errorf("string index %d out of range (pool has %d)", i, len(p.offsets)/4)
	}
	off := uint64(binary.LittleEndian.Uint32(p.offsets[4*i:]))
	if off >= uint64(len(p.data)) {
		return 0, 0, fmt.Errorf("string %d at offset %d is outside the pool data", i, off)
	}
	pos := int(off)
	if p.utf8 {
		// UTF-16 length first (skipped), then the byte length.
		if _, pos, err = p.len8(pos); err != nil {
			return 0, 0, fmt.Errorf("string %d: %w", i, err)
		}
		if n, pos, err = p.len8(pos); err != nil {
			return 0, 0, fmt.Errorf("string %d: %w", i, err)
		}
		if n > len(p.data)-pos {
			return 0, 0, fmt.Errorf("string %d: %d bytes overrun the pool", i, n)
		}
		return pos, n, nil
	}
	if n, pos, err = p.len16(pos); err != nil {
		return 0, 0, fmt.Errorf("string %d: %w", i, err)
	}
	if n > (len(p.data)-pos)/2 {
		return 0, 0, fmt.Errorf("string %d: %d UTF-16 units overrun the pool", i, n)
	}
	return pos, n, nil
}

func (p *stringPool) len8(pos int) (n, next int, err error) {
	if pos >= len(p.data) {
		return 0, 0, errors.New("truncated length")
	}
	n = int(p.data[pos])
	if n&0x80 == 0 {
		return n, pos + 1, nil
	}
	if pos+1 >= len(p.data) {
		return 0, 0, errors.New("truncated length")
	}
	return (n&0x7F)<<8 | int(p.data[pos+1]), pos + 2, nil
}

func (p *stringPool) len16(pos int) (n, next int, err error) {
	if pos+2 > len(p.data) {
		return 0, 0, errors.New("truncated length")
	}
	n = int(binary.LittleEndian.Uint16(p.data[pos:]))
	if n&0x8000 == 0 {
		return n, pos + 2, nil
	}
	if pos+4 > len(p.data) {
		return 0, 0, errors.New("truncated length")
	}
	return (n&0x7FFF)<<16 | int(binary.LittleEndian.Uint16(p.data[pos+2:])), pos + 4, nil
}

func (p *stringPool) get(i uint32) (string, error) {
	if p == nil {
		return "", errors.New("no string pool")
	}
	start, n, err := p.span(i)
	if err != nil {
		return "", err
	}
	if p.decoded += n; p.decoded > maxDecoded {
		return "", fmt.Errorf("strings decoded exceed %d bytes: the pool points many values at long strings", maxDecoded)
	}
	if p.utf8 {
		return string(p.data[start : start+n]), nil
	}
	units := make([]uint16, n)
	for k := range units {
		units[k] = binary.LittleEndian.Uint16(p.data[start+2*k:])
	}
	return string(utf16.Decode(units)), nil
}

// is reports whether string i equals the ASCII name s, decoding it only if
// its length matches.
func (p *stringPool) is(i uint32, s string) bool {
	if p == nil {
		return false
	}
	if _, n, err := p.span(i); err != nil || n != len(s) {
		return false
	}
	got, err := p.get(i)
	return err == nil && got == s
}
