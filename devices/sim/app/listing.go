package app

import (
	"sort"
	"strings"

	"telltale.dev/devices/sim/vfs"
)

// FoldersFirst orders a directory listing as file managers show it:
// folders before files, each by name regardless of case (modeled: both the
// Mi File Manager and AOSP's Files app list this way by default).
func FoldersFirst(entries []vfs.Info) {
	sort.SliceStable(entries, func(i, j int) bool {
		if entries[i].IsDir != entries[j].IsDir {
			return entries[i].IsDir
		}
		return strings.ToLower(entries[i].Name) < strings.ToLower(entries[j].Name)
	})
}
