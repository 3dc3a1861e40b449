package leak

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/capture"
	"telltale.dev/protocols"
)

// Encoders used to build request bodies in tests, the way senders do.

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zl(b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func deflateRaw(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func b64(b []byte) []byte { return []byte(base64.StdEncoding.EncodeToString(b)) }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// javaJSON escapes '/' the way Android's org.json does.
func javaJSON(v any) []byte { return bytes.ReplaceAll(mustJSON(v), []byte("/"), []byte(`\/`)) }

// pbString is a protobuf length-delimited field.
func pbString(field int, payload []byte) []byte {
	b := binary.AppendUvarint(nil, uint64(field<<3|2))
	b = binary.AppendUvarint(b, uint64(len(payload)))
	return append(b, payload...)
}

func pbVarint(field int, v uint64) []byte {
	return binary.AppendUvarint(binary.AppendUvarint(nil, uint64(field<<3)), v)
}

func javaHash(s string) int32 {
	var h int32
	for _, r := range s {
		h = 31*h + r
	}
	return h
}

// saEvent is one Sensors Analytics event as telemetry.md describes it.
func saEvent(event string, props map[string]any) map[string]any {
	p := map[string]any{
		"$os": "Android", "$os_version": "10", "$manufacturer": "Xiaomi", "$model": "Redmi Note 8",
		"$brand": "Redmi", "$app_version": "12.1.0", "$screen_width": 1080, "$screen_height": 2340,
		"$carrier": "T-Mobile", "$device_id": "a1b2c3d4e5f60718", "$timezone_offset": -60,
		"$app_id": "com.mi.globalbrowser", "$app_name": "Mi Browser", "$wifi": true,
		"$network_type": "WIFI", "$is_first_day": false,
	}
	for k, v := range props {
		p[k] = v
	}
	return map[string]any{
		"_track_id": 1234567, "time": 1588000000000, "type": "track", "distinct_id": "a1b2c3d4e5f60718",
		"anonymous_id": "a1b2c3d4e5f60718", "login_id": "", "event": event,
		"lib":        map[string]any{"$lib": "Android", "$lib_version": "3.2.11", "$app_version": "12.1.0", "$lib_method": "code"},
		"properties": p, "_flush_time": 1588000001000,
	}
}

// saBody is the form body: crc=<hashCode>&gzip=1&data_list=<base64(gzip(json))>.
func saBody(events ...map[string]any) []byte {
	data := base64.StdEncoding.EncodeToString(gz(javaJSON(events)))
	return []byte(fmt.Sprintf("crc=%d&gzip=1&data_list=%s", javaHash(data), url.QueryEscape(data)))
}

func saFlow(seq int64, events ...map[string]any) capture.Flow {
	return post(seq, "https://sa.api.intl.miui.com/sa?project=mibrowser",
		[]capture.Header{{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}}, saBody(events...))
}

func post(seq int64, u string, hs []capture.Header, body []byte) capture.Flow {
	return capture.Flow{Seq: seq, Kind: capture.KindHTTP, Request: &capture.Request{
		Method: "POST", URL: u, Proto: "HTTP/1.1", Headers: hs, Body: body, BodySize: int64(len(body)),
	}, Response: &capture.Response{Status: 200}}
}

// oneTrack returns the key exchange and an upload of events, as telemetry.md
// describes: AES-ECB/PKCS5(gzip(JSON array)) with OT_* headers.
func oneTrack(seq int64, key []byte, sid string, keyText string, events ...map[string]any) []capture.Flow {
	kg := post(seq, "https://tracking.intl.miui.com/track/key_get",
		[]capture.Header{{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}},
		[]byte("secretKey="+url.QueryEscape(base64.StdEncoding.EncodeToString([]byte("rsa-encrypted-key")))+"&sign=abc"))
	kg.Response.Body = mustJSON(map[string]any{"code": 0, "data": map[string]any{"key": keyText, "sid": sid}})
	body, err := protocols.EncryptECB(key, gz(mustJSON(events)))
	if err != nil {
		panic(err) // a test's fixed key of the wrong size
	}
	up := post(seq+1, "https://tracking.intl.miui.com/track/v4", []capture.Header{
		{Name: "Content-Type", Value: "application/octet-stream"}, {Name: "OT_SID", Value: sid},
		{Name: "OT_ts", Value: "1588000000000"}, {Name: "OT_net", Value: "WIFI"},
		{Name: "OT_sender", Value: "com.miui.home"}, {Name: "OT_protocol", Value: "3.0"},
	}, body)
	return []capture.Flow{kg, up}
}

func otEvent(event string, props map[string]any) map[string]any {
	e := map[string]any{"event": event, "imei": "86" + strings.Repeat("7", 13), "model": "Mi 9T", "miui": "V11.0.3.0"}
	for k, v := range props {
		e[k] = v
	}
	return e
}

var testCanaries = func() []canary.Canary {
	g := canary.NewGenerator(1)
	return []canary.Canary{g.URL("url1"), g.Search("search1"), g.Package("pkg1"), g.Folder("folder1"),
		g.SSID("ssid1"), g.SettingValue("setting1"), g.Number("level1")}
}()

func byID(id string) canary.Canary {
	for _, c := range testCanaries {
		if c.ID == id {
			return c
		}
	}
	panic(id)
}

func chainString(c []string) string { return strings.Join(c, " > ") }

// findingsFor returns "where: chain" for every finding of id.
func findingsFor(rep Report, id string) []string {
	var out []string
	for _, f := range rep.Findings {
		if f.Canary == id {
			out = append(out, f.Where+": "+chainString(f.Chain))
		}
	}
	return out
}

func dump(t *testing.T, rep Report) {
	t.Helper()
	for _, f := range rep.Findings {
		t.Logf("  %s entry %d %s %s: %s | %q", f.Canary, f.Entry, f.Host, f.Where, chainString(f.Chain), f.Evidence)
	}
}

var _ = hex.EncodeToString
