package session_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"telltale.dev/harness/journal"
	"telltale.dev/harness/lease"
	"telltale.dev/harness/session"
	"telltale.dev/harness/session/sessiontest"
)

// TestRootDeviceGetsSystemCAAndIsRestored: on a root-capable image (the
// emulator profile, API 34) the CA goes into the system store and the APEX
// copy through tmpfs mounts, the proxy path is set up, and Close puts every
// setting, mount and rule back.
func TestRootDeviceGetsSystemCAAndIsRestored(t *testing.T) {
	r := sessiontest.New(t, "aosp-emulator", "sdk_gphone64_x86_64-14")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := session.Open(ctx, r.Lease, r.Config(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if s.CAStore() != "system" {
		t.Errorf("CA store %q, want system", s.CAStore())
	}
	name := r.CA.AndroidName()
	for _, dir := range []string{"/system/etc/security/cacerts", "/apex/com.android.conscrypt/cacerts"} {
		if got := r.Shell(t, "ls "+dir); !strings.Contains(got, name) {
			t.Errorf("%s does not hold %s:\n%s", dir, name, got)
		}
	}
	if got := r.Shell(t, "settings get global http_proxy"); got != "127.0.0.1:8080" {
		t.Errorf("http_proxy %q", got)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, dir := range []string{"/system/etc/security/cacerts", "/apex/com.android.conscrypt/cacerts"} {
		if got := r.Shell(t, "ls "+dir); strings.Contains(got, name) {
			t.Errorf("%s still holds %s after Close", dir, name)
		}
	}
	if got := r.Shell(t, "settings get global http_proxy"); got != "null" {
		t.Errorf("http_proxy after Close %q, want null (it was unset)", got)
	}
	rules, err := r.Client.Device(r.Lease.Serial).ReverseList(ctx)
	if err != nil || len(rules) != 0 {
		t.Errorf("reverse rules after Close: %v %v", rules, err)
	}
	if _, err := os.Stat(filepath.Join(r.RunDir, journal.File)); err != nil {
		t.Errorf("no journal: %v", err)
	}
}

// TestUnrootedPhoneGetsUserStoreAndWarning: a retail phone without root (no
// adb root, no su) can only be offered the CA for the user store; the
// session says so loudly, and the phone's system apps then show up as TLS
// failures, not as "no leak".
func TestUnrootedPhoneGetsUserStoreAndWarning(t *testing.T) {
	r := sessiontest.New(t, "redmi-note-8", "V11.0.3.0")
	r.Phone.SetUnrooted(true)
	s := r.Open(t)
	if w := s.Warnings(); s.CAStore() != "user" || len(w) == 0 || !strings.Contains(w[0], "do not trust user CAs") {
		t.Fatalf("CA store %q, warnings %q", s.CAStore(), w)
	}
	if got := r.Shell(t, "ls /sdcard/Download"); !strings.Contains(got, r.CA.AndroidName()) {
		t.Errorf("CA copy not offered in /sdcard/Download: %s", got)
	}
	if got := r.Shell(t, "ls /system/etc/security/cacerts"); strings.Contains(got, r.CA.AndroidName()) {
		t.Errorf("CA in the system store of an unrooted phone: %s", got)
	}
}

// TestOpenRefusesALeasedPhone: two sessions never drive one phone.
func TestOpenRefusesALeasedPhone(t *testing.T) {
	r := sessiontest.New(t, "redmi-note-8", "V12.0.2.0")
	r.Open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := session.Open(ctx, r.Lease, r.Config(t)); !errors.Is(err, lease.ErrLeased) {
		t.Fatalf("second Open: %v, want ErrLeased", err)
	}
}

// TestCloseReportsADamagedJournalAndStillRestores: when the journal cannot
// be read back at teardown (here a damaged line), Close says so, and still
// puts back what this session changed.
func TestCloseReportsADamagedJournalAndStillRestores(t *testing.T) {
	r := sessiontest.New(t, "redmi-note-8", "V12.0.2.0")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := session.Open(ctx, r.Lease, r.Config(t))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(r.RunDir, journal.File), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("not a journal line\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	err = s.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "read the journal") {
		t.Errorf("Close over a damaged journal: %v", err)
	}
	if got := r.Shell(t, "settings get global http_proxy"); got != "null" {
		t.Errorf("http_proxy after Close %q, want null: the session's own changes must still be put back", got)
	}
}
