package netstack

import (
	"crypto/x509"
	"strings"
)

// Paths of the phone's CA stores.
const (
	SystemCADir = "/system/etc/security/cacerts"
	// APEXCADir is where Android 14 (sdk 34) and later read system CAs from.
	APEXCADir = "/apex/com.android.conscrypt/cacerts"
	UserCADir = "/data/misc/user/0/cacerts-added"
)

// TrustedCAs returns the CAs an app trusts: the system store the firmware
// reads (the APEX copy from sdk 34), plus the user store for apps whose
// network security config opts in. Unreadable files are skipped, as
// Conscrypt does.
func (s *Stack) TrustedCAs(userStore bool) *x509.CertPool {
	pool := x509.NewCertPool()
	dirs := []string{SystemCADir}
	if s.cfg.SDK >= 34 {
		dirs = []string{APEXCADir}
	}
	if userStore {
		dirs = append(dirs, UserCADir)
	}
	for _, dir := range dirs {
		entries, err := s.cfg.Files.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if e.IsDir || strings.HasPrefix(e.Name, ".") {
				continue
			}
			b, err := s.cfg.Files.ReadFile(dir + "/" + e.Name)
			if err != nil {
				continue
			}
			pool.AppendCertsFromPEM(b)
		}
	}
	return pool
}
