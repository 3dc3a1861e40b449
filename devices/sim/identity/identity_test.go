package identity_test

import (
	"testing"

	"telltale.dev/devices/sim/identity"
)

func TestNames(t *testing.T) {
	for uid, want := range map[uint32]string{0: "root", 1000: "system", 2000: "shell", 10057: "u0_a57", 1234: "1234"} {
		if got := identity.Name(uid); got != want {
			t.Errorf("Name(%d) = %q, want %q", uid, got, want)
		}
		if uid < identity.AppMin {
			if back, ok := identity.Lookup(want); !ok || back != uid {
				t.Errorf("Lookup(%q) = %d, %v", want, back, ok)
			}
		}
	}
	if _, ok := identity.Lookup("nobody-here"); ok {
		t.Error("an unknown user name resolved")
	}
}
