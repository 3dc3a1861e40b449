package leak

import "bytes"

// formKey says which bytes may appear in a form field name.
var formKey = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = runClass[c] != 0
	}
	for _, c := range ".$[]%*:" {
		t[c] = true
	}
	return t
}()

// looksForm says whether b is an application/x-www-form-urlencoded body:
// name=value pairs joined by '&', with nothing text-like (spaces, quotes,
// braces) outside escapes. A lone base64 value with '=' padding is not one.
// When the Content-Type says form (declared), values are taken as they are:
// checking every byte of a megabyte-long field costs more than the walk.
func looksForm(b []byte, declared bool) bool {
	if len(b) < 2 || !formKey[b[0]] {
		return false
	}
	pairs := 0
	for ; len(b) > 0; pairs++ {
		// The name comes first and is short: a blob without '=' near its
		// start is not a form, and is not searched further.
		// '?' ends a URL's path: a URL with a query is not a form.
		eq := bytes.IndexByte(b[:min(len(b), 129)], '=')
		if eq <= 0 || bytes.IndexByte(b[:eq], '&') >= 0 || bytes.IndexByte(b[:eq], '?') >= 0 {
			return false
		}
		var kv []byte
		if i := bytes.IndexByte(b[eq:], '&'); i >= 0 {
			kv, b = b[:eq+i], b[eq+i+1:]
		} else {
			kv, b = b, nil
		}
		for _, c := range kv[:eq] {
			if !formKey[c] {
				return false
			}
		}
		v := kv[eq+1:]
		if len(bytes.Trim(v, "=")) == 0 && pairs == 0 && len(b) == 0 {
			return false // "name=" alone, or base64 padding
		}
		if !declared {
			for _, c := range v {
				if c <= ' ' || c == '"' || c == '{' || c == '}' || c == '<' || c == '>' || c == '\\' || c == 0x7f {
					return false
				}
			}
		}
	}
	return true
}

// walkForm walks every field of a form body under the step "form:NAME".
func (s *scanner) walkForm(b []byte, depth int) {
	s.eachPair(b, '&', func(name string, value []byte) {
		s.child("form:"+name, node{buf: value}, depth)
	})
}

// formDecode percent-decodes a form name or value into the arena, and reads
// '+' as a space when plus is set.
func (s *scanner) formDecode(v []byte, plus bool) []byte {
	if !hasPercent(v) && (!plus || bytes.IndexByte(v, '+') < 0) {
		return v
	}
	if !s.spend(len(v)) {
		return v
	}
	return percentDecode(s.alloc(len(v)), v, plus)
}

func isBase64Text(v []byte) bool {
	v = bytes.TrimRight(v, "=")
	if len(v) < minRun {
		return false
	}
	for _, c := range v {
		if runClass[c] == 0 {
			return false
		}
	}
	return true
}

// walkMultipart walks each part of a multipart body under "multipart:NAME".
func (s *scanner) walkMultipart(b []byte, boundary string, depth int) bool {
	delim := []byte("--" + boundary)
	i := bytes.Index(b, delim)
	if i < 0 {
		return false
	}
	b = b[i+len(delim):]
	for {
		if bytes.HasPrefix(b, []byte("--")) {
			return true
		}
		end := bytes.Index(b, delim)
		if end < 0 {
			end = len(b) // truncated body: walk what there is
		}
		part := b[:end]
		head, body, ok := bytes.Cut(part, []byte("\r\n\r\n"))
		if !ok {
			head, body, _ = bytes.Cut(part, []byte("\n\n"))
		}
		body = bytes.TrimSuffix(bytes.TrimSuffix(body, []byte("\n")), []byte("\r"))
		s.child("multipart:"+partName(head), node{buf: body}, depth)
		if end == len(b) {
			return true
		}
		b = b[end+len(delim):]
	}
}

// partName is the name="..." of a part's Content-Disposition, or "".
func partName(head []byte) string {
	i := bytes.Index(head, []byte(`name="`))
	for i > 0 && head[i-1] != ' ' && head[i-1] != ';' {
		// skip filename="..."
		j := bytes.Index(head[i+1:], []byte(`name="`))
		if j < 0 {
			return ""
		}
		i += 1 + j
	}
	if i < 0 {
		return ""
	}
	rest := head[i+6:]
	if j := bytes.IndexByte(rest, '"'); j >= 0 {
		return string(rest[:j])
	}
	return ""
}
