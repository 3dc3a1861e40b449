package netstack

import (
	"crypto/x509"
	"strings"

	"telltale.dev/devices/sim/vfs"
)

// Paths of the phone's CA stores.
const (
	SystemCADir = "/system/etc/security/cacerts"
	// APEXCADir is where Android 14 (sdk 34) and later read system CAs from.
	APEXCADir = "/apex/com.android.conscrypt/cacerts"
	UserCADir = "/data/misc/user/0/cacerts-added"
)

// TrustedCAs returns the CAs a platform TLS client (Conscrypt, Cronet)
// trusts: the system store the firmware reads (the APEX copy from sdk 34),
// plus the user store for apps whose network security config opts in.
func (s *Stack) TrustedCAs(userStore bool) *x509.CertPool {
	dirs := []string{SystemCADir}
	if s.cfg.SDK >= 34 {
		dirs = []string{APEXCADir}
	}
	if userStore {
		dirs = append(dirs, UserCADir)
	}
	return CertPool(s.cfg.Files, dirs...)
}

// CertPool reads every certificate in dirs, for TLS stacks that read a
// store themselves (Dart reads /system/etc/security/cacerts on every
// Android version, dart-lang/sdk#48056). Unreadable files are skipped, as
// Conscrypt does.
func CertPool(files *vfs.FS, dirs ...string) *x509.CertPool {
	pool := x509.NewCertPool()
	for _, dir := range dirs {
		entries, err := files.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if e.IsDir || strings.HasPrefix(e.Name, ".") {
				continue
			}
			b, err := files.ReadFile(dir + "/" + e.Name)
			if err != nil {
				continue
			}
			pool.AppendCertsFromPEM(b)
		}
	}
	return pool
}
