package apk

import (
	"encoding/binary"
	"errors"
	"fmt"

	"telltale.dev/devices/apk/format"
)

// maxRefDepth bounds reference chains (@string/a -> @string/b -> ...).
const maxRefDepth = 8

// resolveString looks resource id up in a resources.arsc table and returns
// its string, preferring the default configuration as a launcher in the
// default locale would; references are followed.
func resolveString(table []byte, id uint32) (string, error) {
	_, hdr, size, err := chunkAt(table, 0, len(table))
	if err != nil {
		return "", err
	}
	for depth := 0; depth < maxRefDepth; depth++ {
		typ, data, pool, err := lookupValue(table[:size], hdr, id)
		if err != nil {
			return "", err
		}
		switch typ {
		case format.TypeString:
			return pool.get(data)
		case format.TypeReference:
			id = data
			continue
		}
		return "", fmt.Errorf("resource 0x%08x has value type 0x%02x, not a string", id, typ)
	}
	return "", fmt.Errorf("reference chain from 0x%08x is longer than %d", id, maxRefDepth)
}

// lookupValue finds the Res_value of resource id in the table chunk t.
func lookupValue(t []byte, hdr int, id uint32) (typ uint8, data uint32, pool *stringPool, err error) {
	pkgID, typeID, entry := id>>24, id>>16&0xff, id&0xffff
	var found bool
	for off := hdr; off < len(t); {
		ctyp, chdr, csize, err := chunkAt(t, off, len(t))
		if err != nil {
			return 0, 0, nil, err
		}
		c := t[off : off+csize]
		switch ctyp {
		case format.ChunkStringPool:
			if pool == nil {
				if pool, err = parsePool(c, chdr); err != nil {
					return 0, 0, nil, fmt.Errorf("string pool: %w", err)
				}
			}
		case format.ChunkPackage:
			if chdr < 12 || binary.LittleEndian.Uint32(c[8:]) != pkgID {
				break
			}
			if typ, data, found, err = findEntry(c, chdr, typeID, entry); err != nil {
				return 0, 0, nil, err
			}
		}
		if found {
			break
		}
		off += csize
	}
	switch {
	case !found:
		return 0, 0, nil, fmt.Errorf("resource 0x%08x not found", id)
	case pool == nil:
		return 0, 0, nil, errors.New("no global string pool")
	}
	return typ, data, pool, nil
}

// findEntry searches a package chunk's type chunks for the entry, taking
// the default configuration's value if there is one, else the first.
func findEntry(pkg []byte, hdr int, typeID, entry uint32) (typ uint8, data uint32, found bool, err error) {
	for off := hdr; off < len(pkg); {
		ctyp, chdr, csize, err := chunkAt(pkg, off, len(pkg))
		if err != nil {
			return 0, 0, false, err
		}
		c := pkg[off : off+csize]
		off += csize
		if ctyp != format.ChunkType || chdr < 20+4 || uint32(c[8]) != typeID {
			continue
		}
		t, v, ok, err := typeEntry(c, chdr, entry)
		if err != nil || !ok {
			if err != nil {
				return 0, 0, false, err
			}
			continue
		}
		if !found || defaultConfig(c, chdr) {
			typ, data, found = t, v, true
		}
		if defaultConfig(c, chdr) {
			return typ, data, true, nil
		}
	}
	return typ, data, found, nil
}

// defaultConfig reports whether a type chunk's ResTable_config is all
// zero after its size field: the configuration used when nothing matches.
func defaultConfig(c []byte, hdr int) bool {
	cfg := c[20:hdr]
	size := int(binary.LittleEndian.Uint32(cfg))
	if size < 4 || size > len(cfg) {
		return false
	}
	for _, b := range cfg[4:size] {
		if b != 0 {
			return false
		}
	}
	return true
}

// typeEntry reads entry from one ResTable_type chunk: dense u32 offsets,
// dense u16 offsets (FLAG_OFFSET16) or sparse (index, offset) pairs.
func typeEntry(c []byte, hdr int, entry uint32) (typ uint8, data uint32, ok bool, err error) {
	flags := c[9]
	count := binary.LittleEndian.Uint32(c[12:])
	start := uint64(binary.LittleEndian.Uint32(c[16:]))
	offsets := c[hdr:]
	var off uint64
	switch {
	case flags&format.TypeFlagSparse != 0:
		if uint64(len(offsets)) < 4*uint64(count) {
			return 0, 0, false, errors.New("sparse entry table overruns its chunk")
		}
		found := false
		for i := range uint64(count) {
			if uint32(binary.LittleEndian.Uint16(offsets[4*i:])) == entry {
				off, found = 4*uint64(binary.LittleEndian.Uint16(offsets[4*i+2:])), true
				break
			}
		}
		if !found {
			return 0, 0, false, nil
		}
	case flags&format.TypeFlagOffset16 != 0:
		if entry >= count || uint64(len(offsets)) < 2*uint64(count) {
			return 0, 0, false, nil
		}
		o := binary.LittleEndian.Uint16(offsets[2*entry:])
		if o == 0xffff {
			return 0, 0, false, nil
		}
		off = 4 * uint64(o)
	default:
		if entry >= count || uint64(len(offsets)) < 4*uint64(count) {
			return 0, 0, false, nil
		}
		o := binary.LittleEndian.Uint32(offsets[4*entry:])
		if o == format.NoEntry {
			return 0, 0, false, nil
		}
		off = uint64(o)
	}
	pos := start + off
	if pos+8 > uint64(len(c)) {
		return 0, 0, false, fmt.Errorf("entry %d at %d overruns its type chunk", entry, pos)
	}
	e := c[pos:]
	eflags := binary.LittleEndian.Uint16(e[2:])
	switch {
	case eflags&format.EntryFlagCompact != 0:
		return uint8(eflags >> 8), binary.LittleEndian.Uint32(e[4:]), true, nil
	case eflags&format.EntryFlagComplex != 0:
		return 0, 0, false, fmt.Errorf("entry %d is a bag, not a value", entry)
	}
	esize := uint64(binary.LittleEndian.Uint16(e))
	if pos+esize+8 > uint64(len(c)) {
		return 0, 0, false, fmt.Errorf("value of entry %d overruns its type chunk", entry)
	}
	v := c[pos+esize:]
	return v[3], binary.LittleEndian.Uint32(v[4:]), true, nil
}
