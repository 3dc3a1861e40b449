package sim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"maps"
	"math/big"
	"path"
	"slices"
	"sync"
	"time"

	"telltale.dev/devices/sim/netstack"
	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/system/packages"
	"telltale.dev/devices/sim/vfs"
)

// newFS lays out the file system a firmware boots with: the user storage,
// /data/local/tmp, the CA stores with a few stand-in roots, and a file for
// each system package. /system (and on sdk 34+ the conscrypt APEX) ends up
// read-only, as on a phone.
func newFS(sdk int, systemPkgs []string) (*vfs.FS, error) {
	roots := []string{"/system"}
	if sdk >= 34 {
		roots = append(roots, "/apex/com.android.conscrypt")
	}
	fs := vfs.New(roots...)
	type dir struct {
		path string
		perm uint32
		uid  uint32
	}
	dirs := []dir{
		{"/sdcard", 0o777, vfs.ShellUID},
		{"/sdcard/Download", 0o777, vfs.ShellUID},
		{"/sdcard/DCIM", 0o777, vfs.ShellUID},
		{"/data/local/tmp", 0o771, vfs.ShellUID},
		{"/data/app", 0o771, vfs.RootUID},
		{netstack.UserCADir, 0o755, vfs.RootUID},
		{"/system/bin", 0o755, vfs.RootUID},
		{"/system/app", 0o755, vfs.RootUID},
		{netstack.SystemCADir, 0o755, vfs.RootUID},
		{"/proc", 0o555, vfs.RootUID},
		{"/dev", 0o755, vfs.RootUID},
	}
	storeDirs := []string{netstack.SystemCADir}
	if sdk >= 34 {
		dirs = append(dirs, dir{netstack.APEXCADir, 0o755, vfs.RootUID})
		storeDirs = append(storeDirs, netstack.APEXCADir)
	}
	// The image is written under what will be read-only mounts, so open them first.
	for _, r := range roots {
		if err := fs.Remount(r, false); err != nil {
			return nil, err
		}
	}
	for _, d := range dirs {
		if err := fs.MkdirAll(d.path, d.perm, vfs.RootUID); err != nil {
			return nil, fmt.Errorf("sim: lay out %s: %w", d.path, err)
		}
		if err := fs.Chown(d.path, d.uid, d.uid, vfs.RootUID); err != nil {
			return nil, err
		}
		if err := fs.Chmod(d.path, d.perm, vfs.RootUID); err != nil {
			return nil, err
		}
	}
	cas, err := placeholderCAs()
	if err != nil {
		return nil, err
	}
	for _, dir := range storeDirs {
		for name, pem := range cas {
			if err := fs.WriteFile(dir+"/"+name, pem, 0o644, vfs.RootUID, false); err != nil {
				return nil, err
			}
		}
	}
	for _, pkg := range systemPkgs {
		p := packages.SystemPath(pkg)
		if err := fs.MkdirAll(path.Dir(p), 0o755, vfs.RootUID); err != nil {
			return nil, err
		}
		if err := fs.WriteFile(p, []byte("PK\x03\x04"), 0o644, vfs.RootUID, false); err != nil {
			return nil, err
		}
	}
	for _, r := range roots {
		if err := fs.Remount(r, true); err != nil {
			return nil, err
		}
	}
	return fs, nil
}

// installTools puts the phone's commands in /system/bin, where PATH and
// `which` find them: toybox's applets as links to toybox, the framework's
// tools (am, pm, settings ...) as scripts, and /bin as a link to
// /system/bin, as on Android 10 and later.
func installTools(fs *vfs.FS, commands map[string]shell.Func, applets map[string]shell.Func) error {
	if err := fs.Remount("/system", false); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(commands)) {
		p := "/system/bin/" + name
		var err error
		// Applets are links to the toybox binary, as on Android; toybox
		// itself is the file they point at.
		if _, ok := applets[name]; ok && name != "toybox" {
			err = fs.Symlink("toybox", p, vfs.RootUID)
		} else {
			err = fs.WriteFile(p, []byte("#!/system/bin/sh\n"), 0o755, vfs.RootUID, false)
		}
		if err != nil {
			return fmt.Errorf("sim: install %s: %w", p, err)
		}
	}
	if err := fs.Symlink("/system/bin", "/bin", vfs.RootUID); err != nil {
		return fmt.Errorf("sim: link /bin: %w", err)
	}
	return fs.Remount("/system", true)
}

// The system store holds a few stand-ins for the real root CAs, so the
// directory looks like a phone's and a test CA is one among several. Their
// keys are thrown away: nothing can be signed by them. Their validity is
// fixed, as a firmware's roots are.
var placeholderCAs = sync.OnceValues(func() (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, cn := range []string{"Telltale Placeholder Root CA 1", "Telltale Placeholder Root CA 2", "Telltale Placeholder Root CA 3"} {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("sim: make placeholder CA: %w", err)
		}
		serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
		if err != nil {
			return nil, fmt.Errorf("sim: make placeholder CA: %w", err)
		}
		tmpl := &x509.Certificate{
			SerialNumber:          serial,
			Subject:               pkix.Name{CommonName: cn, Organization: []string{"telltale simulated phone"}},
			NotBefore:             time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC),
			NotAfter:              time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC),
			IsCA:                  true,
			BasicConstraintsValid: true,
			KeyUsage:              x509.KeyUsageCertSign,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			return nil, fmt.Errorf("sim: make placeholder CA: %w", err)
		}
		// Android names store files by the old OpenSSL subject hash; a hash
		// of the subject gives names of the same shape.
		h := sha1.Sum([]byte(cn))
		out[fmt.Sprintf("%x.0", h[:4])] = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	return out, nil
})
