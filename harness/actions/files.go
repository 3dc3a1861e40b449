package actions

import (
	"context"
	"fmt"
	"strings"

	"telltale.dev/devices/adb"
	"telltale.dev/devices/profiles"
	"telltale.dev/fixtures/canary"
	"telltale.dev/harness/journal"
	"telltale.dev/harness/session"
)

// CreateFolder makes a folder named by the canary in the file manager's
// "Create new folder" dialog and opens it, which is what the app reports
// (flow create-folder, with ${name}); a shell mkdir reports nothing. The
// folder lands in the app's storage root (the profile's folder_root);
// teardown removes it.
func CreateFolder(ctx context.Context, s *session.Session, name canary.Canary) (*Result, error) {
	p := phoneOf(s)
	root := s.Profile().Actions.FolderRoot
	if root == "" {
		root = "/sdcard"
	}
	path := strings.TrimSuffix(root, "/") + "/" + name.Value
	return window(ctx, s, profiles.ActionCreateFolder, []canary.Canary{name}, func(ctx context.Context) error {
		if err := p.ready(ctx); err != nil {
			return err
		}
		if err := s.Record(journal.Entry{Op: journal.OpFile, Path: path}); err != nil {
			return err
		}
		if err := p.flow(ctx, profiles.ActionCreateFolder, map[string]string{"name": name.Value}); err != nil {
			return err
		}
		out, err := s.Shell(ctx, "[ -d "+adb.Quote(path)+" ] && echo folder || echo none")
		if err != nil {
			return err
		}
		if strings.TrimSpace(out) != "folder" {
			return fmt.Errorf("create-folder: the flow ended but %s is not a folder on the phone: the app made it elsewhere, or not at all", path)
		}
		return nil
	})
}
