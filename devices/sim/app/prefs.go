package app

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"sync"

	"telltale.dev/devices/sim/vfs"
)

// Prefs is one of an app's SharedPreferences files, kept where Android
// keeps it, /data/data/PKG/shared_prefs/NAME.xml, in the form
// SharedPreferencesImpl writes (XmlUtils.writeMapXml): so the values
// survive the app's process and reboots, and go when `pm clear` wipes the
// app's data. Booleans and strings only, as the apps here need.
type Prefs struct {
	files *vfs.FS
	file  string
	dir   string
	uid   uint32
	mu    sync.Mutex
}

// DefaultPrefs is the app's default preferences file
// (PreferenceManager.getDefaultSharedPreferences: PKG_preferences.xml).
func (e Env) DefaultPrefs() *Prefs { return e.Prefs(e.Package + "_preferences") }

// Prefs is the app's preferences file name.
func (e Env) Prefs(name string) *Prefs {
	dir := "/data/data/" + e.Package + "/shared_prefs"
	return &Prefs{files: e.Files, dir: dir, file: path.Join(dir, name+".xml"), uid: e.UID}
}

type prefsMap struct {
	XMLName  xml.Name    `xml:"map"`
	Booleans []prefValue `xml:"boolean"`
	Strings  []prefText  `xml:"string"`
}

type prefValue struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type prefText struct {
	Name string `xml:"name,attr"`
	Text string `xml:",chardata"`
}

// read loads the file; a missing file is an empty map. p.mu is held.
func (p *Prefs) read() (prefsMap, error) {
	var m prefsMap
	b, err := p.files.ReadFile(p.file)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return m, fmt.Errorf("app: reading %s: %w", p.file, err)
	}
	// A file that does not parse loads as empty, and the next commit
	// replaces it (SharedPreferencesImpl.loadFromDisk logs and goes on).
	if err := xml.Unmarshal(b, &m); err != nil {
		return prefsMap{}, nil
	}
	return m, nil
}

// Bool is a boolean preference, def when unset or unreadable.
func (p *Prefs) Bool(key string, def bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	m, _ := p.read()
	for _, b := range m.Booleans {
		if b.Name == key {
			if v, err := strconv.ParseBool(b.Value); err == nil {
				return v
			}
		}
	}
	return def
}

// String is a string preference, def when unset.
func (p *Prefs) String(key, def string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	m, _ := p.read()
	for _, s := range m.Strings {
		if s.Name == key {
			return s.Text
		}
	}
	return def
}

// SetBool stores a boolean preference (Editor.putBoolean + commit).
func (p *Prefs) SetBool(key string, v bool) error {
	return p.edit(func(m *prefsMap) {
		for i := range m.Booleans {
			if m.Booleans[i].Name == key {
				m.Booleans[i].Value = strconv.FormatBool(v)
				return
			}
		}
		m.Booleans = append(m.Booleans, prefValue{Name: key, Value: strconv.FormatBool(v)})
	})
}

// SetString stores a string preference.
func (p *Prefs) SetString(key, v string) error {
	return p.edit(func(m *prefsMap) {
		for i := range m.Strings {
			if m.Strings[i].Name == key {
				m.Strings[i].Text = v
				return
			}
		}
		m.Strings = append(m.Strings, prefText{Name: key, Text: v})
	})
}

func (p *Prefs) edit(change func(*prefsMap)) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	m, err := p.read()
	if err != nil {
		return err
	}
	change(&m)
	if err := p.makeDirs(); err != nil {
		return err
	}
	var b bytes.Buffer
	b.WriteString("<?xml version='1.0' encoding='utf-8' standalone='yes' ?>\n<map>\n")
	for _, v := range m.Booleans {
		fmt.Fprintf(&b, "    <boolean name=\"%s\" value=\"%s\" />\n", escape(v.Name), v.Value)
	}
	for _, s := range m.Strings {
		fmt.Fprintf(&b, "    <string name=\"%s\">%s</string>\n", escape(s.Name), escape(s.Text))
	}
	b.WriteString("</map>\n")
	if err := p.files.WriteFile(p.file, b.Bytes(), 0o660, p.uid, false); err != nil {
		return fmt.Errorf("app: writing %s: %w", p.file, err)
	}
	return nil
}

// makeDirs creates the app's data directory and, as the app,
// shared_prefs in it.
func (p *Prefs) makeDirs() error {
	if _, err := DataDir(p.files, path.Base(path.Dir(p.dir)), p.uid); err != nil {
		return err
	}
	if err := p.files.MkdirAll(p.dir, 0o771, p.uid); err != nil {
		return fmt.Errorf("app: making %s: %w", p.dir, err)
	}
	return nil
}

func escape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
