package adb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"

	"telltale.dev/devices/adb/wire"
)

func TestServerErrorSentinels(t *testing.T) {
	for msg, want := range map[string]error{
		"device 'x' not found":                  ErrDeviceNotFound,
		"no devices/emulators found":            ErrDeviceNotFound,
		"device offline":                        ErrDeviceOffline,
		"device still authorizing":              ErrDeviceOffline,
		"device unauthorized.\nThis adb server": ErrUnauthorized,
		"closed":                                nil,
		"listener 'tcp:8080' not found":         nil,
	} {
		err := error(&ServerError{Request: "host:x", Msg: msg})
		if got := errors.Unwrap(err); got != want {
			t.Errorf("%q unwraps to %v, want %v", msg, got, want)
		}
		if !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: Error() = %q lacks the server's text", msg, err)
		}
	}
}

func TestEncodeRequest(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"host:version", "000chost:version"},
		{"", "0000"},
		{"host:transport:127.0.0.1:40001", "001ehost:transport:127.0.0.1:40001"},
	} {
		got, err := encodeRequest(tc.in)
		if err != nil || string(got) != tc.want {
			t.Errorf("encodeRequest(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := encodeRequest(strings.Repeat("x", 0x10000)); err == nil {
		t.Error("a 64 KiB request was accepted")
	}
}

func TestParseHexLen(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"0000", 0, true}, {"0029", 41, true}, {"ffff", 65535, true}, {"FFFF", 65535, true},
		{"zzzz", 0, false}, {"-001", 0, false}, {"+001", 0, false}, {"12", 0, false},
	} {
		got, err := parseHexLen([]byte(tc.in))
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseHexLen(%q) = %d, %v", tc.in, got, err)
		}
	}
}

func TestParseDevices(t *testing.T) {
	in := "emulator-5554          device product:sdk_gphone64_x86_64 model:sdk_gphone64_x86_64 device:emu64x transport_id:1\n" +
		"127.0.0.1:40123        offline transport_id:7\n" +
		"0123456789ABCDEF       no permissions (user in plugdev group; are your udev rules wrong?); see [http://developer.android.com/tools/device.html] usb:1-1.2\n" +
		"abc unauthorized usb:3-1 transport_id:2\n" +
		"\n  \n"
	want := []DeviceInfo{
		{Serial: "emulator-5554", State: "device", Product: "sdk_gphone64_x86_64", Model: "sdk_gphone64_x86_64", DeviceName: "emu64x", TransportID: 1},
		{Serial: "127.0.0.1:40123", State: "offline", TransportID: 7},
		{Serial: "0123456789ABCDEF", State: "no permissions (user in plugdev group; are your udev rules wrong?); see [http://developer.android.com/tools/device.html]", USB: "1-1.2"},
		{Serial: "abc", State: "unauthorized", USB: "3-1", TransportID: 2},
	}
	if got := parseDevices(in); !reflect.DeepEqual(got, want) {
		t.Fatalf("parseDevices:\n got %+v\nwant %+v", got, want)
	}
	if got := parseDevices(""); got != nil {
		t.Fatalf("empty listing = %+v", got)
	}
}

func TestDiffDevices(t *testing.T) {
	a := DeviceInfo{Serial: "a", State: "offline"}
	a2 := DeviceInfo{Serial: "a", State: "device"}
	b := DeviceInfo{Serial: "b", State: "device"}
	c := DeviceInfo{Serial: "c", State: "device"}
	got := diffDevices(map[string]DeviceInfo{"a": a, "b": b}, map[string]DeviceInfo{"a": a2, "b": b, "c": c})
	want := []DeviceEvent{{Serial: "a", OldState: "offline", NewState: "device", Info: a2}, {Serial: "c", NewState: "device", Info: c}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("diff = %+v", got)
	}
	got = diffDevices(map[string]DeviceInfo{"b": b}, nil)
	if want := []DeviceEvent{{Serial: "b", OldState: "device", Info: b}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("removal = %+v", got)
	}
}

func TestParseForwards(t *testing.T) {
	got := parseForwards("emulator-5554 tcp:6100 tcp:7100\nUsbFfs tcp:8080 tcp:38123\nbroken line\n")
	want := []ForwardRule{{"emulator-5554", "tcp:6100", "tcp:7100"}, {"UsbFfs", "tcp:8080", "tcp:38123"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parseForwards = %+v", got)
	}
}

func TestParseProps(t *testing.T) {
	got := parseProps("[ro.product.model]: [Redmi Note 8]\r\n[empty]: []\n[x]: [a]: [b]\ngarbage\n[unterminated]: [v\n")
	want := map[string]string{"ro.product.model": "Redmi Note 8", "empty": "", "x": "a]: [b"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parseProps = %q", got)
	}
}

func TestParsePMOutput(t *testing.T) {
	for _, tc := range []struct {
		out        string
		code, msg  string
		wantErrNil bool
	}{
		{out: "Performing Streamed Install\nSuccess\n", wantErrNil: true},
		{out: "Success", wantErrNil: true},
		{out: "Failure [INSTALL_FAILED_ALREADY_EXISTS: Attempt to re-install com.x without first uninstalling.]\n", code: "INSTALL_FAILED_ALREADY_EXISTS", msg: "Attempt to re-install com.x without first uninstalling."},
		{out: "Failure [INSTALL_PARSE_FAILED_NO_CERTIFICATES]", code: "INSTALL_PARSE_FAILED_NO_CERTIFICATES"},
		{out: "Failure [DELETE_FAILED_INTERNAL_ERROR]", code: "DELETE_FAILED_INTERNAL_ERROR"},
		{out: "Failure [not installed for 0]", msg: "not installed for 0"},
		{out: "Error: java.lang.SecurityException: nope", msg: "Error: java.lang.SecurityException: nope"},
		{out: "", msg: "no output and no \"Success\": is pm present on the device?"},
		{out: "NotSuccess", msg: "NotSuccess"},
	} {
		err := parsePMOutput(tc.out)
		if tc.wantErrNil {
			if err != nil {
				t.Errorf("parsePMOutput(%q) = %v, want nil", tc.out, err)
			}
			continue
		}
		var ie *InstallError
		if !errors.As(err, &ie) || ie.Code != tc.code || ie.Message != tc.msg {
			t.Errorf("parsePMOutput(%q) = %#v, want code %q msg %q", tc.out, err, tc.code, tc.msg)
		}
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"plain":        "plain",
		"/sdcard/a.b":  "/sdcard/a.b",
		"k=v,x:y@1%+-": "k=v,x:y@1%+-",
		"":             "''",
		"two words":    "'two words'",
		"it's":         `'it'\''s'`,
		"a;b":          "'a;b'",
		"$HOME":        "'$HOME'",
		"*":            "'*'",
		"~":            "'~'",
		"ü":            "'ü'",
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
	if got := commandLine("am start", []string{"-d", "https://x/?q=a b&c"}); got != "am start -d 'https://x/?q=a b&c'" {
		t.Errorf("commandLine = %s", got)
	}
}

func TestModes(t *testing.T) {
	for _, tc := range []struct {
		unix uint32
		mode os.FileMode
	}{
		{0o100644, 0o644},
		{0o040755, os.ModeDir | 0o755},
		{0o120777, os.ModeSymlink | 0o777},
		{0o020666, os.ModeDevice | os.ModeCharDevice | 0o666},
		{0o060660, os.ModeDevice | 0o660},
		{0o010600, os.ModeNamedPipe | 0o600},
		{0o140755, os.ModeSocket | 0o755},
		{0o104755, os.ModeSetuid | 0o755},
		{0o041777, os.ModeDir | os.ModeSticky | 0o777},
		{0o102755, os.ModeSetgid | 0o755},
	} {
		if got := fileMode(tc.unix); got != tc.mode {
			t.Errorf("fileMode(%o) = %v, want %v", tc.unix, got, tc.mode)
		}
	}
	for _, tc := range []struct {
		mode os.FileMode
		unix uint32
	}{
		{0o644, 0o100644}, {0o755 | os.ModeSetuid, 0o104755}, {0o777 | os.ModeSticky | os.ModeSetgid, 0o103777},
	} {
		if got := unixMode(tc.mode); got != tc.unix {
			t.Errorf("unixMode(%v) = %o, want %o", tc.mode, got, tc.unix)
		}
	}
}

func TestReadStatReply(t *testing.T) {
	st2 := append([]byte(wire.SyncStat2), wire.MarshalStat2(wire.Stat{Mode: 0o100600, Size: 5 << 32, Mtime: 1588248000})...)
	e, err := readStatReply(bytes.NewReader(st2), wire.SyncStat2, "/sdcard/a")
	if err != nil || *e != (DirEntry{Name: "a", Mode: 0o600, Size: 5 << 32, ModTime: time.Unix(1588248000, 0)}) {
		t.Fatalf("STA2 = %+v, %v", e, err)
	}
	missing := append([]byte(wire.SyncStat2), wire.MarshalStat2(wire.Stat{Error: 2})...)
	if _, err := readStatReply(bytes.NewReader(missing), wire.SyncStat2, "/x"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("STA2 ENOENT = %v", err)
	}
	v1 := binary.LittleEndian.AppendUint32([]byte(wire.SyncStat), 0o40755)
	v1 = binary.LittleEndian.AppendUint32(v1, 4096)
	v1 = binary.LittleEndian.AppendUint32(v1, 7)
	if e, err := readStatReply(bytes.NewReader(v1), wire.SyncStat, "/d/"); err != nil || !e.Mode.IsDir() || e.Size != 4096 {
		t.Fatalf("STAT = %+v, %v", e, err)
	}
	if _, err := readStatReply(bytes.NewReader(make([]byte, 16)), wire.SyncStat, "/x"); err == nil {
		t.Fatal("a reply with the wrong id was accepted")
	}
	if _, err := readStatReply(bytes.NewReader(append([]byte(wire.SyncStat), make([]byte, 12)...)), wire.SyncStat, "/x"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("STAT zeros = %v", err)
	}
}

func dent(name string, mode, size, mtime uint32) []byte {
	b := []byte(wire.SyncDent)
	for _, v := range []uint32{mode, size, mtime, uint32(len(name))} {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return append(b, name...)
}

func TestReadDents(t *testing.T) {
	var in []byte
	in = append(in, dent(".", 0o40755, 0, 1)...)
	in = append(in, dent("..", 0o40755, 0, 1)...)
	in = append(in, dent("a b", 0o100644, 3, 2)...)
	in = append(in, wire.SyncDone...)
	in = append(in, make([]byte, 16)...)
	got, err := readDents(bytes.NewReader(in), "/")
	if err != nil || !reflect.DeepEqual(got, []DirEntry{{Name: "a b", Mode: 0o644, Size: 3, ModTime: time.Unix(2, 0)}}) {
		t.Fatalf("readDents = %+v, %v", got, err)
	}
	huge := dent("x", 0, 0, 0)
	binary.LittleEndian.PutUint32(huge[16:], 1<<30)
	if _, err := readDents(bytes.NewReader(huge), "/"); !errors.Is(err, wire.ErrSyncTooLong) {
		t.Fatalf("oversized name: %v", err)
	}
}

// FuzzReplies feeds arbitrary server and device replies to every parser:
// none may panic, allocate without bound or return nonsense.
func FuzzReplies(f *testing.F) {
	f.Add([]byte("emulator-5554 device product:p model:m device:d transport_id:1\n"))
	f.Add([]byte("x no permissions (a; b) usb:1\n[ro.a]: [b]\n"))
	f.Add([]byte("Failure [INSTALL_FAILED_X: y]"))
	f.Add([]byte("s tcp:1 tcp:2\n"))
	f.Add(append(dent("name", 0o100644, 1, 1), []byte("DONE")...))
	f.Add(append([]byte("STA2"), wire.MarshalStat2(wire.Stat{Mode: 0o40755})...))
	f.Add([]byte("STAT\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := string(b)
		for _, d := range parseDevices(s) {
			if d.Serial == "" || strings.ContainsFunc(d.Serial, unicode.IsSpace) || d.State == "" {
				t.Fatalf("parseDevices gave %+v", d)
			}
		}
		for _, r := range parseForwards(s) {
			if r.Serial == "" || r.Local == "" || r.Remote == "" {
				t.Fatalf("parseForwards gave %+v", r)
			}
		}
		for k := range parseProps(s) {
			if strings.ContainsAny(k, "\n") {
				t.Fatalf("parseProps key %q spans lines", k)
			}
		}
		if err := parsePMOutput(s); err != nil {
			var ie *InstallError
			if !errors.As(err, &ie) || (ie.Code == "" && ie.Message == "") {
				t.Fatalf("parsePMOutput(%q) = %#v", s, err)
			}
		}
		if ents, err := readDents(bytes.NewReader(b), "/"); err == nil {
			for _, e := range ents {
				if e.Name == "." || e.Name == ".." {
					t.Fatalf("readDents kept %q", e.Name)
				}
			}
		}
		for _, req := range []string{wire.SyncStat, wire.SyncStat2} {
			if e, err := readStatReply(bytes.NewReader(b), req, "/p"); err == nil && e == nil {
				t.Fatal("readStatReply gave neither entry nor error")
			}
		}
		if n, err := parseHexLen(b); err == nil && (n < 0 || n > maxReply) {
			t.Fatalf("parseHexLen(%q) = %d", b, n)
		}
	})
}
