package documentsui_test

import (
	"fmt"
	"testing"

	"telltale.dev/devices/sim/apps/documentsui"
	"telltale.dev/devices/sim/apps/internal/apptest"
	"telltale.dev/devices/sim/ui/widget"
	"telltale.dev/devices/sim/vfs"
)

const (
	pkg    = documentsui.Package
	device = "Android SDK built for x86_64"
)

func open(t *testing.T) (apptest.Screen, apptest.Env) {
	env := apptest.NewEnv(t, pkg, 10061)
	if err := env.Settings.Put("global", "device_name", device, vfs.RootUID); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"/sdcard/DCIM", "/sdcard/Download", "/sdcard/.hidden"} {
		if err := env.Files.Mkdir(d, 0o771, vfs.ShellUID); err != nil {
			t.Fatal(err)
		}
	}
	return apptest.Screen{T: t, Act: documentsui.New(env.Env).NewActivity("com.android.documentsui.LauncherActivity")}, env
}

// storage opens the drawer and picks the shared storage by its title.
func storage(s apptest.Screen, title string) {
	s.T.Helper()
	s.Tap(apptest.Desc("Show roots"))
	s.Must(apptest.ID(pkg + ":id/roots_list"))
	s.Tap(apptest.Text(title))
}

func TestDrawerStorageAndNewFolder(t *testing.T) {
	s, env := open(t)
	// Files opens on Downloads (default_root_uri), which is empty here.
	s.Must(apptest.Text("Downloads"))
	s.Must(apptest.Text("No items"))
	// A folder made from the shell is listed, and reports nothing.
	if err := env.Files.Mkdir("/sdcard/canary-shell", 0o771, vfs.ShellUID); err != nil {
		t.Fatal(err)
	}
	storage(s, device)
	if s.Find(apptest.ID("roots_list")) != nil {
		t.Error("the drawer stayed open after a root was picked")
	}
	s.Must(apptest.ID(pkg + ":id/dir_list"))
	s.Must(apptest.Text("canary-shell"))
	if s.Find(apptest.Text(".hidden")) != nil {
		t.Error("hidden folders show by default")
	}
	if got := env.Events.Take(); len(got) != 0 {
		t.Errorf("events before any folder was opened: %q", got)
	}

	s.Tap(apptest.Desc("More options"))
	s.Tap(apptest.Text("New folder"))
	field := s.Must(apptest.ID("android:id/text1"))
	if field.Text != "" || !field.Focused || s.Find(apptest.Text("New folder")) == nil {
		t.Fatalf("dialog:\n%s", apptest.Outline(s.Top()))
	}
	s.Type("canary-app")
	s.Tap(apptest.ID("android:id/button1"))
	if info, err := env.Files.StatInfo("/sdcard/canary-app"); err != nil || !info.IsDir || info.UID != 10061 {
		t.Fatalf("new folder: %+v %v", info, err)
	}
	// The app stays in the folder it was in, the new one focused.
	if title := s.Must(apptest.Text("canary-app")); s.Find(apptest.Text(device)) == nil {
		t.Fatalf("the app left %s after creating a folder:\n%s", device, apptest.Outline(s.Top()))
	} else if got := env.Events.Take(); len(got) != 0 {
		t.Errorf("creating a folder opened it: %q", got)
	} else if focus := s.Top().Focus(); focus == nil || !focus.Bounds.Contains(title.Bounds.Center()) {
		t.Errorf("the new folder is not focused: %+v", focus)
	}
	s.Tap(apptest.Text("canary-app"))
	want := fmt.Sprintf("[event.FolderOpened{Package:%s Path:/sdcard/canary-app}]", pkg)
	if got := env.Events.Take(); fmt.Sprint(got) != want {
		t.Errorf("events %q, want %s", got, want)
	}
	s.Must(apptest.Text("No items"))
	if !s.Key(widget.KeyBack) || s.Find(apptest.Text("canary-shell")) == nil {
		t.Error("BACK did not go up a folder")
	}
	if s.Key(widget.KeyBack) {
		t.Error("BACK at the top of a root should leave the app")
	}
}

func TestRecentOffersNoNewFolder(t *testing.T) {
	s, _ := open(t)
	// Downloads, where the app opens, offers it.
	s.Tap(apptest.Desc("More options"))
	s.Must(apptest.Text("New folder"))
	if !s.Key(widget.KeyBack) {
		t.Fatal("BACK did not close the menu")
	}
	s.Tap(apptest.Desc("Show roots"))
	s.Tap(apptest.Text("Recent"))
	s.Tap(apptest.Desc("More options"))
	s.Must(apptest.Text("Select all"))
	if s.Find(apptest.Text("New folder")) != nil {
		t.Fatalf("Recent offers New folder:\n%s", apptest.Outline(s.Top()))
	}
}

// The dialog takes any name; the provider makes a file name of it
// (FileUtils.buildValidFatFilename, buildUniqueFile).
func TestTheProviderFixesNames(t *testing.T) {
	s, env := open(t)
	storage(s, device)
	for _, tc := range []struct{ typed, made string }{
		{"bad/name?", "bad_name_"},
		{"", "(invalid)"},
		{"DCIM", "DCIM (1)"},
	} {
		s.Tap(apptest.Desc("More options"))
		s.Tap(apptest.Text("New folder"))
		if tc.typed != "" {
			s.Type(tc.typed)
		}
		s.Key(widget.KeyEnter)
		if info, err := env.Files.StatInfo("/sdcard/" + tc.made); err != nil || !info.IsDir {
			t.Errorf("%q: no folder %q: %v", tc.typed, tc.made, err)
		}
		if s.Find(apptest.ID("android:id/text1")) != nil {
			t.Fatalf("%q: the dialog stayed", tc.typed)
		}
	}
	// A folder the app may not write to: the folder is not made, and a
	// snackbar says so.
	if err := env.Files.Mkdir("/sdcard/locked", 0o755, vfs.RootUID); err != nil {
		t.Fatal(err)
	}
	s.Tap(apptest.Text("locked"))
	s.Tap(apptest.Desc("More options"))
	s.Tap(apptest.Text("New folder"))
	s.Type("x")
	s.Tap(apptest.ID("android:id/button1"))
	s.Must(apptest.Text("Failed to create folder"))
	if _, err := env.Files.StatInfo("/sdcard/locked/x"); err == nil {
		t.Error("a folder was made where the app may not write")
	}
}

// The storage root is titled with the device name, and "Internal storage"
// when there is none.
func TestStorageTitle(t *testing.T) {
	s, env := open(t)
	s.Tap(apptest.Desc("Show roots"))
	s.Must(apptest.Text(device))
	if err := env.Settings.Put("global", "device_name", "", vfs.RootUID); err != nil {
		t.Fatal(err)
	}
	s.Must(apptest.Text("Internal storage"))
	if err := env.Settings.Put("global", "device_name", "canary-phone", vfs.RootUID); err != nil {
		t.Fatal(err)
	}
	s.Tap(apptest.Text("canary-phone"))
	s.Must(apptest.Text("DCIM"))
}
