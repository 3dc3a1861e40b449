package app

import (
	"fmt"
	"path"

	"telltale.dev/devices/sim/identity"
	"telltale.dev/devices/sim/vfs"
)

// DataDir makes (if needed) and returns a package's private data
// directory, /data/data/PKG, as installd's create_app_data lays it out:
// /data/data the system's (0771), the package's directory its uid's
// (0700). Made here when first used, where a phone makes it at install
// (modeled).
func DataDir(files *vfs.FS, pkg string, uid uint32) (string, error) {
	dir := path.Join("/data/data", pkg)
	for _, d := range []struct {
		p     string
		perm  uint32
		owner uint32
	}{{"/data/data", 0o771, identity.System}, {dir, 0o700, uid}} {
		if _, err := files.StatInfo(d.p); err == nil {
			continue
		}
		if err := files.MkdirAll(d.p, d.perm, vfs.RootUID); err != nil {
			return "", fmt.Errorf("app: making %s: %w", d.p, err)
		}
		if err := files.Chown(d.p, d.owner, d.owner, vfs.RootUID); err != nil {
			return "", fmt.Errorf("app: owning %s: %w", d.p, err)
		}
	}
	return dir, nil
}
