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
)

// Namespaces are the tables, in the order `settings list` knows them.
var Namespaces = []string{"system", "secure", "global"}

// ErrNamespace is returned for a table that does not exist.
var ErrNamespace = errors.New("invalid namespace")

// Settings holds the three tables.
type Settings struct {
	bus *event.Bus

	mu     sync.Mutex
	tables map[string]map[string]string
}

// New returns empty tables that publish their changes on bus.
func New(bus *event.Bus) *Settings {
	s := &Settings{bus: bus, tables: map[string]map[string]string{}}
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

// Put writes a value as uid and publishes the change.
func (s *Settings) Put(ns, key, value string, uid uint32) error {
	s.mu.Lock()
	t, ok := s.tables[ns]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("%w %q", ErrNamespace, ns)
	}
	old, had := t[key]
	t[key] = value
	s.mu.Unlock()
	s.bus.Publish(event.SettingChanged{NS: ns, Key: key, Old: old, New: value, Had: had, By: uid})
	return nil
}

// Delete removes a key and says whether it was there.
func (s *Settings) Delete(ns, key string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tables[ns]
	if !ok {
		return false, fmt.Errorf("%w %q", ErrNamespace, ns)
	}
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
			fmt.Fprintln(sio.Stderr, err)
			return 1
		}
	case verb == "delete" && len(rest) >= 1:
		had, err := s.Delete(ns, rest[0])
		if err != nil {
			fmt.Fprintln(sio.Stderr, err)
			return 1
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
