package restore

import (
	"reflect"
	"testing"
)

func TestSnapshotDiff(t *testing.T) {
	a := Snapshot{"global": {"http_proxy": ":0", "wifi_on": "1"}, "secure": {"x": "1"}}
	b := Snapshot{"global": {"http_proxy": "127.0.0.1:8080", "wifi_on": "1"}, "secure": {}, "system": {"new": "v"}}
	got := a.Diff(b)
	want := []string{
		`global:http_proxy was ":0", now "127.0.0.1:8080"`,
		`secure:x was "1", now unset`,
		`system:new was unset, now "v"`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("diff\n%q\nwant\n%q", got, want)
	}
	if d := a.Diff(a); len(d) != 0 {
		t.Fatalf("a snapshot differs from itself: %v", d)
	}
}
