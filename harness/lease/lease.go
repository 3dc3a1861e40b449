// Package lease finds phones on adb servers, matches each to its model profile
// and firmware by its build properties, and holds a phone for one process at
// a time, so two runs (or two Ginkgo processes of one run) never drive it.
package lease

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"telltale.dev/devices/adb"
	"telltale.dev/devices/profiles"
)

// EnvADB lists the adb servers to lease devices from, comma separated.
const EnvADB = "TELLTALE_ADB"

// Servers parses a comma-separated list of adb server addresses; empty
// means $TELLTALE_ADB, then the default local server.
func Servers(list string) ([]string, error) {
	if strings.TrimSpace(list) == "" {
		list = os.Getenv(EnvADB)
	}
	var out []string
	for _, a := range strings.Split(list, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		s, err := adb.ParseServer(a)
		if err != nil {
			return nil, err
		}
		out = append(out, adb.New(s).Addr())
	}
	if len(out) == 0 {
		out = []string{adb.New(adb.Server{}).Addr()}
	}
	return out, nil
}

// ConnectRemote has the adb server at server `adb connect` each address in
// the comma-separated list: how device farms (DeviceFarmer/STF remote
// connect) and emulators on other hosts are reached. Already connected
// addresses are fine.
func ConnectRemote(ctx context.Context, server, list string) error {
	s, err := adb.ParseServer(server)
	if err != nil {
		return err
	}
	c := adb.New(s)
	for _, addr := range strings.Split(list, ",") {
		if addr = strings.TrimSpace(addr); addr == "" {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, discoverTimeout)
		err := c.Connect(cctx, addr)
		if err == nil {
			err = c.Device(addr).WaitForDevice(cctx)
		}
		cancel()
		if err != nil {
			return fmt.Errorf("adb connect %s through %s: %w", addr, c.Addr(), err)
		}
	}
	return nil
}

// Filter selects devices. Empty fields match everything.
type Filter struct {
	// Models are profile names ("redmi-note-8"), display names or
	// ro.product.device codenames ("ginkgo"), matched case-insensitively.
	Models []string
	// Serial is matched against the device serial.
	Serial *regexp.Regexp
	// Firmware is a full version or its short form ("V11.0.3.0").
	Firmware string
}

// Lease is one device found on an adb server, matched to a profile. It is
// plain data so the first Ginkgo process can hand leases to the others.
type Lease struct {
	Server   string `json:"server"` // adb server host:port
	Serial   string `json:"serial"`
	Profile  string `json:"profile"`  // profile name
	Firmware string `json:"firmware"` // full firmware version
	Model    string `json:"model"`    // display name
}

// Name is how specs and logs call the device: "redmi-note-8 V11.0.3.0.PCOMIXM (127.0.0.1:7001)".
func (l Lease) Name() string { return fmt.Sprintf("%s %s (%s)", l.Profile, l.Firmware, l.Serial) }

// Skipped is a device Discover saw but did not lease, with the reason.
type Skipped struct {
	Server, Serial, Reason string
}

// discoverTimeout bounds the listing of one server plus the property reads
// of its devices.
const discoverTimeout = 20 * time.Second

// Discover lists every device in state "device" on every server, matches it
// to a profile by its build properties, and keeps those the filter selects.
// Leases come back sorted by server then serial, so every Ginkgo process that
// calls Discover builds the same spec tree.
func Discover(ctx context.Context, servers []string, profs []*profiles.Profile, f Filter) ([]Lease, []Skipped, error) {
	var leases []Lease
	var skipped []Skipped
	for _, addr := range servers {
		s, err := adb.ParseServer(addr)
		if err != nil {
			return nil, nil, err
		}
		c := adb.New(s)
		sctx, cancel := context.WithTimeout(ctx, discoverTimeout)
		infos, err := c.ListDevices(sctx)
		if err != nil {
			cancel()
			return nil, nil, fmt.Errorf("list devices on adb server %s: %w", addr, err)
		}
		for _, in := range infos {
			if f.Serial != nil && !f.Serial.MatchString(in.Serial) {
				continue
			}
			if in.State != "device" {
				skipped = append(skipped, Skipped{addr, in.Serial, "state " + in.State})
				continue
			}
			props, err := c.Device(in.Serial).Properties(sctx)
			if err != nil {
				skipped = append(skipped, Skipped{addr, in.Serial, "read properties: " + err.Error()})
				continue
			}
			p, fw, why := Match(profs, props)
			if p == nil {
				skipped = append(skipped, Skipped{addr, in.Serial, why})
				continue
			}
			l := Lease{Server: c.Addr(), Serial: in.Serial, Profile: p.Name, Firmware: fw.Version, Model: p.DisplayName}
			if why := f.reject(p, l); why != "" {
				skipped = append(skipped, Skipped{addr, in.Serial, why})
				continue
			}
			leases = append(leases, l)
		}
		cancel()
	}
	sort.Slice(leases, func(i, j int) bool {
		if leases[i].Server != leases[j].Server {
			return leases[i].Server < leases[j].Server
		}
		return leases[i].Serial < leases[j].Serial
	})
	return leases, skipped, nil
}

func (f Filter) reject(p *profiles.Profile, l Lease) string {
	if len(f.Models) > 0 {
		ok := false
		for _, m := range f.Models {
			if strings.EqualFold(m, p.Name) || strings.EqualFold(m, p.DisplayName) || containsFold(p.Devices, m) {
				ok = true
			}
		}
		if !ok {
			return "model " + p.Name + " not selected"
		}
	}
	if f.Firmware != "" && !FirmwareMatches(l.Firmware, f.Firmware) {
		return "firmware " + l.Firmware + " not selected"
	}
	return ""
}

// FirmwareMatches says whether a full version is selected by want, which is
// the full version or its first four dot parts.
func FirmwareMatches(full, want string) bool {
	return strings.EqualFold(full, want) || strings.EqualFold((&profiles.Firmware{Version: full}).Short(), want)
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// Match finds the profile for the device's ro.product.device, and the
// firmware whose own properties all equal the device's. The reason says what
// to do when nothing matches.
func Match(profs []*profiles.Profile, props map[string]string) (*profiles.Profile, *profiles.Firmware, string) {
	dev := props["ro.product.device"]
	p := profiles.Match(profs, dev)
	if p == nil {
		return nil, nil, fmt.Sprintf("no profile for ro.product.device %q: add one (%s)", dev, profiles.EnvDir)
	}
	for j := range p.Firmware {
		if fw := &p.Firmware[j]; firmwarePropsMatch(fw, props) {
			return p, fw, ""
		}
	}
	return nil, nil, fmt.Sprintf("profile %s has no firmware matching %s (incremental %q): add it to the profile",
		p.Name, props["ro.build.fingerprint"], props["ro.build.version.incremental"])
}

func firmwarePropsMatch(fw *profiles.Firmware, props map[string]string) bool {
	if len(fw.Props) == 0 {
		return props["ro.build.version.incremental"] == fw.Version || props["ro.build.display.id"] == fw.Version
	}
	for k, v := range fw.Props {
		if props[k] != v {
			return false
		}
	}
	return true
}

// Lock holds a device for one process: an exclusive flock on a file named
// for the server and serial, so two telltale runs (or two processes of one
// run) never drive the same phone. The kernel drops it if the process dies.
type Lock struct{ f *os.File }

// ErrLeased is returned when another process holds the device.
var ErrLeased = errors.New("device is leased by another telltale process")

// unsafeName is what a lock file name may not hold.
var unsafeName = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

// Acquire takes the lease lock for l without waiting.
func Acquire(l Lease) (*Lock, error) {
	name := "telltale-lease-" + unsafeName.ReplaceAllString(l.Server+"-"+l.Serial, "_") + ".lock"
	f, err := os.OpenFile(filepath.Join(os.TempDir(), name), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lease %s: %w", l.Serial, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		pid, _ := os.ReadFile(f.Name())
		f.Close()
		return nil, fmt.Errorf("%w: %s on %s (holder pid %s; lock %s)", ErrLeased, l.Serial, l.Server,
			strings.TrimSpace(string(pid)), filepath.Join(os.TempDir(), name))
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return &Lock{f: f}, nil
}

// Release lets the device go.
func (k *Lock) Release() {
	if k == nil || k.f == nil {
		return
	}
	_ = syscall.Flock(int(k.f.Fd()), syscall.LOCK_UN)
	k.f.Close()
	k.f = nil
}
