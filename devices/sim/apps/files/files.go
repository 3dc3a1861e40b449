// Package files is Mi File Manager (com.mi.android.globalFileexplorer,
// activity com.android.fileexplorer.FileExplorerTabActivity): the
// first-run privacy page, the Recent / Categories / Storage tabs, the
// storage's folder list, "More options" > "Create new folder" and its name
// dialog. Opening a folder is what the app reports (event.FolderOpened); a
// folder made with `mkdir` is listed like any other, but nothing is
// reported until the user opens it here.
//
// Ids and English texts are the real app's where scripts and the XEU
// strings show them (reference/miui-ui.md section 4): privacy_message_tv,
// privacy_desc_tv, experience_check_box, confirm_btn "Accept & continue",
// the tab strip scrollingTabContainer with the Storage tab's ImageView
// described "Storage", "More options", "Create new folder", "Name folder",
// "Unnamed folder" and the dialog's errors. The Portuguese (pt-BR) texts
// are the Mi File Manager's own translations (values-pt-rBR/strings.xml of
// FileExplorer 5.0.2.3, public decompile AndroDesk/File_Manager_V5.0.2.3):
// homepage_tab_*, abc_action_menu_overflow_description,
// operation_create_folder, operation_create_folder_message,
// new_folder_name, confirm, cancel, folder_name_empty,
// folder_name_illegal, error_create_dir. The rest is modeled.
package files

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

// Root is the shared storage the Storage tab shows (/sdcard, which points
// at /storage/emulated/0 on a phone).
const Root = "/sdcard"

var texts = map[string]map[string]string{
	"en": {"recent": "Recent", "categories": "Categories", "storage": "Storage", "more": "More options",
		"create": "Create new folder", "name_folder": "Name folder", "unnamed": "Unnamed folder", "ok": "OK", "cancel": "Cancel",
		"empty_name": "Folder name can't be empty", "bad_name": "Invalid folder name", "failed": "Couldn't create folder",
		"show_hidden": "Show hidden files", "hide_hidden": "Don't show hidden files", "internal": "Internal shared storage",
		"nothing": "No files", "items": "%d items", "privacy_title": "Privacy",
		"privacy_message": "File Manager needs your consent to connect to the internet and to the permissions it requires.",
		"privacy_desc":    "Read the Privacy Policy and the User Agreement before you continue.",
		"experience":      "Join the User Experience Program", "accept": "Accept & continue"},
	"pt": {"recent": "Recente", "categories": "Categorias", "storage": "Armazenamento", "more": "Mais opções",
		"create": "Criar pasta", "name_folder": "Inserir nome da pasta", "unnamed": "Nova pasta", "ok": "OK", "cancel": "Cancelar",
		"empty_name": "O nome da pasta não pode estar em branco", "bad_name": "Nome da pasta inválido", "failed": "Não foi possível criar a pasta",
		"show_hidden": "Mostrar arquivos ocultos", "hide_hidden": "Não mostrar arquivos ocultos", "internal": "Armazenamento interno",
		"nothing": "Vazio", "items": "%d itens", "privacy_title": "Privacidade",
		"privacy_message": "O Gerenciador de Arquivos precisa do seu consentimento para se conectar à internet e às permissões necessárias.",
		"privacy_desc":    "Leia a Política de Privacidade e o Contrato de Usuário antes de continuar.",
		"experience":      "Participar do Programa de Experiência do Usuário", "accept": "Aceitar e continuar"},
}

// App is the File Manager's process.
type App struct{ env app.Env }

// New returns the File Manager of env's package.
func New(env app.Env) *App { return &App{env: env} }

// NewActivity implements app.App.
func (a *App) NewActivity(string) app.Activity { return &explorer{env: a.env, dir: Root} }

// Tabs in the strip's order: a script opens storage with the strip's third
// tab (code-index id 1937525084).
const (
	recentTab = iota
	categoriesTab
	storageTab
)

// prefPrivacyAccepted records the first-run consent (modeled key).
const prefPrivacyAccepted = "privacy_accepted"

type explorer struct {
	env app.Env

	mu     sync.Mutex
	tab    int
	dir    string
	hidden bool // show names starting with "."
	menu   bool
	dialog bool
	name   widget.Text
	err    string
	scroll widget.Scroll
}

func (e *explorer) OnIntent(content.Intent) {}

func (e *explorer) do(change func()) func() {
	return func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		change()
	}
}

// Key: BACK closes the dialog or menu, then goes up a folder, then leaves
// the app; DEL edits the folder's name.
func (e *explorer) Key(code int) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case code == widget.KeyDel && e.dialog:
		return e.name.Key(code)
	case code != widget.KeyBack:
		return false
	case e.dialog:
		e.dialog = false
	case e.menu:
		e.menu = false
	case e.tab == storageTab && e.dir != Root:
		e.dir = path.Dir(e.dir)
		e.scroll.Reset()
	default:
		return false
	}
	return true
}

func (e *explorer) t(key string) string {
	if s, ok := texts[e.env.Language()][key]; ok {
		return s
	}
	return texts["en"][key]
}

func (e *explorer) Screen(r ui.Rect) *ui.Node {
	k := widget.For(e.env.Package, r)
	if !e.env.DefaultPrefs().Bool(prefPrivacyAccepted, false) {
		return e.privacy(k)
	}
	e.mu.Lock()
	tab, dir, hidden := e.tab, e.dir, e.hidden
	e.mu.Unlock()
	top := r.Top + k.StatusBar()
	strip := ui.R(r.Left, top, r.Right-k.Dp(56), top+k.Dp(56))
	w := strip.Width() / 3
	tabs := k.Linear("scrollingTabContainer", strip)
	for i, key := range []string{"recent", "categories", "storage"} {
		cell := ui.R(strip.Left+i*w, strip.Top, strip.Left+(i+1)*w, strip.Bottom)
		t := widget.Tappable(k.Linear("", cell, k.Icon("", e.t(key), ui.R(cell.Left+w/2-k.Dp(16), cell.Top+k.Dp(12), cell.Left+w/2+k.Dp(16), cell.Bottom-k.Dp(12)), nil)),
			e.do(func() { e.tab = i; e.scroll.Reset() }))
		t.Selected = i == tab
		tabs.Children = append(tabs.Children, t)
	}
	body := ui.R(r.Left, strip.Bottom, r.Right, r.Bottom)
	views := []*ui.Node{tabs}
	switch tab {
	case storageTab:
		views = append(views, k.Icon("more", e.t("more"), ui.R(strip.Right, strip.Top, r.Right, strip.Bottom), e.do(func() { e.menu = true })),
			e.storage(k, body, dir, hidden))
	case categoriesTab:
		views = append(views, e.categories(k, body))
	default:
		views = append(views, k.Label("empty_view", e.t("nothing"), ui.R(body.Left, body.Top+k.Dp(200), body.Right, body.Top+k.Dp(240))))
	}
	return k.Decor(k.Frame("", r, views...))
}

// privacy is the first-run page; "Accept & continue" stores the consent.
func (e *explorer) privacy(k widget.Kit) *ui.Node {
	r := k.Screen
	top := r.Top + k.StatusBar()
	text := func(id, key string, y0, y1 int) *ui.Node {
		return k.Label(id, e.t(key), ui.R(r.Left+k.Dp(28), top+k.Dp(y0), r.Right-k.Dp(28), top+k.Dp(y1)))
	}
	box := k.View("android.widget.CheckBox", "experience_check_box", ui.R(r.Left+k.Dp(28), top+k.Dp(330), r.Right-k.Dp(28), top+k.Dp(370)))
	box.Text, box.Checkable, box.Checked = e.t("experience"), true, true
	accept := func() {
		// A failed commit leaves the page up, to be accepted again.
		_ = e.env.DefaultPrefs().SetBool(prefPrivacyAccepted, true)
	}
	return k.Decor(k.Linear("", r,
		text("", "privacy_title", 40, 90),
		k.View("android.widget.ScrollView", "", ui.R(r.Left, top+k.Dp(100), r.Right, top+k.Dp(320)),
			text("privacy_message_tv", "privacy_message", 110, 220), text("privacy_desc_tv", "privacy_desc", 230, 310)),
		widget.Tappable(box, func() {}),
		k.Button("confirm_btn", e.t("accept"), "", ui.R(r.Left+k.Dp(28), r.Bottom-k.Dp(96), r.Right-k.Dp(28), r.Bottom-k.Dp(40)), accept)))
}

// categories is the Categories tab: the kinds of file (modeled, not
// simulated beyond their names).
func (e *explorer) categories(k widget.Kit, body ui.Rect) *ui.Node {
	var cells []*ui.Node
	w := body.Width() / 3
	for i, name := range []string{"Images", "Videos", "Music", "Docs", "APKs", "Archives"} {
		x, y := body.Left+(i%3)*w, body.Top+k.Dp(24)+(i/3)*k.Dp(100)
		cells = append(cells, k.Label("category_name", name, ui.R(x, y+k.Dp(60), x+w, y+k.Dp(90))))
	}
	return k.Frame("category_page", body, cells...)
}

// storage lists dir: its path, then folders and files by name, folders
// first, without hidden names unless shown. Tapping a folder opens it.
func (e *explorer) storage(k widget.Kit, body ui.Rect, dir string, hidden bool) *ui.Node {
	crumbs := ui.R(body.Left, body.Top, body.Right, body.Top+k.Dp(44))
	where := e.t("internal") + strings.ReplaceAll(strings.TrimPrefix(dir, Root), "/", " > ")
	entries, _ := e.env.Files.ReadDir(dir)
	app.FoldersFirst(entries)
	var items []widget.Item
	for _, en := range entries {
		if !hidden && strings.HasPrefix(en.Name, ".") {
			continue
		}
		full := path.Join(dir, en.Name)
		info := humanSize(en.Size)
		if en.IsDir {
			kids, _ := e.env.Files.ReadDir(full)
			info = fmt.Sprintf(e.t("items"), len(kids))
		}
		items = append(items, widget.Item{Height: k.Dp(72), Build: func(r ui.Rect) *ui.Node {
			row := k.Linear("", r,
				k.View("android.widget.ImageView", "file_icon", ui.R(r.Left+k.Dp(20), r.Top+k.Dp(16), r.Left+k.Dp(60), r.Bottom-k.Dp(16))),
				k.Label("file_name", en.Name, ui.R(r.Left+k.Dp(76), r.Top+k.Dp(12), r.Right-k.Dp(20), r.Top+k.Dp(40))),
				k.Label("file_info", info, ui.R(r.Left+k.Dp(76), r.Top+k.Dp(40), r.Right-k.Dp(20), r.Bottom-k.Dp(8))))
			if en.IsDir {
				// Opening a file hands it to a viewer app: not simulated.
				widget.Tappable(row, func() { e.open(full) })
			}
			return row
		}})
	}
	list := k.List("androidx.recyclerview.widget.RecyclerView", "file_list", ui.R(body.Left, crumbs.Bottom, body.Right, body.Bottom), &e.scroll, items)
	return k.Frame("file_page", body, k.Label("path_bar", where, crumbs), list)
}

// open shows a folder and tells the phone the user opened it.
func (e *explorer) open(dir string) {
	e.do(func() { e.dir = dir; e.scroll.Reset() })()
	e.env.Bus.Publish(event.FolderOpened{Package: e.env.Package, Path: dir})
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// Overlays are the overflow menu and the new-folder dialog.
func (e *explorer) Overlays() []*ui.Window {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.dialog:
		return []*ui.Window{{Content: e.nameDialog, Key: e.Key}}
	case e.menu:
		return []*ui.Window{{Content: e.menuView, Key: e.Key}}
	}
	return nil
}

func (e *explorer) menuView(r ui.Rect) *ui.Node {
	k := widget.For(e.env.Package, r)
	e.mu.Lock()
	hidden := e.hidden
	e.mu.Unlock()
	toggle := e.t("show_hidden")
	if hidden {
		toggle = e.t("hide_hidden")
	}
	top := r.Top + k.StatusBar()
	closeMenu := e.do(func() { e.menu = false })
	return k.Menu(widget.Menu{Anchor: ui.R(r.Left, top, r.Right, top+k.Dp(56)), Dismiss: closeMenu, Items: []widget.MenuItem{
		{Title: e.t("create"), OnClick: e.do(func() {
			e.menu, e.dialog, e.err = false, true, ""
			e.name = widget.Text{Value: e.t("unnamed"), Selected: true}
		})},
		{Title: toggle, OnClick: e.do(func() { e.menu, e.hidden = false, !e.hidden })},
	}})
}

// nameDialog asks the new folder's name, prefilled with the default name
// selected so that typing replaces it (modeled), and says what is wrong
// with a name it refuses.
func (e *explorer) nameDialog(r ui.Rect) *ui.Node {
	k := widget.For(e.env.Package, r)
	e.mu.Lock()
	name, fault := e.name, e.err
	e.mu.Unlock()
	closeDialog := e.do(func() { e.dialog = false })
	return k.Dialog(widget.Dialog{Title: e.t("name_folder"), Error: fault, Cancel: closeDialog,
		Field: &widget.Field{ID: "android:id/edit", Text: &name, Focused: true,
			OnText: func(s string) { e.do(func() { e.name.Type(s) })() }},
		Buttons: []widget.DialogButton{
			{ID: "android:id/button2", Text: e.t("cancel"), OnClick: closeDialog},
			{ID: "android:id/button1", Text: e.t("ok"), OnClick: e.create},
		}})
}

// create makes the folder named in the dialog in the shown folder, as the
// app's uid.
func (e *explorer) create() {
	e.mu.Lock()
	name, dir := strings.TrimSpace(e.name.Value), e.dir
	e.mu.Unlock()
	fault := ""
	switch {
	case name == "":
		fault = e.t("empty_name")
	case name == "." || name == ".." || strings.ContainsAny(name, `/\:*?"<>|`):
		fault = e.t("bad_name")
	default:
		// A name taken, or storage that refuses it, reads the same.
		if err := e.env.Files.Mkdir(path.Join(dir, name), 0o771, e.env.UID); err != nil {
			fault = e.t("failed")
		}
	}
	e.do(func() {
		e.err = fault
		e.dialog = fault != ""
	})()
}
