package packages

import (
	"context"
	"strconv"
	"strings"

	"telltale.dev/devices/apk"
	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/shell"
)

// maxAPK bounds an APK read from the phone's files or streamed on stdin.
const maxAPK = 256 << 20

// pmInstall installs from a file on the phone, or from stdin with -S SIZE
// (the streamed form `cmd package install -S` uses).
func (m *Manager) pmInstall(ctx context.Context, sio shell.IO, args []string) int {
	var src string
	size := int64(-1)
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-S" && i+1 < len(args):
			i++
			n, err := strconv.ParseInt(args[i], 10, 64)
			if err != nil || n < 0 || n > maxAPK {
				return errf(sio, "Error: invalid size %q", args[i])
			}
			size = n
		case (a == "-i" || a == "--user" || a == "--install-location" || a == "-p") && i+1 < len(args):
			i++
		case strings.HasPrefix(a, "-"):
		default:
			src = a
		}
	}
	if src == "" {
		src = "-"
	}
	data, code := m.readAPK(sio, src, size)
	if code != 0 {
		return code
	}
	return m.installAPK(ctx, sio, data)
}

// manifestFrom keeps what the package manager needs of an APK's manifest:
// its enabled activities and their intent filters, an alias under its own
// name (what a launcher and dumpsys show).
func manifestFrom(am *apk.Manifest) content.Manifest {
	m := content.Manifest{Package: am.Package, Label: am.Label, VersionName: am.VersionName, VersionCode: am.VersionCode}
	for _, a := range am.Activities {
		if !a.Enabled {
			continue
		}
		info := content.ActivityInfo{Name: a.Name}
		for _, f := range a.Filters {
			info.Filters = append(info.Filters, content.Filter{Actions: f.Actions, Categories: f.Categories})
		}
		m.Activities = append(m.Activities, info)
	}
	return m
}
