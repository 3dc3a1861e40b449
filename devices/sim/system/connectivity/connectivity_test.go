package connectivity_test

import (
	"fmt"
	"testing"

	"telltale.dev/devices/sim/clock"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/system/connectivity"
	"telltale.dev/devices/sim/system/logd"
	"telltale.dev/devices/sim/system/settings"
)

// TestGlobalProxyKeys: setting http_proxy makes the system write the
// global_http_proxy_* keys; ":0" clears them to empty values that stay;
// a bad proxy writes nothing.
func TestGlobalProxyKeys(t *testing.T) {
	var bus event.Bus
	s := settings.New(settings.Config{Bus: &bus})
	connectivity.New(&bus, s, logd.New(clock.Real()))
	keys := func() string {
		var out []string
		for _, k := range []string{"host", "port", "exclusion_list", "pac"} {
			v, ok := s.Setting("global", "global_http_proxy_"+k)
			out = append(out, fmt.Sprintf("%s=%q/%v", k, v, ok))
		}
		return fmt.Sprint(out)
	}
	for _, c := range []struct{ proxy, want string }{
		{"10.0.0.1:bad", `[host=""/false port=""/false exclusion_list=""/false pac=""/false]`},
		{"127.0.0.1:8080", `[host="127.0.0.1"/true port="8080"/true exclusion_list=""/true pac=""/true]`},
		{"proxy.lan", `[host="proxy.lan"/true port="8080"/true exclusion_list=""/true pac=""/true]`},
		{"bad host:1", `[host="proxy.lan"/true port="8080"/true exclusion_list=""/true pac=""/true]`},
		{":0", `[host=""/true port="0"/true exclusion_list=""/true pac=""/true]`},
	} {
		if err := s.Put("global", "http_proxy", c.proxy, 2000); err != nil {
			t.Fatal(err)
		}
		if got := keys(); got != c.want {
			t.Errorf("http_proxy %q:\n got %s\nwant %s", c.proxy, got, c.want)
		}
	}
}
