package protocols

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"
	"unicode/utf16"
)

// Sensors Analytics Android SDK, as the Mi Browser and Mint Browser embed it.
// Wire format: telemetry.md "Sensors Analytics" [S]; defaults: miui-ui.md
// section 8, from sa-sdk-android v4.0.0 (same in v3.2.10) [S].
const (
	// SAPath is the upload path; project names the app's data set.
	SAPath = "/sa"
	// SAFlushInterval: queued events leave this long after the first one
	// was queued (`SAConfigOptions.setFlushInterval`, minimum 5 s).
	SAFlushInterval = 15 * time.Second
	// SAFlushBulkSize: past this many queued events the SDK flushes at once
	// (AnalyticsMessages.enqueueEventMessage: the row count after the insert
	// "> getFlushBulkSize()"; otherwise runMessageOnce(FLUSH_QUEUE,
	// interval), which keeps a flush already scheduled).
	SAFlushBulkSize = 100
	// SABatchSize: events per request; the SDK loops until its table is
	// empty or a request fails (AnalyticsMessages.sendData). In debug mode
	// each request carries one event, every event is flushed at once, and
	// events are deleted even when their request failed.
	SABatchSize      = 50
	SADebugBatchSize = 1
	// SADatabase is the SDK's SQLite file under the app's databases/
	// (DbParams.DATABASE_NAME).
	SADatabase = "sensorsdata"
	// SASessionInterval: after the last activity stops, $AppEnd is tracked
	// and flushed synchronously this long later, so a background flush lands
	// about 30 s after leaving the app.
	SASessionInterval = 30 * time.Second
)

// SAKeepsEvents says whether the SDK keeps the events of a request the
// server answered with status (AnalyticsMessages.isDeleteEventsByCode: 404,
// 403 and 5xx keep them for a later flush; any other error status deletes
// them). A request that got no answer keeps them too.
func SAKeepsEvents(status int) bool {
	return status == 404 || status == 403 || status >= 500 && status < 600
}

// SAUploadPath is the path and query of a project's uploads.
func SAUploadPath(project string) string { return SAPath + "?project=" + url.QueryEscape(project) }

// maxDecoded bounds what the decoders here inflate, so a hostile body cannot
// exhaust memory.
const maxDecoded = 16 << 20

// JavaHashCode is Java's String.hashCode, which the SDK sends as crc:
// s[0]*31^(n-1) + ... over UTF-16 code units, wrapping at 32 bits.
func JavaHashCode(s string) int32 {
	var h int32
	for _, c := range utf16.Encode([]rune(s)) {
		h = 31*h + int32(c)
	}
	return h
}

// EncodeSA builds the form body of one upload: crc=<hashCode of data>&
// gzip=1&data_list=<data>, data = base64(gzip(JSON array of events))
// (`AnalyticsMessages.java`). gzip=9 and 13 are newer encrypted forms.
func EncodeSA(events []map[string]any) ([]byte, error) {
	js, err := json.Marshal(events)
	if err != nil {
		return nil, fmt.Errorf("sensors analytics: %w", err)
	}
	data := base64.StdEncoding.EncodeToString(Gzip(js))
	form := url.Values{}
	form.Set("crc", strconv.Itoa(int(JavaHashCode(data))))
	form.Set("gzip", "1")
	form.Set("data_list", data)
	return []byte(form.Encode()), nil
}

// DecodeSA reverses EncodeSA, checking the crc.
func DecodeSA(body []byte) ([]map[string]any, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("sensors analytics form: %w", err)
	}
	data := form.Get("data_list")
	if crc := form.Get("crc"); crc != strconv.Itoa(int(JavaHashCode(data))) {
		return nil, fmt.Errorf("sensors analytics: crc %s does not match data_list", crc)
	}
	if form.Get("gzip") != "1" {
		return nil, fmt.Errorf("sensors analytics: gzip=%s is not the plain base64+gzip form", form.Get("gzip"))
	}
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, fmt.Errorf("sensors analytics data_list: %w", err)
	}
	js, err := Gunzip(raw)
	if err != nil {
		return nil, err
	}
	var events []map[string]any
	if err := json.Unmarshal(js, &events); err != nil {
		return nil, fmt.Errorf("sensors analytics events: %w", err)
	}
	return events, nil
}

// Gzip compresses b.
func Gzip(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b) // writes to a bytes.Buffer cannot fail
	_ = zw.Close()
	return buf.Bytes()
}

// Gunzip decompresses b, refusing more than 16 MiB of output.
func Gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, maxDecoded+1))
	if err != nil {
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	if len(out) > maxDecoded {
		return nil, fmt.Errorf("gunzip: more than %d bytes", maxDecoded)
	}
	return out, nil
}
