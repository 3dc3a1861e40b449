package capture

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// tnetstrings (tnetstrings.info): LENGTH ':' DATA TYPE, where TYPE is one of
// , (bytes) # (integer) ^ (float) ! (boolean) ~ (null) ] (list) } (dict).
// mitmproxy adds ; for UTF-8 text (mitmproxy/io/tnetstring.py), so its dumps
// mark byte strings with , and text with ;. Both are read as bytes here.
//
// A value is parsed lazily: tnet holds its type and payload, and lists and
// dicts are walked on access, so reading one field of a flow costs no
// allocation and bodies stay slices of the flow's buffer.

type tnet struct {
	typ  byte
	data []byte
}

const (
	tnetBytes = ','
	tnetText  = ';'
	tnetInt   = '#'
	tnetFloat = '^'
	tnetBool  = '!'
	tnetNull  = '~'
	tnetList  = ']'
	tnetDict  = '}'
)

// maxLengthDigits bounds the length prefix as mitmproxy's reader does (12
// digits), so a corrupt prefix fails fast instead of asking for terabytes.
const maxLengthDigits = 12

func validTnetType(c byte) bool {
	switch c {
	case tnetBytes, tnetText, tnetInt, tnetFloat, tnetBool, tnetNull, tnetList, tnetDict:
		return true
	}
	return false
}

// popTnet parses the first value of b and returns it with the rest of b.
func popTnet(b []byte) (tnet, []byte, error) {
	n, i := 0, 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		if i == maxLengthDigits {
			return tnet{}, nil, errors.New("length prefix longer than 12 digits")
		}
		n = n*10 + int(b[i]-'0')
	}
	if i == 0 || i >= len(b) || b[i] != ':' {
		return tnet{}, nil, errors.New("missing or invalid length prefix")
	}
	b = b[i+1:]
	if n >= len(b) {
		return tnet{}, nil, fmt.Errorf("value of %d bytes runs past its container", n)
	}
	v := tnet{typ: b[n], data: b[:n]}
	if !validTnetType(v.typ) {
		return tnet{}, nil, fmt.Errorf("unknown type tag %q", v.typ)
	}
	return v, b[n+1:], nil
}

// items calls fn for each element of a list or each key and value of a
// dict, stopping at the first error or when fn returns false.
func (v tnet) items(fn func(k, e tnet) bool) error {
	rest := v.data
	for len(rest) > 0 {
		var k, e tnet
		var err error
		if v.typ == tnetDict {
			if k, rest, err = popTnet(rest); err != nil {
				return err
			}
			if !k.isString() {
				return fmt.Errorf("dict key of type %q", k.typ)
			}
		}
		if e, rest, err = popTnet(rest); err != nil {
			return err
		}
		if !fn(k, e) {
			return nil
		}
	}
	return nil
}

// get returns the value of key in a dict; a missing key is a null.
func (v tnet) get(key string) (tnet, error) {
	if v.typ != tnetDict {
		return tnet{}, fmt.Errorf("%q: not a dict but %s", key, v.kind())
	}
	found := tnet{typ: tnetNull}
	err := v.items(func(k, e tnet) bool {
		if string(k.data) == key {
			found = e
			return false
		}
		return true
	})
	return found, err
}

func (v tnet) isString() bool { return v.typ == tnetBytes || v.typ == tnetText }
func (v tnet) isNull() bool   { return v.typ == tnetNull }

func (v tnet) kind() string {
	switch v.typ {
	case tnetBytes, tnetText:
		return "a string"
	case tnetInt:
		return "an integer"
	case tnetFloat:
		return "a float"
	case tnetBool:
		return "a boolean"
	case tnetNull:
		return "null"
	case tnetList:
		return "a list"
	}
	return "a dict"
}

// bytes returns a string's bytes, or nil for null.
func (v tnet) bytes() ([]byte, error) {
	if v.isNull() {
		return nil, nil
	}
	if !v.isString() {
		return nil, fmt.Errorf("%s where a string belongs", v.kind())
	}
	return v.data, nil
}

func (v tnet) str() (string, error) {
	b, err := v.bytes()
	return string(b), err
}

// int returns an integer; null is 0.
func (v tnet) int() (int64, error) {
	switch v.typ {
	case tnetNull:
		return 0, nil
	case tnetInt:
		return strconv.ParseInt(string(v.data), 10, 64)
	}
	return 0, fmt.Errorf("%s where an integer belongs", v.kind())
}

// float returns a number (mitmproxy's timestamps); null is 0.
func (v tnet) float() (float64, error) {
	switch v.typ {
	case tnetNull:
		return 0, nil
	case tnetInt, tnetFloat:
		return strconv.ParseFloat(string(v.data), 64)
	}
	return 0, fmt.Errorf("%s where a number belongs", v.kind())
}

func (v tnet) bool() (bool, error) {
	switch {
	case v.isNull():
		return false, nil
	case v.typ != tnetBool:
		return false, fmt.Errorf("%s where a boolean belongs", v.kind())
	case string(v.data) == "true":
		return true, nil
	case string(v.data) == "false":
		return false, nil
	}
	return false, fmt.Errorf("invalid boolean %q", v.data)
}

// errTruncated says the input ended inside a value.
var errTruncated = errors.New("truncated")

// readTnet reads one top-level value from r. It returns io.EOF only when r
// ends before the first byte of a value. The buffer grows with the bytes that
// actually arrive, so a corrupt length prefix costs no more memory than the
// file holds.
func readTnet(r *bufio.Reader, maxLen int) (tnet, int, error) {
	n, digits := 0, 0
	for {
		c, err := r.ReadByte()
		if err == io.EOF && digits == 0 {
			return tnet{}, 0, io.EOF
		}
		if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
			return tnet{}, digits, fmt.Errorf("%w inside the length prefix", errTruncated)
		}
		if err != nil {
			return tnet{}, digits, err
		}
		if c == ':' && digits > 0 {
			break
		}
		if c < '0' || c > '9' {
			return tnet{}, digits, fmt.Errorf("expected a length prefix, found %q", c)
		}
		if digits == maxLengthDigits {
			return tnet{}, digits, errors.New("length prefix longer than 12 digits")
		}
		n = n*10 + int(c-'0')
		digits++
	}
	if n > maxLen {
		return tnet{}, digits + 1, fmt.Errorf("a value of %d bytes is larger than the %d bytes allowed", n, maxLen)
	}
	buf := make([]byte, 0, min(n+1, 64<<10))
	for len(buf) < n+1 {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		end := min(cap(buf), n+1)
		m, err := r.Read(buf[len(buf):end])
		buf = buf[:len(buf)+m]
		if (err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF)) && len(buf) < n+1 {
			return tnet{}, digits + 1 + len(buf), fmt.Errorf("%w: a value of %d bytes ends after %d", errTruncated, n, len(buf))
		}
		if err != nil && err != io.EOF {
			return tnet{}, digits + 1 + len(buf), err
		}
	}
	v := tnet{typ: buf[n], data: buf[:n]}
	if !validTnetType(v.typ) {
		return tnet{}, digits + 1 + len(buf), fmt.Errorf("unknown type tag %q after a value of %d bytes", v.typ, n)
	}
	return v, digits + 1 + len(buf), nil
}
