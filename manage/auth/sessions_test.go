package auth

import (
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestLogin(t *testing.T) {
	e := newEnv(t)
	must(t, e.s.AddUser("alice", "alice-password", RoleAdministrator))
	for _, tc := range []struct {
		name, user, password string
		reason               Reason // "" for success
	}{
		{"ok", "alice", "alice-password", ""},
		{"wrong password", "alice", "alice-passwore", ReasonWrongPassword},
		{"unknown user", "mallory", "alice-password", ReasonUnknownUser},
		{"empty", "", "", ReasonUnknownUser},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.kdfs.Load()
			tok, err := e.s.Login(tc.user, tc.password, "192.0.2.1:4242")
			// Unknown users are hashed too (against the dummy), exactly once.
			if n := e.kdfs.Load() - before; n != 1 {
				t.Fatalf("kdf ran %d times, want 1", n)
			}
			if tc.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				if _, err := hex.DecodeString(tok); err != nil || len(tok) != 64 {
					t.Fatalf("token %q is not 256 bits of hex", tok)
				}
				return
			}
			var le *LoginError
			if !errors.As(err, &le) || !errors.Is(err, ErrBadCredentials) || tok != "" {
				t.Fatalf("Login = %q, %v", tok, err)
			}
			// The client sees the same message either way; the audit log
			// gets the reason.
			if err.Error() != "bad credentials" || le.Reason != tc.reason || le.User != tc.user || le.Source != "192.0.2.1:4242" {
				t.Fatalf("error %q, %+v", err, le)
			}
		})
	}
}

func TestRateLimitPerUser(t *testing.T) {
	e := newEnv(t)
	must(t, e.s.AddUser("alice", "alice-password", RoleAdministrator))
	const attacker = "198.51.100.7"
	attempt := func(password, source string) error {
		_, err := e.s.Login("alice", password, source)
		return err
	}
	for i, want := range []time.Duration{1, 2, 4, 8, 16, 30, 30} {
		for range 5 {
			if err := attempt("wrong-password", attacker); !errors.Is(err, ErrBadCredentials) {
				t.Fatalf("round %d: %v", i, err)
			}
		}
		before := e.kdfs.Load()
		err := attempt("alice-password", attacker) // even the right password
		var le *LoginError
		if !errors.As(err, &le) || !errors.Is(err, ErrRateLimited) || le.RetryAfter != want*time.Minute || le.Reason != ReasonRateLimited {
			t.Fatalf("round %d: err = %v, want lock of %v min", i, err, want)
		}
		if e.kdfs.Load() != before {
			t.Fatal("a locked login was hashed")
		}
		if err.Error() != fmt.Sprintf("too many failed logins, retry in %v", want*time.Minute) {
			t.Fatalf("message %q", err)
		}
		// The lock is the attacker's: alice logs in from her own address
		// meanwhile, which does not unlock the attacker.
		if err := attempt("alice-password", fmt.Sprintf("192.0.2.%d", i+1)); err != nil {
			t.Fatalf("round %d: alice locked out from her own address: %v", i, err)
		}
		e.clock.advance(want*time.Minute - time.Second)
		if err := attempt("alice-password", attacker); !errors.Is(err, ErrRateLimited) {
			t.Fatalf("round %d: unlocked early: %v", i, err)
		}
		e.clock.advance(time.Second)
	}

	// Failures older than the window do not count; unknown names lock too.
	e.clock.advance(2 * time.Hour)
	for range 4 {
		attempt("wrong-password", attacker)
		e.clock.advance(2 * time.Minute)
	}
	if err := attempt("alice-password", attacker); err != nil {
		t.Fatalf("failures spread over 8 min locked: %v", err)
	}
	for range 5 {
		e.s.Login("nobody", "x", "203.0.113.1")
	}
	if _, err := e.s.Login("nobody", "x", "203.0.113.1"); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("unknown user not limited: %v", err)
	}
}

func TestRateLimitPerSource(t *testing.T) {
	e := newEnv(t)
	must(t, e.s.AddUser("alice", "alice-password", RoleAdministrator))
	must(t, e.s.AddUser("bob", "bob-password", RoleReadOnly))
	// Guessing different users' passwords from one address; a valid login
	// from it in between does not reset the address.
	for i := range 4 {
		e.s.Login(fmt.Sprintf("user%d", i), "guess-guess", "192.0.2.7:1000")
	}
	if _, err := e.s.Login("bob", "bob-password", "192.0.2.7:1001"); err != nil {
		t.Fatal(err)
	}
	e.s.Login("user9", "guess-guess", "192.0.2.7:1002")
	_, err := e.s.Login("alice", "alice-password", "192.0.2.7:1003")
	var le *LoginError
	if !errors.As(err, &le) || !errors.Is(err, ErrRateLimited) || le.RetryAfter != time.Minute {
		t.Fatalf("source not locked: %v", err)
	}
	// Another address is not affected, nor is alice herself.
	e.login(t, "alice", "alice-password")

	// IPv6: one /64 is one source.
	for i := range 5 {
		e.s.Login(fmt.Sprintf("x%d", i), "guess-guess", fmt.Sprintf("[2001:db8:1:2::%x]:443", i+1))
	}
	if _, err := e.s.Login("alice", "alice-password", "2001:db8:1:2:ffff::1"); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("same /64 not locked: %v", err)
	}
	if _, err := e.s.Login("alice", "alice-password", "2001:db8:1:3::1"); err != nil {
		t.Fatalf("other /64 locked: %v", err)
	}
}

func TestSourceKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"192.0.2.1", "src:192.0.2.1"},
		{"192.0.2.1:5555", "src:192.0.2.1"},
		{"[::ffff:192.0.2.1]:80", "src:192.0.2.1"},
		{"[2001:db8::1]:22", "src:2001:db8::/64"},
		{"2001:db8::1:2:3:4", "src:2001:db8::/64"},
		{"fe80::1%eth0", "src:fe80::/64"},
		{"@", "src:@"}, // unix socket peers and the like
	} {
		if got := sourceKey(tc.in); got != tc.want {
			t.Errorf("sourceKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Attempts still being hashed count towards the limit, so parallel guesses
// cannot overtake it.
func TestLimiterPending(t *testing.T) {
	c := &fakeClock{t: time.Unix(0, 0)}
	l := newLimiter(c.now)
	for range 5 {
		if _, ok := l.begin("k"); !ok {
			t.Fatal("refused early")
		}
	}
	if wait, ok := l.begin("k"); ok || wait != busyRetry {
		t.Fatalf("6th parallel attempt: %v %v", wait, ok)
	}
	for range 5 {
		l.end("k", false, true)
	}
	if wait, ok := l.begin("k"); ok || wait != time.Minute {
		t.Fatalf("after 5 failures: %v %v", wait, ok)
	}
}

func TestLimiterEviction(t *testing.T) {
	c := &fakeClock{t: time.Unix(0, 0)}
	l := newLimiter(c.now)
	l.maxKeys = 10
	fail := func(k string) {
		if _, ok := l.begin(k); ok {
			l.end(k, false, false)
		}
	}
	for range 5 {
		fail("locked")
	}
	for i := range 100 {
		c.advance(time.Millisecond)
		fail(fmt.Sprint("flood", i))
		if len(l.entries) > l.maxKeys {
			t.Fatalf("%d entries, bound %d", len(l.entries), l.maxKeys)
		}
	}
	// Flooding evicted idle entries, not the lock.
	if _, ok := l.begin("locked"); ok {
		t.Fatal("flooding the limiter unlocked a key")
	}
	if l.entries["flood0"] != nil || l.entries["flood99"] == nil {
		t.Fatal("evicted the wrong entries")
	}

	// Entries quiet for an hour are forgotten, doubling included.
	for range 5 {
		c.advance(time.Minute)
		fail("locked")
	}
	if wait, _ := l.begin("locked"); wait != 2*time.Minute {
		t.Fatalf("second lock %v", wait)
	}
	c.advance(2*time.Minute + time.Hour)
	for range 5 {
		fail("locked")
	}
	if wait, _ := l.begin("locked"); wait != time.Minute {
		t.Fatalf("lock after an idle hour %v, want the first step again", wait)
	}
}

func TestSessionExpiryAndSliding(t *testing.T) {
	e := newEnv(t)
	must(t, e.s.AddUser("alice", "alice-password", RoleAdministrator))
	login := e.clock.now()
	tok := e.login(t, "alice", "alice-password")

	for range 3 { // each use slides the 30 min idle timer
		e.clock.advance(29 * time.Minute)
		s, err := e.s.Session(tok)
		if err != nil {
			t.Fatal(err)
		}
		want := Session{User: "alice", Role: RoleAdministrator, Source: "192.0.2.1:5000", Created: login, LastUsed: e.clock.now()}
		if s != want {
			t.Fatalf("session %+v, want %+v", s, want)
		}
	}
	e.clock.advance(30 * time.Minute)
	if _, err := e.s.Session(tok); !errors.Is(err, ErrNoSession) {
		t.Fatalf("after 30 min idle: %v", err)
	}

	e.s.SetIdleTimeout(5 * time.Minute)
	tok = e.login(t, "alice", "alice-password")
	e.clock.advance(5 * time.Minute)
	if _, err := e.s.Session(tok); !errors.Is(err, ErrNoSession) {
		t.Fatalf("idle timeout 5 min not applied: %v", err)
	}
	for _, bad := range []string{"", "abc", tok + "00", "zz" + tok[2:]} {
		if _, err := e.s.Session(bad); !errors.Is(err, ErrNoSession) {
			t.Errorf("Session(%q) = %v", bad, err)
		}
	}
}

func TestLogoutAndRevocation(t *testing.T) {
	e := newEnv(t)
	must(t, e.s.AddUser("alice", "alice-password", RoleAdministrator))
	must(t, e.s.AddUser("bob", "bob-password", RoleReadOnly))

	tok := e.login(t, "alice", "alice-password")
	must(t, e.s.Logout(tok))
	if _, err := e.s.Session(tok); !errors.Is(err, ErrNoSession) {
		t.Fatalf("after logout: %v", err)
	}
	if err := e.s.Logout(tok); !errors.Is(err, ErrNoSession) {
		t.Fatalf("second logout: %v", err)
	}

	// Memory holds only hashes of tokens.
	tok = e.login(t, "bob", "bob-password")
	raw, _ := hex.DecodeString(tok)
	for k := range e.s.sessions {
		if string(k[:]) == string(raw) || hex.EncodeToString(k[:]) == tok {
			t.Fatal("token stored in the clear")
		}
	}

	// A role change applies to the running session.
	must(t, e.s.SetRole("bob", RoleNoAccess))
	if s, err := e.s.Session(tok); err != nil || s.Role != RoleNoAccess {
		t.Fatalf("after SetRole: %+v %v", s, err)
	}
	other := e.login(t, "alice", "alice-password")
	must(t, e.s.SetPassword("bob", "bob-password2"))
	if _, err := e.s.Session(tok); !errors.Is(err, ErrNoSession) {
		t.Fatalf("after password change: %v", err)
	}
	if _, err := e.s.Session(other); err != nil {
		t.Fatalf("another user's session revoked: %v", err)
	}
	tok = e.login(t, "bob", "bob-password2")
	must(t, e.s.RemoveUser("bob"))
	if _, err := e.s.Session(tok); !errors.Is(err, ErrNoSession) {
		t.Fatalf("after removal: %v", err)
	}
	// Re-adding the name does not bring the session back.
	must(t, e.s.AddUser("bob", "bob-password2", RoleReadOnly))
	if _, err := e.s.Session(tok); !errors.Is(err, ErrNoSession) {
		t.Fatalf("after re-adding: %v", err)
	}
}

func TestSessionsPerUserBounded(t *testing.T) {
	e := newEnv(t)
	must(t, e.s.AddUser("alice", "alice-password", RoleAdministrator))
	first := e.login(t, "alice", "alice-password")
	for range maxSessionsPerUser {
		e.clock.advance(time.Second)
		e.login(t, "alice", "alice-password")
	}
	if n := len(e.s.sessions); n != maxSessionsPerUser {
		t.Fatalf("%d sessions", n)
	}
	if _, err := e.s.Session(first); !errors.Is(err, ErrNoSession) {
		t.Fatal("least recently used session kept")
	}
}

func TestAuthorize(t *testing.T) {
	e := newEnv(t)
	must(t, e.s.AddRole("SyslogOps", []Privilege{HostConfigSyslog, SystemRead}))
	users := map[string]string{"admin": RoleAdministrator, "reader": RoleReadOnly, "none": RoleNoAccess, "ops": "SyslogOps"}
	tokens := map[string]string{}
	for u, r := range users {
		must(t, e.s.AddUser(u, u+"-password", r))
		tokens[u] = e.login(t, u, u+"-password")
	}
	allowed := map[string][]Privilege{
		"admin":  Privileges(),
		"reader": {SystemRead},
		"none":   {},
		"ops":    {HostConfigSyslog, SystemRead},
	}
	for u := range users {
		for _, p := range Privileges() {
			want := false
			for _, a := range allowed[u] {
				want = want || a == p
			}
			t.Run(u+"/"+string(p), func(t *testing.T) {
				s, err := e.s.Authorize(tokens[u], p)
				if want {
					if err != nil || s.User != u {
						t.Fatalf("Authorize = %+v, %v", s, err)
					}
					return
				}
				var de *DeniedError
				if !errors.As(err, &de) || *de != (DeniedError{User: u, Role: users[u], Privilege: p}) {
					t.Fatalf("err = %v", err)
				}
			})
		}
	}
	_, err := e.s.Authorize(tokens["reader"], HostConfigSNMP)
	if err == nil || err.Error() != "user reader (role ReadOnly) lacks privilege Host.Config.SNMP" {
		t.Fatalf("message %v", err)
	}
	if _, err := e.s.Authorize("nonsense", SystemRead); !errors.Is(err, ErrNoSession) {
		t.Fatalf("bad token: %v", err)
	}
	if (Role{Name: RoleAdministrator, BuiltIn: true}).Has("Made.Up") {
		t.Fatal("Administrator has an unknown privilege")
	}
}
