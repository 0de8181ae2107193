package daemon_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"hostagent/internal/daemon"
	"hostagent/manage/api"
	"hostagent/manage/tlsid"
	usercmd "hostagent/manage/vicfg/user"
	"hostagent/manage/vicfg/vicfgtest"
)

// privEnv is a daemon with HTTPS on loopback and one user per kind of
// holder, made on the console.
type privEnv struct {
	t       *testing.T
	r       running
	console *http.Client
	pool    *x509.CertPool
	id      *tlsid.Identity
}

// The users, their passwords and roles. UsersOnly and BackupOnly are the
// privileges the attacks start from; AllCopy is Administrator under
// another name, which the rules treat as Administrator.
var privUsers = []struct{ name, password, role string }{
	{"alice", "alice-passw0rd", "Administrator"},
	{"frank", "frank-passw0rd", "AllCopy"},
	{"ursula", "ursula-passw0rd", "UsersOnly"},
	{"boris", "boris-passw0rd", "BackupOnly"},
	{"sam", "sam-passw0rd", "SNMPOps"},
	{"bob", "bob-passw0rd", "ReadOnly"},
}

func startPrivileges(t *testing.T) *privEnv {
	t.Helper()
	dir := t.TempDir()
	r := start(t, dir, func(o *daemon.Options) { o.HTTPSListen = "127.0.0.1:0" })
	e := &privEnv{t: t, r: r, console: consoleClient(r.sock)}
	for _, role := range []api.Role{
		{Name: "AllCopy", Privileges: []string{"Host.Config.Backup", "Host.Config.SNMP", "Host.Config.Syslog", "Host.Config.Users", "System.Read"}},
		{Name: "UsersOnly", Privileges: []string{"Host.Config.Users", "System.Read"}},
		{Name: "BackupOnly", Privileges: []string{"Host.Config.Backup", "System.Read"}},
		{Name: "SNMPOps", Privileges: []string{"Host.Config.SNMP", "System.Read"}},
	} {
		e.consoleOK("POST", api.PathRoles, role)
	}
	for _, u := range privUsers {
		e.consoleOK("POST", api.PathUsers, api.NewUser{Name: u.name, Password: u.password, Role: u.role})
	}
	id, err := tlsid.Load(filepath.Join(dir, "state"), "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	e.id, e.pool = id, x509.NewCertPool()
	e.pool.AddCert(id.Leaf)
	return e
}

func (e *privEnv) consoleOK(method, path string, in any) []byte {
	e.t.Helper()
	code, out := call(e.t, e.console, method, path, in)
	if code != http.StatusOK && code != http.StatusCreated {
		e.t.Fatalf("console %s %s: %d %s", method, path, code, out)
	}
	return out
}

// as logs in over TLS on loopback.
func (e *privEnv) as(user, password string) *httpsClient {
	e.t.Helper()
	c := &httpsClient{t: e.t, base: "https://" + e.r.daemon.HTTPSAddr(),
		http: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.pool, ServerName: "localhost"}}}}
	if code, body := c.login(user, password); code != http.StatusOK {
		e.t.Fatalf("login %s: %d %s", user, code, body)
	}
	return c
}

func (e *privEnv) canLogin(user, password string) bool {
	e.t.Helper()
	c := &httpsClient{t: e.t, base: "https://" + e.r.daemon.HTTPSAddr(),
		http: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.pool, ServerName: "localhost"}}}}
	code, _ := c.login(user, password)
	return code == http.StatusOK
}

func (e *privEnv) users() map[string]string {
	e.t.Helper()
	var us []api.User
	if err := json.Unmarshal(e.consoleOK("GET", api.PathUsers, nil), &us); err != nil {
		e.t.Fatal(err)
	}
	m := map[string]string{}
	for _, u := range us {
		m[u.Name] = u.Role
	}
	return m
}

func (e *privEnv) roles() []string {
	e.t.Helper()
	var rs []api.Role
	if err := json.Unmarshal(e.consoleOK("GET", api.PathRoles, nil), &rs); err != nil {
		e.t.Fatal(err)
	}
	var names []string
	for _, r := range rs {
		names = append(names, r.Name)
	}
	return names
}

func (e *privEnv) stateFile(name string) string {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.r.dir, "state", name))
	if err != nil && !os.IsNotExist(err) {
		e.t.Fatal(err)
	}
	return string(b)
}

func ptr(s string) *string { return &s }

// TestUsersPrivilegeIsNotAdministrator is the self-promotion attack: a
// holder of Host.Config.Users (and System.Read) tries to give itself and
// others Administrator or privileges it lacks, to create a role with them,
// and to take over an Administrator by resetting its password. Each is
// refused with 403 naming what is missing, and nothing changes.
func TestUsersPrivilegeIsNotAdministrator(t *testing.T) {
	e := startPrivileges(t)
	u := e.as("ursula", "ursula-passw0rd")
	usersBefore, rolesBefore := e.users(), e.roles()

	for _, tc := range []struct {
		name, method, path string
		body               any
		want               []string
	}{
		{"self-promotion", "PATCH", api.PathUsers + "/ursula", api.UserPatch{Role: ptr("Administrator")},
			[]string{"every privilege (Administrator)", "Host.Config.Backup"}},
		{"self to a copy of Administrator", "PATCH", api.PathUsers + "/ursula", api.UserPatch{Role: ptr("AllCopy")},
			[]string{"every privilege (Administrator)"}},
		{"self to a privilege it lacks", "PATCH", api.PathUsers + "/ursula", api.UserPatch{Role: ptr("BackupOnly")},
			[]string{"Host.Config.Backup", "ursula (role UsersOnly) lacks"}},
		{"promote another", "PATCH", api.PathUsers + "/bob", api.UserPatch{Role: ptr("Administrator")},
			[]string{"every privilege (Administrator)"}},
		{"another to a privilege it lacks", "PATCH", api.PathUsers + "/bob", api.UserPatch{Role: ptr("SNMPOps")},
			[]string{"Host.Config.SNMP"}},
		{"demote an Administrator", "PATCH", api.PathUsers + "/alice", api.UserPatch{Role: ptr("NoAccess")},
			[]string{"every privilege (Administrator)"}},
		{"add an Administrator", "POST", api.PathUsers, api.NewUser{Name: "mallory", Password: "mallory-passw0rd", Role: "Administrator"},
			[]string{"every privilege (Administrator)"}},
		{"add a copy of Administrator", "POST", api.PathUsers, api.NewUser{Name: "mallory", Password: "mallory-passw0rd", Role: "AllCopy"},
			[]string{"every privilege (Administrator)"}},
		{"role with a privilege it lacks", "POST", api.PathRoles, api.Role{Name: "Escalate", Privileges: []string{"Host.Config.Users", "Host.Config.Backup"}},
			[]string{"creating role Escalate needs Host.Config.Backup"}},
		{"role with every privilege", "POST", api.PathRoles, api.Role{Name: "Everything", Privileges: []string{"Host.Config.Backup", "Host.Config.SNMP", "Host.Config.Syslog", "Host.Config.Users", "System.Read"}},
			[]string{"every privilege (Administrator)"}},
		{"reset an Administrator's password", "PATCH", api.PathUsers + "/alice", api.UserPatch{Password: ptr("taken-over-1")},
			[]string{"changing the password of user alice (role Administrator) needs every privilege"}},
		{"reset a copy of Administrator's password", "PATCH", api.PathUsers + "/frank", api.UserPatch{Password: ptr("taken-over-1")},
			[]string{"every privilege (Administrator)"}},
		{"reset the password of a holder of more", "PATCH", api.PathUsers + "/sam", api.UserPatch{Password: ptr("taken-over-1")},
			[]string{"Host.Config.SNMP"}},
		{"remove an Administrator", "DELETE", api.PathUsers + "/alice", nil,
			[]string{"every privilege (Administrator)"}},
	} {
		code, body, _ := u.do(tc.method, tc.path, tc.body)
		if code != http.StatusForbidden {
			t.Errorf("%s: %d %s, want 403", tc.name, code, body)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: %s lacks %q", tc.name, body, w)
			}
		}
	}
	if after := e.users(); !mapsEqual(after, usersBefore) {
		t.Errorf("users changed: %v, were %v", after, usersBefore)
	}
	if after := e.roles(); !slices.Equal(after, rolesBefore) {
		t.Errorf("roles changed: %v, were %v", after, rolesBefore)
	}
	// The token gained nothing, and the victims keep their passwords.
	if code, body, _ := u.do("GET", api.PathBackup, nil); code != http.StatusForbidden || !strings.Contains(body, "lacks privilege Host.Config.Backup") {
		t.Errorf("ursula's token after the attempts: %d %s", code, body)
	}
	for _, v := range []struct{ user, password string }{{"alice", "alice-passw0rd"}, {"frank", "frank-passw0rd"}, {"sam", "sam-passw0rd"}} {
		if !e.canLogin(v.user, v.password) {
			t.Errorf("%s's password no longer works", v.user)
		}
	}

	// Within its own privileges it still manages users.
	u = e.as("ursula", "ursula-passw0rd")
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{"POST", api.PathUsers, api.NewUser{Name: "nora", Password: "nora-passw0rd", Role: "ReadOnly"}},
		{"PATCH", api.PathUsers + "/bob", api.UserPatch{Password: ptr("bob-new-passw0rd")}},
		{"PATCH", api.PathUsers + "/nora", api.UserPatch{Role: ptr("NoAccess")}},
		{"POST", api.PathRoles, api.Role{Name: "Helpdesk", Privileges: []string{"System.Read"}}},
		{"DELETE", api.PathUsers + "/nora", nil},
	} {
		if code, body, _ := u.do(tc.method, tc.path, tc.body); code != http.StatusOK && code != http.StatusCreated {
			t.Errorf("%s %s within ursula's privileges: %d %s", tc.method, tc.path, code, body)
		}
	}

	// Administrators, and holders of every privilege under another role
	// name, may do what ursula may not.
	a := e.as("frank", "frank-passw0rd")
	if code, body, _ := a.do("PATCH", api.PathUsers+"/bob", api.UserPatch{Role: ptr("Administrator")}); code != http.StatusOK {
		t.Errorf("frank (every privilege) promoting bob: %d %s", code, body)
	}
	if code, body, _ := a.do("PATCH", api.PathUsers+"/alice", api.UserPatch{Password: ptr("alice-reset-by-frank")}); code != http.StatusOK {
		t.Errorf("frank resetting alice's password: %d %s", code, body)
	}

	// The audit log has the refusals, with who tried.
	trail := e.stateFile("audit.log")
	for _, want := range []string{`"user":"ursula"`, `"action":"user.role ursula"`, `"result":"denied"`, `every privilege (Administrator)`} {
		if !strings.Contains(trail, want) {
			t.Errorf("audit log lacks %s", want)
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestOwnPasswordNeedsTheCurrentOne: over the network, users (an
// Administrator too) change their own password only by giving the current
// one, checked as a login is; vicfg-user asks for it on the terminal.
func TestOwnPasswordNeedsTheCurrentOne(t *testing.T) {
	e := startPrivileges(t)
	for _, who := range []struct{ user, password string }{{"ursula", "ursula-passw0rd"}, {"alice", "alice-passw0rd"}} {
		c := e.as(who.user, who.password)
		path := api.PathUsers + "/" + who.user
		if code, body, _ := c.do("PATCH", path, api.UserPatch{Password: ptr("stolen-session-1")}); code != http.StatusForbidden || !strings.Contains(body, "needs your current password") {
			t.Errorf("%s without the current password: %d %s", who.user, code, body)
		}
		if code, body, _ := c.do("PATCH", path, api.UserPatch{Password: ptr("stolen-session-1"), OldPassword: "a-wrong-guess"}); code != http.StatusForbidden || !strings.Contains(body, "current password given is wrong") {
			t.Errorf("%s with a wrong current password: %d %s", who.user, code, body)
		}
		if !e.canLogin(who.user, who.password) {
			t.Fatalf("%s's password changed by a refused request", who.user)
		}
		c = e.as(who.user, who.password)
		if code, body, _ := c.do("PATCH", path, api.UserPatch{Password: ptr(who.user + "-second-1"), OldPassword: who.password}); code != http.StatusOK {
			t.Errorf("%s with the current password: %d %s", who.user, code, body)
		}
		if !e.canLogin(who.user, who.user+"-second-1") {
			t.Errorf("%s's new password does not work", who.user)
		}
	}
	// vicfg-user over HTTPS: changing one's own password asks the current
	// one first; an Administrator resetting another's is not asked.
	host, port, _ := net.SplitHostPort(e.r.daemon.HTTPSAddr())
	remote := func(user, password string) []string {
		return []string{"--server", host, "--portnumber", port, "--thumbprint", e.id.Fingerprint(), "--username", user, "--password", password}
	}
	term := &vicfgtest.Terminal{Secrets: []string{"bob-passw0rd", "bob-second-1", "bob-second-1"}}
	// bob is ReadOnly: his own password is his to change, nothing else.
	b := e.as("bob", "bob-passw0rd")
	for _, patch := range []struct {
		user string
		p    api.UserPatch
	}{{"sam", api.UserPatch{Password: ptr("sam-by-bob-1")}}, {"bob", api.UserPatch{Role: ptr("NoAccess")}}, {"bob", api.UserPatch{Role: ptr("NoAccess"), Password: ptr("bob-second-1"), OldPassword: "bob-passw0rd"}}} {
		if code, body, _ := b.do("PATCH", api.PathUsers+"/"+patch.user, patch.p); code != http.StatusForbidden || !strings.Contains(body, "user bob (role ReadOnly) lacks privilege Host.Config.Users") {
			t.Errorf("ReadOnly bob PATCH %s %+v: %d %s", patch.user, patch.p, code, body)
		}
	}
	code, out, errOut := vicfgtest.Run(context.Background(), usercmd.Command, "vicfg-user", term, append(remote("bob", "bob-passw0rd"), "-o", "passwd", "-n", "bob")...)
	if code != 0 || !slices.Equal(term.Prompts(), []string{"Enter current password for bob: ", "Enter new password for bob: ", "Re-enter new password: "}) {
		t.Errorf("vicfg-user passwd of one's own: %d %s%s, prompts %q", code, out, errOut, term.Prompts())
	}
	if !e.canLogin("bob", "bob-second-1") {
		t.Error("bob's new password from vicfg-user does not work")
	}
	term = &vicfgtest.Terminal{Secrets: []string{"not-bobs-password", "bob-third-1", "bob-third-1"}}
	code, _, errOut = vicfgtest.Run(context.Background(), usercmd.Command, "vicfg-user", term, append(remote("bob", "bob-second-1"), "-o", "passwd", "-n", "bob")...)
	if code != 1 || !strings.Contains(errOut, "current password given is wrong") {
		t.Errorf("vicfg-user with a wrong current password: %d %s", code, errOut)
	}
	code, _, errOut = vicfgtest.Run(context.Background(), usercmd.Command, "vicfg-user", nil, append(remote("bob", "bob-second-1"), "-o", "passwd", "-n", "bob", "-p", "bob-third-1")...)
	if code != 1 || !strings.Contains(errOut, "needs your current password: give --oldpassword-file FILE, or run on a terminal") {
		t.Errorf("vicfg-user without a terminal: %d %s", code, errOut)
	}
	// A script changes its own password with files, no terminal and
	// nothing on the command line; a file others may read is refused.
	secret := func(name, text string, mode os.FileMode) string {
		path := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(path, []byte(text+"\n"), mode); err != nil {
			t.Fatal(err)
		}
		return path
	}
	oldFile, newFile := secret("old", "bob-second-1", 0o600), secret("new", "bob-scripted-1", 0o600)
	code, _, errOut = vicfgtest.Run(context.Background(), usercmd.Command, "vicfg-user", nil, append(remote("bob", "bob-second-1"), "-o", "passwd", "-n", "bob", "--oldpassword-file", secret("old-open", "bob-second-1", 0o644), "--newpassword-file", newFile)...)
	if code != 1 || !strings.Contains(errOut, "--oldpassword-file") {
		t.Errorf("a current password file readable by others: %d %s", code, errOut)
	}
	code, out, errOut = vicfgtest.Run(context.Background(), usercmd.Command, "vicfg-user", nil, append(remote("bob", "bob-second-1"), "-o", "passwd", "-n", "bob", "--oldpassword-file", oldFile, "--newpassword-file", newFile)...)
	if code != 0 || !e.canLogin("bob", "bob-scripted-1") {
		t.Errorf("vicfg-user passwd from files: %d %s%s", code, out, errOut)
	}
	code, _, _ = vicfgtest.Run(context.Background(), usercmd.Command, "vicfg-user", nil, append(remote("alice", "alice-second-1"), "-o", "passwd", "-n", "bob", "-p", "bob-second-1")...)
	if code != 0 {
		t.Fatalf("alice setting bob's password back: %d", code)
	}
	term = &vicfgtest.Terminal{}
	code, out, errOut = vicfgtest.Run(context.Background(), usercmd.Command, "vicfg-user", term, append(remote("alice", "alice-second-1"), "-o", "passwd", "-n", "bob", "-p", "bob-by-alice-1")...)
	if code != 0 || len(term.Prompts()) != 0 {
		t.Errorf("Administrator resetting bob's password: %d %s%s, prompts %q", code, out, errOut, term.Prompts())
	}
	if !e.canLogin("bob", "bob-by-alice-1") {
		t.Error("the password alice set for bob does not work")
	}
	// Guessing the current password through a stolen session is limited
	// as logins are: a burst is refused early (this locks 127.0.0.1 out).
	c := e.as("ursula", "ursula-second-1")
	var body string
	for range 6 {
		code, body, _ = c.do("PATCH", api.PathUsers+"/ursula", api.UserPatch{Password: ptr("ursula-third-1"), OldPassword: "a-wrong-guess"})
	}
	if code != http.StatusTooManyRequests {
		t.Errorf("sixth wrong current password: %d %s, want 429", code, body)
	}
}

// TestBackupPrivilegeIsNotAdministrator is the restore attack: a holder of
// Host.Config.Backup restores backups that add an Administrator, turn
// lockdown off, drop every user or replace the TLS identity. Each is
// refused with 403 and changes nothing. Its own download holds no password
// hash and no key, lists them as omitted, and restores without touching
// the users.
func TestBackupPrivilegeIsNotAdministrator(t *testing.T) {
	e := startPrivileges(t)
	b := e.as("boris", "boris-passw0rd")

	code, raw, _ := b.do("GET", api.PathBackup, nil)
	if code != http.StatusOK {
		t.Fatalf("boris's backup: %d %s", code, raw)
	}
	if strings.Contains(raw, "$argon2id$") || strings.Contains(raw, "PRIVATE KEY") {
		t.Errorf("boris's backup holds secrets: %s", raw)
	}
	var mine api.Backup
	if err := json.Unmarshal([]byte(raw), &mine); err != nil {
		t.Fatal(err)
	}
	if want := []string{"state/users.toml", "state/server.crt", "state/server.key"}; !slices.Equal(mine.Omitted, want) {
		t.Errorf("omitted = %q, want %q", mine.Omitted, want)
	}
	if mine.Version < 2 {
		t.Errorf("a backup with omitted files is version %d: a version 1 reader would take users.toml for none", mine.Version)
	}
	var full api.Backup
	if err := json.Unmarshal(e.consoleOK("GET", api.PathBackup, nil), &full); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(full.Files["state/users.toml"], "$argon2id$") || !strings.Contains(full.Files["state/server.key"], "PRIVATE KEY") || len(full.Omitted) != 0 {
		t.Errorf("an Administrator's backup lacks the secrets: omitted %q", full.Omitted)
	}
	// frank (every privilege, another role name) gets them too.
	if code, body, _ := e.as("frank", "frank-passw0rd").do("GET", api.PathBackup, nil); code != http.StatusOK || !strings.Contains(body, "$argon2id$") {
		t.Errorf("frank's backup: %d, hashes held: %v", code, strings.Contains(body, "$argon2id$"))
	}

	// The attacks, with lockdown on and boris among its exception users.
	e.consoleOK("PUT", api.PathLockdown, lockdownChange("normal", "boris", "frank"))
	b = e.as("boris", "boris-passw0rd")
	otherDir := t.TempDir()
	if _, err := tlsid.Load(otherDir, "", "", nil); err != nil {
		t.Fatal(err)
	}
	otherCert, _ := os.ReadFile(filepath.Join(otherDir, tlsid.CertName))
	otherKey, _ := os.ReadFile(filepath.Join(otherDir, tlsid.KeyName))
	crafted := func(change func(files map[string]string)) api.Backup {
		files := map[string]string{}
		for k, v := range full.Files {
			files[k] = v
		}
		change(files)
		return api.Backup{Format: api.BackupFormat, Version: api.BackupVersion, Files: files}
	}
	before := map[string]string{}
	stateNames := []string{"users.toml", "lockdown.toml", tlsid.CertName, tlsid.KeyName}
	for _, n := range stateNames {
		before[n] = e.stateFile(n)
	}
	for name, bk := range map[string]api.Backup{
		"add an Administrator": crafted(func(f map[string]string) {
			f["state/users.toml"] = strings.Replace(f["state/users.toml"], `role = "ReadOnly"`, `role = "Administrator"`, 1)
		}),
		"lockdown off":    crafted(func(f map[string]string) { f["state/lockdown.toml"] = "enabled = false\n" }),
		"no users at all": crafted(func(f map[string]string) { delete(f, "state/users.toml") }),
		"another identity": crafted(func(f map[string]string) {
			f["state/server.crt"], f["state/server.key"] = string(otherCert), string(otherKey)
		}),
	} {
		code, body, _ := b.do("PUT", api.PathBackup, bk)
		if code != http.StatusForbidden || !strings.Contains(body, "needs every privilege (Administrator)") || !strings.Contains(body, "boris (role BackupOnly) lacks") {
			t.Errorf("%s: %d %s", name, code, body)
		}
	}
	for _, n := range stateNames {
		if after := e.stateFile(n); after != before[n] {
			t.Errorf("a refused restore changed %s", n)
		}
	}
	if code, body, _ := b.do("POST", api.PathBackupReset, struct{}{}); code != http.StatusForbidden || !strings.Contains(body, "a factory reset needs every privilege") {
		t.Errorf("boris's factory reset: %d %s", code, body)
	}
	// Holding every privilege is not enough over the network in lockdown:
	// only the console restores users or resets. (frank's session is
	// opened before lockdown, the case where it could still be alive.)
	e.consoleOK("PUT", api.PathLockdown, api.Lockdown{Enabled: false})
	f := e.as("frank", "frank-passw0rd")
	e.consoleOK("PUT", api.PathLockdown, lockdownChange("normal", "frank"))
	lockdownNow := e.stateFile("lockdown.toml")
	if code, body, _ := f.do("PUT", api.PathBackup, crafted(func(f map[string]string) {})); code != http.StatusForbidden && code != http.StatusUnauthorized {
		t.Errorf("restoring users in lockdown over the network: %d %s", code, body)
	}
	if code, body, _ := f.do("POST", api.PathBackupReset, struct{}{}); code != http.StatusForbidden && code != http.StatusUnauthorized {
		t.Errorf("factory reset in lockdown over the network: %d %s", code, body)
	}
	if e.stateFile("users.toml") != before["users.toml"] || e.stateFile("lockdown.toml") != lockdownNow {
		t.Error("a refused restore or reset in lockdown changed users or lockdown")
	}

	// boris's own download restores: it changes no guarded file, and
	// keeps the users (hashes and all) rather than deleting them.
	e.consoleOK("PUT", api.PathLockdown, lockdownChange("disabled"))
	b = e.as("boris", "boris-passw0rd")
	if code, body, _ := b.do("PUT", api.PathBackup, mine); code != http.StatusOK {
		t.Errorf("boris restoring his own backup: %d %s", code, body)
	}
	if e.stateFile("users.toml") != before["users.toml"] || e.stateFile(tlsid.KeyName) != before[tlsid.KeyName] {
		t.Error("restoring a backup without secrets changed the users or the key")
	}
	if !e.canLogin("alice", "alice-passw0rd") {
		t.Error("alice cannot log in after a restore without secrets")
	}
	// As does an Administrator's restore of it, from the console too.
	e.consoleOK("PUT", api.PathBackup, mine)
	if e.stateFile("users.toml") != before["users.toml"] {
		t.Error("the console's restore of a backup without secrets changed the users")
	}
	// A listed omission cannot hide a file the backup holds, nor name an
	// unknown one.
	for name, bk := range map[string]api.Backup{
		"held and omitted": {Format: api.BackupFormat, Version: api.BackupVersion, Files: full.Files, Omitted: []string{"state/users.toml"}},
		"unknown omitted":  {Format: api.BackupFormat, Version: api.BackupVersion, Files: mine.Files, Omitted: []string{"state/../../etc/shadow"}},
	} {
		if code, body := call(t, e.console, "PUT", api.PathBackup, bk); code != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, code, body)
		}
	}

	// Out of lockdown, a holder of every privilege restores users and
	// resets over the network.
	f = e.as("frank", "frank-passw0rd")
	if code, body, _ := f.do("PUT", api.PathBackup, crafted(func(f map[string]string) {
		f["state/users.toml"] = strings.Replace(f["state/users.toml"], `role = "ReadOnly"`, `role = "Administrator"`, 1)
	})); code != http.StatusOK {
		t.Errorf("frank restoring users: %d %s", code, body)
	}
	if role := e.users()["bob"]; role != "Administrator" {
		t.Errorf("bob's role after frank's restore: %s", role)
	}
	// A factory reset removes every user: over the network it would
	// leave nobody to manage the host, so it is the console's.
	f = e.as("frank", "frank-passw0rd")
	if code, body, _ := f.do("POST", api.PathBackupReset, struct{}{}); code != http.StatusConflict || !strings.Contains(body, "vicfg-cfgbackup -r on the host") {
		t.Errorf("frank's factory reset over the network: %d %s", code, body)
	}
	if e.stateFile("users.toml") == "" {
		t.Error("a factory reset refused over the network removed the users")
	}
	trail := e.stateFile("audit.log")
	for _, want := range []string{`"user":"boris"`, `"action":"backup.load","result":"denied"`, `"action":"backup.reset","result":"denied"`, `secrets omitted: state/users.toml`} {
		if !strings.Contains(trail, want) {
			t.Errorf("audit log lacks %s", want)
		}
	}
}
