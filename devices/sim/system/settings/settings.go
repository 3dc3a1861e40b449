// Package settings is the settings provider: the system, secure and global
// tables, the `settings` tool and `cmd settings`. Every write is published
// as an event.SettingChanged naming the writer, so services that follow a
// setting (Wi-Fi follows global:wifi_on) and the telemetry hear of it.
package settings

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"telltale.dev/devices/sim/event"
	"telltale.dev/devices/sim/shell"
	"telltale.dev/devices/sim/system"
)

// Namespaces are the tables, in the order `settings list` knows them.
var Namespaces = []string{"system", "secure", "global"}

// ErrNamespace is returned for a table that does not exist.
var ErrNamespace = errors.New("invalid namespace")

// PermissionError is SettingsProvider refusing a write to the secure or
// global table (enforceWritePermission).
type PermissionError struct{ NS string }

func (e *PermissionError) Error() string {
	return "Permission denial: writing to settings requires:android.permission.WRITE_SECURE_SETTINGS"
}

// InvalidValueError is a system setting's validator rejecting a value
// (SettingsProvider.validateSystemSettingValue).
type InvalidValueError struct{ Key, Value string }

func (e *InvalidValueError) Error() string {
	return "Invalid value: " + e.Value + " for setting: " + e.Key
}

// Gate says who holds WRITE_SECURE_SETTINGS.
type Gate interface {
	MayWriteSecureSettings(uid uint32) bool
}

// Config builds the settings provider.
type Config struct {
	Bus *event.Bus
	// Gate decides who may write the secure and global tables; nil lets
	// everyone.
	Gate Gate
	// SDK is the firmware's API level, which words the shell command's
	// exceptions.
	SDK int
}

// Settings holds the three tables.
type Settings struct {
	cfg Config

	mu     sync.Mutex
	tables map[string]map[string]string
}

// New returns empty tables that publish their changes on cfg.Bus.
func New(cfg Config) *Settings {
	s := &Settings{cfg: cfg, tables: map[string]map[string]string{}}
	for _, ns := range Namespaces {
		s.tables[ns] = map[string]string{}
	}
	return s
}

// Seed sets values at boot ("secure:key" -> value), without events, as the
// firmware's defaults are in the database before anything reads it. Keys of
// unknown namespaces are ignored.
func (s *Settings) Seed(values map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for nk, v := range values {
		ns, key, ok := strings.Cut(nk, ":")
		if t, known := s.tables[ns]; ok && known {
			t[key] = v
		}
	}
}

// Setting returns a value ("" and false when unset).
func (s *Settings) Setting(ns, key string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.tables[ns][key]
	return v, ok
}

// Put writes a value as uid and publishes the change. As SettingsProvider
// does, it refuses the secure and global tables to a uid without
// WRITE_SECURE_SETTINGS (*PermissionError) and values a system setting's
// validator rejects (*InvalidValueError).
func (s *Settings) Put(ns, key, value string, uid uint32) error {
	if err := s.mayWrite(ns, uid); err != nil {
		return err
	}
	if ns == "system" && !validSystem(key, value) {
		return &InvalidValueError{Key: key, Value: value}
	}
	s.mu.Lock()
	t := s.tables[ns]
	old, had := t[key]
	t[key] = value
	s.mu.Unlock()
	s.cfg.Bus.Publish(event.SettingChanged{NS: ns, Key: key, Old: old, New: value, Had: had, By: uid})
	return nil
}

// mayWrite checks the namespace and the writer's permission.
func (s *Settings) mayWrite(ns string, uid uint32) error {
	if !slices.Contains(Namespaces, ns) {
		return fmt.Errorf("%w %q", ErrNamespace, ns)
	}
	if ns != "system" && s.cfg.Gate != nil && !s.cfg.Gate.MayWriteSecureSettings(uid) {
		return &PermissionError{NS: ns}
	}
	return nil
}

// Delete removes a key as uid and says whether it was there; the secure
// and global tables need WRITE_SECURE_SETTINGS as for Put.
func (s *Settings) Delete(ns, key string, uid uint32) (bool, error) {
	if err := s.mayWrite(ns, uid); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables[ns]
	_, had := t[key]
	delete(t, key)
	return had, nil
}

// List returns a table's keys and values, sorted by key.
func (s *Settings) List(ns string) ([][2]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tables[ns]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrNamespace, ns)
	}
	out := make([][2]string, 0, len(t))
	for _, k := range slices.Sorted(maps.Keys(t)) {
		out = append(out, [2]string{k, t[k]})
	}
	return out, nil
}

// Commands is the settings tool.
func (s *Settings) Commands() map[string]shell.Func {
	return map[string]shell.Func{"settings": s.settingsTool}
}

// ShellCommand answers `cmd settings`, which the settings tool wraps.
func (s *Settings) ShellCommand(ctx context.Context, sio shell.IO, args []string) int {
	return s.run(ctx, sio, args)
}

func (s *Settings) settingsTool(ctx context.Context, sio shell.IO, args []string) int {
	return s.run(ctx, sio, args[1:])
}

const usage = "usage:  settings [--user <USER_ID> | current] get namespace key\n" +
	"        settings [--user <USER_ID> | current] put namespace key value\n" +
	"        settings [--user <USER_ID> | current] delete namespace key\n" +
	"        settings [--user <USER_ID> | current] list namespace"

// run follows AOSP SettingsService.MyShellCommand for get, put, delete and list.
func (s *Settings) run(ctx context.Context, sio shell.IO, args []string) int {
	// `--user N` may come before the verb (adb does this for secure).
	for len(args) >= 2 && args[0] == "--user" {
		args = args[2:]
	}
	if len(args) < 2 {
		fmt.Fprintln(sio.Stderr, usage)
		return 1
	}
	verb, ns := args[0], args[1]
	rest := args[2:]
	for len(rest) >= 2 && rest[0] == "--user" {
		rest = rest[2:]
	}
	if !slices.Contains(Namespaces, ns) {
		fmt.Fprintf(sio.Stderr, "Invalid namespace '%s'\n%s\n", ns, usage)
		return 1
	}
	switch {
	case verb == "get" && len(rest) >= 1:
		v, ok := s.Setting(ns, rest[0])
		if !ok {
			v = "null"
		}
		fmt.Fprintln(sio.Stdout, v)
	case verb == "put" && len(rest) >= 2:
		if err := s.Put(ns, rest[0], rest[1], shell.UID(ctx)); err != nil {
			return s.throw(sio, "put", "insert", ns, err)
		}
	case verb == "delete" && len(rest) >= 1:
		had, err := s.Delete(ns, rest[0], shell.UID(ctx))
		if err != nil {
			return s.throw(sio, "delete", "delete", ns, err)
		}
		n := 0
		if had {
			n = 1
		}
		fmt.Fprintf(sio.Stdout, "Deleted %d rows\n", n)
	case verb == "list":
		rows, err := s.List(ns)
		if err != nil {
			fmt.Fprintln(sio.Stderr, err)
			return 1
		}
		for _, kv := range rows {
			fmt.Fprintln(sio.Stdout, kv[0]+"="+kv[1])
		}
	default:
		fmt.Fprintln(sio.Stderr, usage)
		return 1
	}
	return 0
}

// throw prints a refused write as the settings shell command does: the
// provider's exception through ShellCommand (system.Throw). The frames are
// those of the refusal quoted in songhanghang/auto_set_proxy#1 (MIUI,
// Android 11), without line numbers.
func (s *Settings) throw(sio shell.IO, verb, op, ns string, err error) int {
	class := "java.lang.IllegalArgumentException"
	var frames []string
	var perm *PermissionError
	if errors.As(err, &perm) {
		class = "java.lang.SecurityException"
		frames = append(frames, "com.android.providers.settings.SettingsProvider.enforceWritePermission(SettingsProvider.java)")
	} else {
		frames = append(frames, "com.android.providers.settings.SettingsProvider.validateSystemSettingValue(SettingsProvider.java)")
	}
	table := strings.ToUpper(ns[:1]) + ns[1:]
	frames = append(frames,
		"com.android.providers.settings.SettingsProvider.mutate"+table+"Setting(SettingsProvider.java)",
		"com.android.providers.settings.SettingsProvider."+op+table+"Setting(SettingsProvider.java)",
		"com.android.providers.settings.SettingsProvider.call(SettingsProvider.java)",
		"android.content.ContentProvider.call(ContentProvider.java)",
		"android.content.ContentProvider$Transport.call(ContentProvider.java)",
		"com.android.providers.settings.SettingsService$MyShellCommand."+verb+"ForUser(SettingsService.java)",
		"com.android.providers.settings.SettingsService$MyShellCommand.onCommand(SettingsService.java)")
	if s.cfg.SDK >= 30 {
		frames = append(frames, "android.os.BasicShellCommandHandler.exec(BasicShellCommandHandler.java)")
	}
	frames = append(frames, "android.os.ShellCommand.exec(ShellCommand.java)",
		"com.android.providers.settings.SettingsService.onShellCommand(SettingsService.java)",
		"android.os.Binder.shellCommand(Binder.java)", "android.os.Binder.onTransact(Binder.java)",
		"android.os.Binder.execTransact(Binder.java)")
	return system.Throw(sio, s.cfg.SDK, verb, system.Throwable{Class: class, Message: err.Error(), Frames: frames})
}
