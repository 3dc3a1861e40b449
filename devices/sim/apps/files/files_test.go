package files_test

import (
	"fmt"
	"testing"

	"telltale.dev/devices/sim/apps/files"
	"telltale.dev/devices/sim/apps/internal/apptest"
	"telltale.dev/devices/sim/ui"
	"telltale.dev/devices/sim/ui/widget"
	"telltale.dev/devices/sim/vfs"
)

const pkg = "com.mi.android.globalFileexplorer"

func open(t *testing.T, props apptest.Props) (apptest.Screen, apptest.Env) {
	env := apptest.NewEnv(t, pkg, 10050)
	for k, v := range props {
		env.Props[k] = v
	}
	for _, d := range []string{"/sdcard/DCIM", "/sdcard/Download", "/sdcard/.hidden"} {
		if err := env.Files.Mkdir(d, 0o771, vfs.ShellUID); err != nil {
			t.Fatal(err)
		}
	}
	return apptest.Screen{T: t, Act: files.New(env.Env).NewActivity("com.android.fileexplorer.FileExplorerTabActivity")}, env
}

func TestFirstRunTabsFoldersAndNewFolder(t *testing.T) {
	s, env := open(t, nil)
	s.Tap(apptest.ID(pkg + ":id/confirm_btn"))
	if s.Find(apptest.ID("confirm_btn")) != nil {
		t.Fatal("the privacy page stayed after Accept & continue")
	}
	// A folder made from the shell is listed, and reports nothing.
	if err := env.Files.Mkdir("/sdcard/canary-shell", 0o771, vfs.ShellUID); err != nil {
		t.Fatal(err)
	}
	s.Tap(apptest.Desc("Storage"))
	s.Must(apptest.Text("canary-shell"))
	if s.Find(apptest.Text(".hidden")) != nil {
		t.Error("hidden folders show by default")
	}
	if got := env.Events.Take(); len(got) != 0 {
		t.Errorf("events before any folder was opened: %q", got)
	}

	s.Tap(apptest.Desc("More options"))
	s.Tap(apptest.Text("Create new folder"))
	field := s.Must(apptest.Selector{Class: "android.widget.EditText"})
	if field.Text != "Unnamed folder" || !field.Focused || s.Find(apptest.Text("Name folder")) == nil {
		t.Fatalf("dialog:\n%s", apptest.Outline(s.Top()))
	}
	s.Type("bad/name")
	s.Tap(apptest.ID("android:id/button1"))
	s.Must(apptest.Text("Invalid folder name"))
	for range "bad/name" {
		s.Key(widget.KeyDel)
	}
	s.Tap(apptest.ID("android:id/button1"))
	s.Must(apptest.Text("Folder name can't be empty"))
	s.Type("canary-app")
	s.Tap(apptest.ID("android:id/button1"))
	if info, err := env.Files.StatInfo("/sdcard/canary-app"); err != nil || !info.IsDir || info.UID != 10050 {
		t.Fatalf("new folder: %+v %v", info, err)
	}
	s.Tap(apptest.Text("canary-app"))
	s.Must(apptest.Text("Internal shared storage > canary-app"))
	want := fmt.Sprintf("[event.FolderOpened{Package:%s Path:/sdcard/canary-app}]", pkg)
	if got := env.Events.Take(); fmt.Sprint(got) != want {
		t.Errorf("events %q, want %s", got, want)
	}
	if !s.Key(widget.KeyBack) || s.Find(apptest.Text("canary-shell")) == nil {
		t.Error("BACK did not go up a folder")
	}
	if s.Key(widget.KeyBack) {
		t.Error("BACK at the top of the storage should leave the app")
	}
	// The consent is kept in the app's data.
	again := apptest.Screen{T: t, Act: files.New(env.Env).NewActivity("x")}
	if again.Find(apptest.ID("confirm_btn")) != nil {
		t.Error("the privacy page came back")
	}
}

func TestLongFolderListsScroll(t *testing.T) {
	s, env := open(t, nil)
	s.Tap(apptest.ID("confirm_btn"))
	for i := range 40 {
		if err := env.Files.Mkdir(fmt.Sprintf("/sdcard/f%02d", i), 0o771, vfs.ShellUID); err != nil {
			t.Fatal(err)
		}
	}
	s.Tap(apptest.Desc("Storage"))
	if s.Find(apptest.Text("f39")) != nil {
		t.Fatal("forty folders fit on one screen")
	}
	list := s.Must(apptest.ID(pkg + ":id/file_list"))
	if !list.Scrollable {
		t.Fatal("the list is not scrollable")
	}
	for range 10 {
		if s.Find(apptest.Text("f39")) != nil {
			break
		}
		s.Swipe(ui.Point{X: 540, Y: list.Bounds.Bottom - 50}, ui.Point{X: 540, Y: list.Bounds.Top + 50})
	}
	s.Tap(apptest.Text("f39"))
	if got := env.Events.Take(); len(got) != 1 {
		t.Errorf("events %q", got)
	}
}

func TestPortuguese(t *testing.T) {
	s, _ := open(t, apptest.Props{"persist.sys.locale": "pt-BR"})
	s.Tap(apptest.ID("confirm_btn"))
	s.Tap(apptest.Desc("Armazenamento"))
	s.Tap(apptest.Desc("Mais opções"))
	s.Tap(apptest.Text("Criar pasta"))
	s.Must(apptest.Text("Inserir nome da pasta"))
	s.Must(apptest.Text("Nova pasta"))
	s.Must(apptest.Text("Cancelar"))
}
