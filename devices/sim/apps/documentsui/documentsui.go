// Package documentsui is AOSP's Files app (com.android.documentsui) as
// Android 14 ships it: the toolbar with the navigation button that opens
// the roots drawer, the roots (Recent, Downloads and the shared storage),
// a root's folders, "More options" > "New folder" and its name dialog.
// Opening a folder is what the app reports (event.FolderOpened); a folder
// made with `mkdir` is listed like any other, but nothing is reported
// until the user opens it here.
//
// Sources (read, not copied):
//   - Where it opens: LauncherActivity starts files.FilesActivity, whose
//     ActionHandler.initLocation, given no root, document or stack, calls
//     launchToDefaultLocation -> loadHomeDir -> Shared.getDefaultRootUri,
//     res/values/config.xml default_root_uri =
//     content://com.android.providers.downloads.documents/root/downloads:
//     Downloads, not Recent (LineageOS/android_packages_apps_DocumentsUI
//     src/com/android/documentsui/LauncherActivity.java;
//     CodeLinaro-mirror/la_platform_packages_apps_DocumentsUI
//     src/com/android/documentsui/files/ActionHandler.java and
//     res/values/config.xml).
//   - "New folder" shows only where BaseActivity.canCreateDirectory holds:
//     a current directory that supports create, no search, and not the
//     Recents root (files/MenuManager.updateCreateDir).
//   - The shared storage root is ExternalStorageProvider's primary
//     emulated volume, titled with Settings.Global.DEVICE_NAME, or
//     "Internal storage" (root_internal_storage) when that is empty; its
//     subtitle is its free space, root_available_bytes "%1$s free"
//     (CodeLinaro-mirror/la_platform_frameworks_base
//     packages/ExternalStorageProvider/src/com/android/externalstorage/ExternalStorageProvider.java,
//     updateVolumesLocked). Its FLAG_ADVANCED no longer hides it: the
//     drawer's ProvidersAccess.getMatchingRoots has no such filter
//     (GrapheneOS/platform_packages_apps_DocumentsUI
//     src/com/android/documentsui/roots/ProvidersAccess.java).
//   - Texts (res/values/strings.xml): drawer_open "Show roots" (the
//     toolbar's navigation button), menu_create_dir "New folder" (menu
//     item and dialog title), root_recent "Recent", empty "No items",
//     create_error "Failed to create folder", downloads_label "Downloads".
//     "More options" is the platform's overflow button description.
//   - Ids: the drawer's list roots_list with rows android:id/title and
//     android:id/summary (fragment_roots.xml, item_root.xml); the folder
//     list dir_list (fragment_directory.xml); the dialog's field
//     android:id/text1 (dialog_file_name.xml) and AlertDialog's
//     android:id/button1 (OK) and button2 (Cancel)
//     (CreateDirectoryFragment.java).
//   - After OK: CreateDirectoryTask asks the provider to create the folder
//     and FilesActivity.onDirectoryCreated only focuses the new folder in
//     the list; the app does not open it. A failure shows the
//     create_error snackbar. The dialog itself checks nothing on Android
//     14 (the empty-name check, add_folder_name_error, came later with the
//     Material 3 dialog); the provider fixes the name:
//     FileUtils.buildValidFatFilename turns "", "." and ".." into
//     "(invalid)" and each of "*/:<>?\| and control characters into "_".
//
// Modeled: the LauncherActivity trampoline (its own class shows the
// screens); the other roots (Images, Videos, Audio, Documents) and what
// Recent lists (it shows "No items"); the layout, classes and the
// toolbar's and rows' ids other than those above; the free space shown;
// the overflow menu's other items (only "Select all", which selects
// nothing, keeps it company where "New folder" is absent); a name taken
// getting " (1)" as FileUtils.buildUniqueFile names it; the root's title
// following the setting at each draw (the provider caches it until its
// volumes change); the new folder being focused but not scrolled to;
// the snackbar staying until the next action. Every language uses the
// English texts.
package documentsui

import (
	"fmt"
	"path"
	"strings"
	"sync"

	"telltale.dev/devices/sim/app"
	"telltale.dev/devices/sim/content"
	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/ui"
	"telltale.dev/devices/sim/ui/widget"
)

// Package is the Files app's package.
const Package = "com.android.documentsui"

// Storage is the shared storage the device root shows (/sdcard, which
// points at /storage/emulated/0 on a phone); Downloads is its Download
// folder, which the Downloads root shows.
const (
	Storage   = "/sdcard"
	Downloads = "/sdcard/Download"
)

// English texts (res/values/strings.xml of DocumentsUI; "Internal storage"
// is ExternalStorageProvider's root_internal_storage; "Select all" is
// menu_select_all; the free space is modeled).
const (
	showRoots   = "Show roots"
	moreOptions = "More options"
	newFolder   = "New folder"
	selectAll   = "Select all"
	recentTitle = "Recent"
	downloads   = "Downloads"
	internal    = "Internal storage"
	noItems     = "No items"
	createError = "Failed to create folder"
	freeSpace   = "5.84 GB free"
	okText      = "OK"
	cancelText  = "Cancel"
)

// The roots in the drawer's order (RootsFragment lists Recent first, then
// the providers' roots; modeled subset).
type rootID int

const (
	recentRoot rootID = iota
	downloadsRoot
	storageRoot
)

// App is the Files app's process.
type App struct{ env app.Env }

// New returns the Files app of env's package.
func New(env app.Env) *App { return &App{env: env} }

// NewActivity implements app.App: every launch starts on Downloads.
func (a *App) NewActivity(string) app.Activity {
	return &files{env: a.env, root: downloadsRoot, dir: Downloads}
}

type files struct {
	env app.Env

	mu      sync.Mutex
	root    rootID
	dir     string // the folder shown; "" on Recent
	drawer  bool
	menu    bool
	dialog  bool
	name    widget.Text
	focused string // the folder just created (onDirectoryCreated)
	snack   string
	scroll  widget.Scroll
}

func (f *files) OnIntent(content.Intent) {}

func (f *files) do(change func()) func() {
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		change()
	}
}

// top is the folder at the top of a root, "" for Recent.
func top(r rootID) string {
	switch r {
	case downloadsRoot:
		return Downloads
	case storageRoot:
		return Storage
	}
	return ""
}

// Key: BACK closes the dialog, the menu, then the drawer, then goes up a
// folder, then leaves the app (BaseActivity.onBackPressed, popDir); DEL
// edits the folder's name.
func (f *files) Key(code int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case code == widget.KeyDel && f.dialog:
		return f.name.Key(code)
	case code != widget.KeyBack:
		return false
	case f.dialog:
		f.dialog = false
	case f.menu:
		f.menu = false
	case f.drawer:
		f.drawer = false
	case f.dir != top(f.root):
		f.dir, f.focused, f.snack = path.Dir(f.dir), "", ""
		f.scroll.Reset()
	default:
		return false
	}
	return true
}

// storageTitle is the shared storage root's title: the device name, read
// as the drawer is drawn (modeled: the provider keeps it until its volumes
// change).
func (f *files) storageTitle() string {
	if name, _ := f.env.Settings.Setting("global", "device_name"); name != "" {
		return name
	}
	return internal
}

func (f *files) title(r rootID) string {
	switch r {
	case downloadsRoot:
		return downloads
	case storageRoot:
		return f.storageTitle()
	}
	return recentTitle
}

func (f *files) Screen(r ui.Rect) *ui.Node {
	k := widget.For(f.env.Package, r)
	f.mu.Lock()
	root, dir, drawer, focused, snack := f.root, f.dir, f.drawer, f.focused, f.snack
	f.mu.Unlock()
	y := r.Top + k.StatusBar()
	bar := ui.R(r.Left, y, r.Right, y+k.Dp(56))
	// The toolbar's title is the root's at its top, else the folder's name
	// (NavigationViewManager).
	heading := f.title(root)
	if dir != top(root) {
		heading = path.Base(dir)
	}
	nav := k.View("android.widget.ImageButton", "", ui.R(bar.Left, bar.Top, bar.Left+k.Dp(56), bar.Bottom))
	nav.ContentDesc = showRoots
	toolbar := k.View("android.view.ViewGroup", "toolbar", bar,
		widget.Tappable(nav, f.do(func() { f.drawer = true })),
		k.Label("", heading, ui.R(bar.Left+k.Dp(72), bar.Top, bar.Right-k.Dp(56), bar.Bottom)),
		k.Icon("", moreOptions, ui.R(bar.Right-k.Dp(48), bar.Top, bar.Right, bar.Bottom), f.do(func() { f.menu = true })))
	body := ui.R(r.Left, bar.Bottom, r.Right, r.Bottom)
	views := []*ui.Node{toolbar, f.list(k, body, dir, focused)}
	if snack != "" {
		views = append(views, k.Label("snackbar_text", snack, ui.R(r.Left+k.Dp(16), r.Bottom-k.Dp(64), r.Right-k.Dp(16), r.Bottom-k.Dp(16))))
	}
	if drawer {
		views = append(views, f.drawerView(k, r, root))
	}
	return k.Decor(k.Frame("drawer_layout", r, views...))
}

// list shows dir's folders and files, folders first by name, hidden names
// left out (show_hidden_files_by_default false); Recent lists nothing.
// Tapping a folder opens it.
func (f *files) list(k widget.Kit, body ui.Rect, dir, focused string) *ui.Node {
	// Recent's dir "" is no folder: it reads as empty.
	entries, _ := f.env.Files.ReadDir(dir)
	app.FoldersFirst(entries)
	var items []widget.Item
	for _, en := range entries {
		if strings.HasPrefix(en.Name, ".") {
			continue
		}
		full := path.Join(dir, en.Name)
		items = append(items, widget.Item{Height: k.Dp(72), Build: func(r ui.Rect) *ui.Node {
			row := k.Linear("", r,
				k.View("android.widget.ImageView", "icon_mime", ui.R(r.Left+k.Dp(16), r.Top+k.Dp(16), r.Left+k.Dp(56), r.Bottom-k.Dp(16))),
				k.Label("android:id/title", en.Name, ui.R(r.Left+k.Dp(72), r.Top+k.Dp(12), r.Right-k.Dp(16), r.Top+k.Dp(44))))
			row.Focused = en.Name == focused
			if en.IsDir {
				// Opening a file hands it to a viewer app: not simulated.
				widget.Tappable(row, func() { f.open(full) })
			}
			return row
		}})
	}
	if len(items) == 0 {
		return k.Frame("container_directory", body,
			k.Label("message", noItems, ui.R(body.Left, body.Top+k.Dp(200), body.Right, body.Top+k.Dp(240))))
	}
	return k.Frame("container_directory", body,
		k.List("androidx.recyclerview.widget.RecyclerView", "dir_list", body, &f.scroll, items))
}

// drawerView is the roots drawer over a scrim that closes it.
func (f *files) drawerView(k widget.Kit, r ui.Rect, current rootID) *ui.Node {
	scrim := widget.Tappable(k.View("android.view.View", "", r), f.do(func() { f.drawer = false }))
	panel := ui.R(r.Left, r.Top+k.StatusBar(), r.Left+k.Dp(300), r.Bottom)
	roots := []rootID{recentRoot, downloadsRoot, storageRoot}
	heights := make([]int, len(roots))
	for i, id := range roots {
		heights[i] = k.Dp(48)
		if id == storageRoot {
			heights[i] = k.Dp(64)
		}
	}
	rows, _ := widget.Rows(panel.Left, panel.Top+k.Dp(8), panel.Right, heights, func(i int, b ui.Rect) *ui.Node {
		id := roots[i]
		text := []*ui.Node{k.Label("android:id/title", f.title(id), ui.R(b.Left+k.Dp(72), b.Top+k.Dp(8), b.Right-k.Dp(16), b.Top+k.Dp(32)))}
		if id == storageRoot {
			text = append(text, k.Label("android:id/summary", freeSpace, ui.R(b.Left+k.Dp(72), b.Top+k.Dp(32), b.Right-k.Dp(16), b.Bottom-k.Dp(8))))
		}
		row := k.Linear("", b, append([]*ui.Node{k.View("android.widget.ImageView", "android:id/icon", ui.R(b.Left+k.Dp(25), b.Top+k.Dp(12), b.Left+k.Dp(49), b.Bottom-k.Dp(12)))}, text...)...)
		row.Selected = id == current
		return widget.Tappable(row, f.do(func() { f.pick(id) }))
	})
	return k.Frame("", r, scrim, k.View("android.widget.ListView", "roots_list", panel, rows...))
}

// pick shows a root from its top and closes the drawer (onRootPicked).
// Called with f.mu held.
func (f *files) pick(id rootID) {
	f.root, f.dir, f.drawer, f.focused, f.snack = id, top(id), false, "", ""
	f.scroll.Reset()
}

// open shows a folder and tells the phone the user opened it.
func (f *files) open(dir string) {
	f.do(func() { f.dir, f.focused, f.snack = dir, "", ""; f.scroll.Reset() })()
	f.env.Bus.Publish(event.FolderOpened{Package: f.env.Package, Path: dir})
}

// Overlays are the overflow menu and the new-folder dialog, each a window
// of its own.
func (f *files) Overlays() []*ui.Window {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.dialog:
		return []*ui.Window{{Content: f.nameDialog, Key: f.Key}}
	case f.menu:
		return []*ui.Window{{Content: f.menuView, Key: f.Key}}
	}
	return nil
}

func (f *files) menuView(r ui.Rect) *ui.Node {
	k := widget.For(f.env.Package, r)
	// canCreateDirectory: every folder shown here supports create; Recent,
	// which shows none, does not.
	f.mu.Lock()
	canCreate := f.dir != ""
	f.mu.Unlock()
	closeMenu := f.do(func() { f.menu = false })
	var items []widget.MenuItem
	if canCreate {
		items = append(items, widget.MenuItem{Title: newFolder, OnClick: f.do(func() {
			f.menu, f.dialog, f.snack = false, true, ""
			f.name = widget.Text{}
		})})
	}
	items = append(items, widget.MenuItem{Title: selectAll, OnClick: closeMenu})
	y := r.Top + k.StatusBar()
	return k.Menu(widget.Menu{Anchor: ui.R(r.Left, y, r.Right, y+k.Dp(56)), Dismiss: closeMenu, Items: items})
}

// nameDialog asks the new folder's name in an empty, focused field; OK and
// the keyboard's Enter both create it.
func (f *files) nameDialog(r ui.Rect) *ui.Node {
	k := widget.For(f.env.Package, r)
	f.mu.Lock()
	name := f.name
	f.mu.Unlock()
	closeDialog := f.do(func() { f.dialog = false })
	return k.Dialog(widget.Dialog{Title: newFolder, Cancel: closeDialog,
		Field: &widget.Field{ID: "android:id/text1", Text: &name, Focused: true,
			OnText: func(s string) { f.do(func() { f.name.Type(s) })() }, OnEnter: f.create},
		Buttons: []widget.DialogButton{
			{ID: "android:id/button2", Text: cancelText, OnClick: closeDialog},
			{ID: "android:id/button1", Text: okText, OnClick: f.create},
		}})
}

// create closes the dialog and makes the folder in the shown folder, as the
// app's uid, under the name the provider makes of the typed one.
func (f *files) create() {
	f.mu.Lock()
	typed, dir := f.name.Value, f.dir
	f.dialog = false
	f.mu.Unlock()
	name, err := f.unique(dir, fatName(typed))
	if err == nil {
		err = f.env.Files.Mkdir(path.Join(dir, name), 0o771, f.env.UID)
	}
	f.do(func() {
		if err != nil {
			f.snack = createError
			return
		}
		f.focused = name
	})()
}

// unique is name, or "name (n)" for the first n from 1 not taken in dir.
func (f *files) unique(dir, name string) (string, error) {
	taken := func(n string) bool {
		_, err := f.env.Files.StatInfo(path.Join(dir, n))
		return err == nil
	}
	candidate := name
	// FileUtils.buildUniqueFile gives up after 32 tries.
	for n := 1; taken(candidate); n++ {
		if n > 32 {
			return "", fmt.Errorf("%s: no unique name for %q", dir, name)
		}
		candidate = fmt.Sprintf("%s (%d)", name, n)
	}
	return candidate, nil
}

// fatName is FileUtils.buildValidFatFilename but for its trim of long
// names to 255 bytes (not simulated).
func fatName(name string) string {
	if name == "" || name == "." || name == ".." {
		return "(invalid)"
	}
	return strings.Map(func(c rune) rune {
		if c <= 0x1f || c == 0x7f || strings.ContainsRune(`"*/:<>?\|`, c) {
			return '_'
		}
		return c
	}, name)
}
