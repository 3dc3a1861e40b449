// Package hartest checks a HAR document the way Chrome DevTools' importer
// reads it (devtools-frontend front_end/models/har/HARFormat.ts): every
// field it converts with safeNumber or safeDate must be there and convert,
// every object it constructs must be an object, and the strings it shows
// must be strings, so the file opens in DevTools' Network panel.
package hartest

import (
	"encoding/json"
	"fmt"
	"time"
)

// Validate returns every problem DevTools' importer would have with b.
func Validate(b []byte) []error {
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return []error{fmt.Errorf("not JSON: %w", err)}
	}
	var v validator
	root := v.object("$", doc)
	log := v.object("log", root["log"])
	v.str("log.version", log, "version")
	creator := v.object("log.creator", log["creator"])
	v.str("log.creator", creator, "name")
	v.str("log.creator", creator, "version")
	for i, p := range v.optArray("log.pages", log["pages"]) {
		at := fmt.Sprintf("log.pages[%d]", i)
		page := v.object(at, p)
		v.date(at, page, "startedDateTime")
		v.str(at, page, "id")
		v.object(at+".pageTimings", page["pageTimings"])
	}
	entries, ok := log["entries"].([]any)
	if !ok {
		v.fail("log.entries: not an array")
	}
	for i, e := range entries {
		v.entry(fmt.Sprintf("log.entries[%d]", i), e)
	}
	return v.errs
}

type validator struct{ errs []error }

func (v *validator) fail(format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf(format, args...))
}

func (v *validator) object(at string, x any) map[string]any {
	m, ok := x.(map[string]any)
	if !ok {
		v.fail("%s: %T where an object belongs", at, x)
		return map[string]any{}
	}
	return m
}

// number is safeNumber: present, and a number (DevTools' Number() of a
// missing field is NaN, which it rejects).
func (v *validator) number(at string, m map[string]any, key string) {
	if _, ok := m[key].(float64); !ok {
		v.fail("%s.%s: %v is not a number", at, key, m[key])
	}
}

func (v *validator) optNumber(at string, m map[string]any, key string) {
	if x, ok := m[key]; ok {
		if _, ok := x.(float64); !ok {
			v.fail("%s.%s: %v is not a number", at, key, x)
		}
	}
}

// str is a field DevTools shows with String(): anything else shows as
// "undefined" or "[object Object]".
func (v *validator) str(at string, m map[string]any, key string) {
	if _, ok := m[key].(string); !ok {
		v.fail("%s.%s: %v is not a string", at, key, m[key])
	}
}

func (v *validator) date(at string, m map[string]any, key string) {
	s, ok := m[key].(string)
	if _, err := time.Parse(time.RFC3339Nano, s); !ok || err != nil {
		v.fail("%s.%s: %v is not an ISO 8601 date", at, key, m[key])
	}
}

func (v *validator) optArray(at string, x any) []any {
	if x == nil {
		return nil
	}
	a, ok := x.([]any)
	if !ok {
		v.fail("%s: %T where an array belongs", at, x)
	}
	return a
}

func (v *validator) pairs(at string, m map[string]any, key string) {
	for i, x := range v.optArray(at+"."+key, m[key]) {
		p := v.object(fmt.Sprintf("%s.%s[%d]", at, key, i), x)
		v.str(fmt.Sprintf("%s.%s[%d]", at, key, i), p, "name")
		v.str(fmt.Sprintf("%s.%s[%d]", at, key, i), p, "value")
	}
}

func (v *validator) entry(at string, x any) {
	e := v.object(at, x)
	v.date(at, e, "startedDateTime")
	v.number(at, e, "time")

	req := v.object(at+".request", e["request"])
	for _, k := range []string{"method", "url", "httpVersion"} {
		v.str(at+".request", req, k)
	}
	for _, k := range []string{"cookies", "headers", "queryString"} {
		v.pairs(at+".request", req, k)
	}
	v.number(at+".request", req, "headersSize")
	v.number(at+".request", req, "bodySize")
	if pd, ok := req["postData"]; ok && pd != nil {
		p := v.object(at+".request.postData", pd)
		v.str(at+".request.postData", p, "mimeType")
		v.str(at+".request.postData", p, "text")
	}

	resp := v.object(at+".response", e["response"])
	v.number(at+".response", resp, "status")
	for _, k := range []string{"statusText", "httpVersion", "redirectURL"} {
		v.str(at+".response", resp, k)
	}
	v.pairs(at+".response", resp, "cookies")
	v.pairs(at+".response", resp, "headers")
	v.number(at+".response", resp, "headersSize")
	v.number(at+".response", resp, "bodySize")
	content := v.object(at+".response.content", resp["content"])
	v.number(at+".response.content", content, "size")
	v.optNumber(at+".response.content", content, "compression")
	v.str(at+".response.content", content, "mimeType")

	timings := v.object(at+".timings", e["timings"])
	for _, k := range []string{"send", "wait", "receive"} {
		v.number(at+".timings", timings, k)
	}
	for _, k := range []string{"blocked", "dns", "connect", "ssl"} {
		v.optNumber(at+".timings", timings, k)
	}

	for i, m := range v.optArray(at+"._webSocketMessages", e["_webSocketMessages"]) {
		mat := fmt.Sprintf("%s._webSocketMessages[%d]", at, i)
		msg := v.object(mat, m)
		v.str(mat, msg, "type")
		v.number(mat, msg, "time")
		v.number(mat, msg, "opcode")
		v.str(mat, msg, "data")
	}
}
