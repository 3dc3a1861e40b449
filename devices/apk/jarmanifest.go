package apk

import (
	"strings"
)

// A JAR manifest (META-INF/MANIFEST.MF) or signature file (*.SF): "Name:
// value" headers in sections separated by empty lines, long lines
// continued on lines starting with one space. The reader follows Android's
// StrictJarManifestReader, including the byte ranges ("chunks") of each
// named section that the .SF per-entry digests cover.

// attrs are a section's headers; names compare case-insensitively, as
// java.util.jar.Attributes.Name does.
type attrs map[string]string

func (a attrs) get(name string) (string, bool) {
	v, ok := a[strings.ToLower(name)]
	return v, ok
}

type jarManifest struct {
	main attrs
	// mainEnd is where the main section ends, its empty line included.
	mainEnd int
	entries map[string]attrs
	// chunks holds each named section's byte range [start, end).
	chunks map[string][2]int
}

// parseJarManifest reads b. withChunks records section ranges, and then a
// name repeated in two sections is an error, as Android's verifier has it.
func parseJarManifest(b []byte, withChunks bool) (*jarManifest, error) {
	m := &jarManifest{main: attrs{}, entries: map[string]attrs{}}
	if withChunks {
		m.chunks = map[string][2]int{}
	}
	if len(b) == 0 {
		return m, nil
	}
	r := &mfReader{buf: b}
	if err := r.section(m.main); err != nil {
		return nil, err
	}
	m.mainEnd = r.pos
	mark := r.pos
	for {
		ok, err := r.header()
		if err != nil {
			return nil, err
		}
		if !ok {
			return m, nil
		}
		if !strings.EqualFold(r.name, "Name") {
			return nil, throw(nil, "Entry is not named")
		}
		name := r.value
		entry := m.entries[name]
		if entry == nil {
			entry = attrs{}
		}
		if err := r.section(entry); err != nil {
			return nil, err
		}
		if withChunks {
			if _, dup := m.chunks[name]; dup {
				return nil, throw(nil, "A jar verifier does not support more than one entry with the same name")
			}
			m.chunks[name] = [2]int{mark, r.pos}
			mark = r.pos
		}
		m.entries[name] = entry
	}
}

// mfReader is StrictJarManifestReader's state machine: breaks counts the
// line breaks seen since the last value byte; two in a row end a section.
type mfReader struct {
	buf         []byte
	pos, breaks int
	name, value string
}

// section reads headers into a until the section ends.
func (r *mfReader) section(a attrs) error {
	for {
		ok, err := r.header()
		if err != nil || !ok {
			return err
		}
		a[strings.ToLower(r.name)] = r.value
	}
}

// header reads one "Name: value" header; false means the section ended
// (or the input did).
func (r *mfReader) header() (bool, error) {
	if r.breaks > 1 {
		r.breaks = 0
		return false, nil
	}
	if err := r.readName(); err != nil {
		return false, err
	}
	r.breaks = 0
	if err := r.readValue(); err != nil {
		return false, err
	}
	// A last line without a line break is ignored, as the reference
	// implementation does.
	return r.breaks > 0, nil
}

func (r *mfReader) readName() error {
	mark := r.pos
	for r.pos < len(r.buf) {
		c := r.buf[r.pos]
		r.pos++
		if c != ':' {
			continue
		}
		name := string(r.buf[mark : r.pos-1])
		if r.pos >= len(r.buf) {
			return throw(nil, "length=%d; index=%d", len(r.buf), r.pos)
		}
		if r.buf[r.pos] != ' ' {
			return throw(nil, "Invalid value for attribute '%s'", name)
		}
		r.pos++
		r.name = name
		return nil
	}
	return nil
}

func (r *mfReader) readValue() error {
	lastCR := false
	mark, last := r.pos, r.pos
	var value []byte
	for r.pos < len(r.buf) {
		c := r.buf[r.pos]
		r.pos++
		switch c {
		case 0:
			return throw(nil, "NUL character in a manifest")
		case '\n':
			if lastCR {
				lastCR = false
			} else {
				r.breaks++
			}
			continue
		case '\r':
			lastCR = true
			r.breaks++
			continue
		case ' ':
			if r.breaks == 1 {
				// A continuation line: the value goes on after the space.
				value = append(value, r.buf[mark:last]...)
				mark = r.pos
				r.breaks = 0
				continue
			}
		}
		if r.breaks >= 1 {
			r.pos--
			break
		}
		last = r.pos
	}
	value = append(value, r.buf[mark:last]...)
	r.value = string(value)
	return nil
}
