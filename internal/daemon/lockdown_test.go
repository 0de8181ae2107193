package daemon_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"hostagent/manage/api"
	usercmd "hostagent/manage/vicfg/user"
	"hostagent/manage/vicfg/vicfgtest"
)

// lockdownChange is the body of PUT /api/v1/lockdown setting a mode and
// the exception users.
func lockdownChange(mode string, exceptions ...string) api.LockdownChange {
	if exceptions == nil {
		exceptions = []string{}
	}
	return api.LockdownChange{Mode: &mode, ExceptionUsers: &exceptions}
}

// from is a client whose connections come from the loopback address
// local (127.0.0.0/8 is all loopback on Linux), not yet logged in.
func (e *privEnv) from(local string) *httpsClient {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	return &httpsClient{t: e.t, base: "https://" + e.r.daemon.HTTPSAddr(),
		http: &http.Client{Transport: &http.Transport{
			DialContext:     d.DialContext,
			TLSClientConfig: &tls.Config{RootCAs: e.pool, ServerName: "localhost"},
		}}}
}

func (e *privEnv) lockdown() api.Lockdown {
	e.t.Helper()
	var l api.Lockdown
	if err := json.Unmarshal(e.consoleOK("GET", api.PathLockdown, nil), &l); err != nil {
		e.t.Fatal(err)
	}
	return l
}

// TestLockdownAsESXiHasIt is the attack on the lockdown mode of the issue:
// sessions opened before it stayed alive, a custom role with every
// privilege was not locked out, and a locked-out Administrator's name
// answered 403 at once where an unknown name answered 401.
func TestLockdownAsESXiHasIt(t *testing.T) {
	e := startPrivileges(t)
	alice := e.as("alice", "alice-passw0rd") // Administrator
	frank := e.as("frank", "frank-passw0rd") // every privilege, another role name
	bob := e.as("bob", "bob-passw0rd")       // ReadOnly, an exception user below
	alive := func(c *httpsClient) bool {
		code, _, _ := c.do("GET", api.PathSession, nil)
		return code == http.StatusOK
	}

	// Entering normal mode (over the network, by an Administrator) ends
	// every session but the exception users'; exception users must
	// exist, and changing them needs every privilege.
	if code, body, _ := bob.do("PUT", api.PathLockdown, lockdownChange("normal", "bob")); code != http.StatusForbidden {
		t.Errorf("ReadOnly entering lockdown: %d %s", code, body)
	}
	if code, body, _ := alice.do("PUT", api.PathLockdown, lockdownChange("normal", "bob", "nobody")); code != http.StatusNotFound || !strings.Contains(body, "nobody: no such user") {
		t.Errorf("an exception user that does not exist: %d %s", code, body)
	}
	if code, body, _ := alice.do("PUT", api.PathLockdown, lockdownChange("normal", "bob")); code != http.StatusOK {
		t.Fatalf("entering normal lockdown: %d %s", code, body)
	}
	if alive(alice) || alive(frank) || !alive(bob) {
		t.Errorf("after entering normal mode, sessions alive: alice %v frank %v bob %v; want only bob's", alive(alice), alive(frank), alive(bob))
	}
	if l := e.lockdown(); !l.Enabled || l.Mode != "normal" || strings.Join(l.ExceptionUsers, ",") != "bob" {
		t.Errorf("lockdown state: %+v", l)
	}

	// Every refused login gets the same answer, whether the user exists,
	// holds every privilege, or gave the right password; each costs one
	// password check (auth's TestLockdownLoginsLookAlike counts them).
	var answers []string
	for i, try := range []struct{ user, password string }{
		{"alice", "alice-passw0rd"}, // right password, not an exception
		{"frank", "frank-passw0rd"}, // a custom role with every privilege
		{"alice", "wrong-passw0rd"},
		{"nobody", "whatever-passw0rd"},
		{"bob", "wrong-passw0rd"}, // an exception user's wrong password
	} {
		c := e.from(fmt.Sprintf("127.0.1.%d", i+1)) // an address each: the limiter stays out of it
		code, body := c.login(try.user, try.password)
		answers = append(answers, http.StatusText(code)+" "+body)
		if code != http.StatusUnauthorized || !strings.Contains(body, "lockdown mode") {
			t.Errorf("login %s in lockdown: %d %s", try.user, code, body)
		}
	}
	for _, a := range answers[1:] {
		if a != answers[0] {
			t.Errorf("refused logins answer differently:\n%s\n%s", answers[0], a)
		}
	}
	if !e.canLogin("bob", "bob-passw0rd") {
		t.Error("the exception user cannot log in")
	}

	// Over the network lockdown is never weakened: not turned off, not
	// a lower mode, no exception user added; only the console does that.
	for _, c := range []api.LockdownChange{{Enabled: new(false)}, lockdownChange("disabled", "bob"), lockdownChange("normal", "bob", "alice")} {
		if code, body, _ := bob.do("PUT", api.PathLockdown, c); code != http.StatusForbidden {
			t.Errorf("weakening lockdown over the network: %d %s", code, body)
		}
	}

	// Strict mode ends every session, the exception users' too; they log
	// in again.
	e.consoleOK("PUT", api.PathLockdown, lockdownChange("strict", "bob", "frank"))
	if alive(bob) {
		t.Error("bob's session survived entering strict mode")
	}
	frank = e.as("frank", "frank-passw0rd")
	if code, body, _ := frank.do("PUT", api.PathLockdown, lockdownChange("normal", "bob", "frank")); code != http.StatusForbidden || !strings.Contains(body, "the mode from strict to normal") {
		t.Errorf("strict to normal over the network: %d %s", code, body)
	}
	// Removing an exception user over the network strengthens: allowed to
	// a holder of every privilege, and ends that user's sessions.
	bob = e.as("bob", "bob-passw0rd")
	if code, body, _ := frank.do("PUT", api.PathLockdown, lockdownChange("strict", "frank")); code != http.StatusOK {
		t.Errorf("removing an exception user: %d %s", code, body)
	}
	if alive(bob) {
		t.Error("bob's session survived his removal from the exceptions")
	}

	// The lockdown file is the daemon's own, and the audit log tells who
	// changed what and whose sessions ended.
	e.consoleOK("PUT", api.PathLockdown, api.Lockdown{Enabled: false})
	if err := e.r.daemon.FlushAudit(); err != nil { // refused logins are written per burst
		t.Fatal(err)
	}
	trail, _ := os.ReadFile(filepath.Join(e.r.dir, "state", "audit.log"))
	for _, want := range []string{`"action":"lockdown","setting":"mode","old":"disabled","new":"normal"`,
		`"setting":"exception_users","new":"bob"`, `"action":"lockdown.sessions"`, `ended the sessions of alice, frank`,
		`"detail":"lockdown`} {
		if !strings.Contains(string(trail), want) {
			t.Errorf("audit log lacks %s", want)
		}
	}
}

// TestLocksStayWithTheirAddress: five wrong passwords from any address
// locked the real Administrator out everywhere, and no command showed or
// cleared a lock.
func TestLocksStayWithTheirAddress(t *testing.T) {
	e := startPrivileges(t)
	attacker := e.from("127.0.0.2")
	for range 5 {
		if code, _ := attacker.login("alice", "not-alices-password"); code != http.StatusUnauthorized {
			t.Fatalf("guess: %d", code)
		}
	}
	if code, _ := attacker.login("alice", "alice-passw0rd"); code != http.StatusTooManyRequests {
		t.Errorf("the attacker's address is not locked: %d", code)
	}
	// alice, from her own address, is not locked out.
	alice := e.from("127.0.0.1")
	if code, body := alice.login("alice", "alice-passw0rd"); code != http.StatusOK {
		t.Fatalf("alice from her own address: %d %s", code, body)
	}

	// Locks are shown to those who hold every privilege (and the console).
	var locks []api.Lock
	code, body, _ := alice.do("GET", api.PathLocks, nil)
	if code != http.StatusOK || json.Unmarshal([]byte(body), &locks) != nil {
		t.Fatalf("GET locks: %d %s", code, body)
	}
	found := map[string]bool{}
	for _, l := range locks {
		if l.LockedUntil != "" {
			found[l.User+"@"+l.Source] = true
		}
	}
	if !found["alice@127.0.0.2"] || !found["@127.0.0.2"] || len(found) != 2 {
		t.Errorf("locks = %+v, want alice@127.0.0.2 and the address itself", locks)
	}
	ursula := e.as("ursula", "ursula-passw0rd") // Host.Config.Users alone
	if code, body, _ := ursula.do("GET", api.PathLocks, nil); code != http.StatusForbidden || !strings.Contains(body, "every privilege") {
		t.Errorf("locks shown to a Users-only holder: %d %s", code, body)
	}
	if code, body, _ := ursula.do("DELETE", api.PathLocks+"/alice", nil); code != http.StatusForbidden {
		t.Errorf("a Users-only holder clearing a lock: %d %s", code, body)
	}

	// vicfg-user shows them, and clears them by address; the address may
	// log in again. Clearing what is not locked says so.
	host, port, _ := net.SplitHostPort(e.r.daemon.HTTPSAddr())
	vicfgUser := func(args ...string) (int, string) {
		code, out, errOut := vicfgtest.Run(context.Background(), usercmd.Command, "vicfg-user", nil, append([]string{
			"--server", host, "--portnumber", port, "--thumbprint", e.id.Fingerprint(), "--username", "alice", "--password", "alice-passw0rd"}, args...)...)
		return code, out + errOut
	}
	if code, out := vicfgUser("--locks"); code != 0 || !regexp.MustCompile(`(?m)^alice +127\.0\.0\.2 +0 +20\d\d-`).MatchString(out) || !strings.Contains(out, "(any)") {
		t.Errorf("vicfg-user --locks: %d\n%s", code, out)
	}
	if code, out := vicfgUser("--unlock", "127.0.0.2"); code != 0 || !strings.Contains(out, "Complete: 2 cleared.") {
		t.Errorf("vicfg-user --unlock 127.0.0.2: %d %s", code, out)
	}
	if code, body := attacker.login("alice", "alice-passw0rd"); code != http.StatusOK {
		t.Errorf("after unlock: %d %s", code, body)
	}
	if code, body, _ := alice.do("DELETE", api.PathLocks+"/carol", nil); code != http.StatusNotFound || !strings.Contains(body, "carol: no lock") {
		t.Errorf("unlock of nothing: %d %s", code, body)
	}
	trail, _ := os.ReadFile(filepath.Join(e.r.dir, "state", "audit.log"))
	if !strings.Contains(string(trail), `"action":"login.unlock","setting":"127.0.0.2","result":"ok"`) {
		t.Error("the unlock is not in the audit log")
	}
}

// TestLoginsDuringLockdownAndRestores: logins and requests run while the
// console changes lockdown and restores backups; `go test -race` showed
// races there (the user store and the lockdown flag were swapped under
// running logins). Every login either succeeds or is refused cleanly.
func TestLoginsDuringLockdownAndRestores(t *testing.T) {
	e := startPrivileges(t)
	backup := e.consoleOK("GET", api.PathBackup, nil)
	var b api.Backup
	if err := json.Unmarshal(backup, &b); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	errs := make(chan error, 4)
	for i, who := range []struct{ user, password string }{{"bob", "bob-passw0rd"}, {"alice", "alice-passw0rd"}} {
		go func() {
			c := e.from(fmt.Sprintf("127.0.2.%d", i+1))
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				code, body := c.login(who.user, who.password)
				if code != http.StatusOK && code != http.StatusUnauthorized {
					errs <- fmt.Errorf("login %s: %d %s", who.user, code, body)
					return
				}
				if code == http.StatusOK {
					if code, _, _ := c.do("GET", api.PathLockdown, nil); code != http.StatusOK && code != http.StatusUnauthorized {
						errs <- fmt.Errorf("request of %s: %d", who.user, code)
						return
					}
				}
			}
		}()
	}
	for range 5 {
		e.consoleOK("PUT", api.PathLockdown, lockdownChange("normal", "bob"))
		e.consoleOK("PUT", api.PathBackup, b)
		e.consoleOK("PUT", api.PathLockdown, lockdownChange("strict"))
		e.consoleOK("PUT", api.PathLockdown, lockdownChange("disabled"))
	}
	close(done)
	for range 2 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if !e.canLogin("alice", "alice-passw0rd") {
		t.Error("alice cannot log in after the restores")
	}
}

// TestLockdownIsForAdministrators: a Host.Config.Users holder could enter
// strict lockdown and lock every Administrator out of the network, or take
// over a lockdown exception account (reset its password, give it a role,
// or create a removed one again) and be let in alone.
func TestLockdownIsForAdministrators(t *testing.T) {
	e := startPrivileges(t)
	ursula := e.as("ursula", "ursula-passw0rd") // Host.Config.Users
	if code, body, _ := ursula.do("PUT", api.PathLockdown, lockdownChange("strict")); code != http.StatusForbidden || !strings.Contains(body, "changing lockdown needs every privilege") {
		t.Errorf("a Users holder entering lockdown: %d %s", code, body)
	}
	if !e.canLogin("alice", "alice-passw0rd") {
		t.Fatal("alice is locked out")
	}

	// The exception list outlives lockdown being turned off, and so does
	// the protection of the accounts on it.
	e.consoleOK("PUT", api.PathLockdown, lockdownChange("normal", "bob", "sam"))
	e.consoleOK("PUT", api.PathLockdown, api.LockdownChange{Mode: new("disabled")})
	e.consoleOK("DELETE", api.PathUsers+"/sam", nil)
	ursula = e.as("ursula", "ursula-passw0rd")
	for _, attack := range []struct {
		method, path string
		body         any
	}{
		{"PATCH", api.PathUsers + "/bob", api.UserPatch{Password: new("ursula-owns-bob1")}},
		{"PATCH", api.PathUsers + "/bob", api.UserPatch{Role: new("UsersOnly")}},
		{"DELETE", api.PathUsers + "/bob", nil},
		{"POST", api.PathUsers, api.NewUser{Name: "sam", Password: "ursula-owns-sam1", Role: "ReadOnly"}},
	} {
		if code, body, _ := ursula.do(attack.method, attack.path, attack.body); code != http.StatusForbidden || !strings.Contains(body, "a lockdown exception user") {
			t.Errorf("%s %s %+v: %d %s", attack.method, attack.path, attack.body, code, body)
		}
	}
	if !e.canLogin("bob", "bob-passw0rd") {
		t.Error("bob's password changed")
	}
	// An Administrator may (and the console may).
	alice := e.as("alice", "alice-passw0rd")
	if code, body, _ := alice.do("PATCH", api.PathUsers+"/bob", api.UserPatch{Password: new("bob-by-alice-1")}); code != http.StatusOK {
		t.Errorf("an Administrator resetting an exception user's password: %d %s", code, body)
	}
}
