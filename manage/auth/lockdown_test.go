package auth

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// TestLockdownLoginsLookAlike: in lockdown, every refused login costs one
// password check and gets one answer, whether the user exists, the
// password is right or the user is an exception with a wrong password.
func TestLockdownLoginsLookAlike(t *testing.T) {
	e := newEnv(t)
	must(t, e.s.AddRole("AllCopy", Privileges()))
	must(t, e.s.AddUser("alice", "alice-password", RoleAdministrator))
	must(t, e.s.AddUser("frank", "frank-password", "AllCopy"))
	must(t, e.s.AddUser("svc", "svc-password", RoleReadOnly))
	tokAlice := e.login(t, "alice", "alice-password")
	tokSvc := e.login(t, "svc", "svc-password")

	l, err := NewLockdown("normal", []string{"svc", "svc"})
	must(t, err)
	if !slices.Equal(l.Exceptions, []string{"svc"}) {
		t.Fatalf("exceptions = %v", l.Exceptions)
	}
	ended, err := e.s.SetLockdown(l)
	must(t, err)
	if !slices.Equal(ended, []string{"alice"}) {
		t.Errorf("ended = %v, want [alice]", ended)
	}
	if _, err := e.s.Session(tokAlice); !errors.Is(err, ErrNoSession) {
		t.Errorf("alice's session in lockdown: %v", err)
	}
	if _, err := e.s.Session(tokSvc); err != nil {
		t.Errorf("the exception user's session: %v", err)
	}

	var msgs []string
	for i, try := range []struct {
		user, password string
		reason         Reason
	}{
		{"alice", "alice-password", ReasonLockdown},
		{"frank", "frank-password", ReasonLockdown},
		{"alice", "wrong-password", ReasonWrongPassword},
		{"nobody", "any-password", ReasonUnknownUser},
		{"svc", "wrong-password", ReasonWrongPassword},
	} {
		before := e.kdfs.Load()
		_, err := e.s.Login(try.user, try.password, fmt.Sprintf("192.0.2.%d", i+1))
		var le *LoginError
		if !errors.As(err, &le) || !errors.Is(err, ErrBadCredentials) || le.Reason != try.reason {
			t.Errorf("%s: %v (%+v)", try.user, err, le)
		}
		if n := e.kdfs.Load() - before; n != 1 {
			t.Errorf("%s: %d password checks, want 1", try.user, n)
		}
		msgs = append(msgs, err.Error())
	}
	for _, m := range msgs {
		if m != msgs[0] {
			t.Errorf("answers differ: %q and %q", msgs[0], m)
		}
	}
	// A refusal of the right password counts as a failure, or the limiter
	// would tell which guess was right.
	for range 5 {
		e.s.Login("alice", "alice-password", "192.0.2.77")
	}
	if _, err := e.s.Login("alice", "alice-password", "192.0.2.77"); !errors.Is(err, ErrRateLimited) {
		t.Errorf("refused right passwords did not lock: %v", err)
	}

	// Strict mode ends the exception users' sessions too.
	l.Mode = LockdownStrict
	ended, err = e.s.SetLockdown(l)
	must(t, err)
	if !slices.Equal(ended, []string{"svc"}) {
		t.Errorf("entering strict ended %v, want [svc]", ended)
	}
	e.login(t, "svc", "svc-password")

	// Weakening is told apart from strengthening.
	normal, _ := NewLockdown("normal", []string{"svc"})
	wider, _ := NewLockdown("strict", []string{"frank", "svc"})
	if w := l.Weakens(normal); len(w) != 1 || w[0] != "the mode from strict to normal" {
		t.Errorf("strict→normal weakens = %v", w)
	}
	if w := l.Weakens(wider); len(w) != 1 || w[0] != "exception user frank" {
		t.Errorf("adding frank weakens = %v", w)
	}
	narrower, _ := NewLockdown("strict", nil)
	if w := l.Weakens(narrower); len(w) != 0 {
		t.Errorf("removing an exception weakens = %v", w)
	}
	if _, err := e.s.SetLockdown(Lockdown{Mode: LockdownNormal, Exceptions: []string{"ghost"}}); !errors.Is(err, ErrNotFound) {
		t.Errorf("an exception user that does not exist: %v", err)
	}
	for _, bad := range []struct {
		mode string
		exc  []string
	}{{"partial", nil}, {"normal", []string{"Bad Name"}}, {"normal", []string{""}}} {
		if _, err := NewLockdown(bad.mode, bad.exc); !errors.Is(err, ErrInvalid) {
			t.Errorf("NewLockdown(%q, %d names) = %v", bad.mode, len(bad.exc), err)
		}
	}
}

func TestLocksListAndClear(t *testing.T) {
	e := newEnv(t)
	must(t, e.s.AddUser("alice", "alice-password", RoleAdministrator))
	for range 5 {
		e.s.Login("alice", "wrong-password", "198.51.100.7:1234")
	}
	e.s.Login("bob", "wrong-password", "2001:db8::1")
	locks := e.s.Locks()
	if len(locks) != 4 || locks[0].LockedUntil.IsZero() || locks[1].LockedUntil.IsZero() {
		t.Fatalf("locks = %+v", locks)
	}
	if got := locks[0].Source + " " + locks[1].Source + " " + locks[1].User; got != "198.51.100.7 198.51.100.7 alice" {
		t.Errorf("locks in order: %q", got)
	}
	if locks[2].Source != "2001:db8::/64" || !locks[2].LockedUntil.IsZero() || locks[2].Failures != 1 {
		t.Errorf("an IPv6 source with one failure: %+v", locks[2])
	}
	if n, err := e.s.Unlock("alice"); n != 1 || err != nil {
		t.Errorf("Unlock(alice) = %d, %v", n, err)
	}
	if n, err := e.s.Unlock("198.51.100.7"); n != 1 || err != nil {
		t.Errorf("Unlock(address) = %d, %v", n, err)
	}
	e.login(t, "alice", "alice-password")
	if _, err := e.s.Unlock("alice"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Unlock of nothing: %v", err)
	}
}
