package auth

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

func TestAddUserRefusals(t *testing.T) {
	e := newEnv(t)
	must(t, e.s.AddUser("alice", "alice-password", RoleAdministrator))
	long := strings.Repeat("a", 65)
	for _, tc := range []struct {
		name, user, password, role string
		kind                       error
		msg                        string // part of the message
	}{
		{"empty name", "", "longenough", RoleReadOnly, ErrInvalid, "1 to 64"},
		{"long name", long, "longenough", RoleReadOnly, ErrInvalid, "1 to 64"},
		{"upper case", "Bob", "longenough", RoleReadOnly, ErrInvalid, "start with a lowercase letter"},
		{"digit first", "1bob", "longenough", RoleReadOnly, ErrInvalid, "start with a lowercase letter"},
		{"space", "bo b", "longenough", RoleReadOnly, ErrInvalid, "only lowercase"},
		{"upper inside", "boB", "longenough", RoleReadOnly, ErrInvalid, "only lowercase"},
		{"short password", "bob", "short7!", RoleReadOnly, ErrInvalid, "at least 8"},
		{"long password", "bob", strings.Repeat("p", 129), RoleReadOnly, ErrInvalid, "at most 128"},
		{"password is name", "bobbybob", "BobbyBob", RoleReadOnly, ErrInvalid, "must not be the user name"},
		{"unknown role", "bob", "longenough", "Operator", ErrNotFound, "no such role"},
		{"exists", "alice", "longenough", RoleReadOnly, ErrExists, "already exists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := e.s.AddUser(tc.user, tc.password, tc.role)
			if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want %v containing %q", err, tc.kind, tc.msg)
			}
			if len(tc.password) >= 4 && strings.Contains(err.Error(), tc.password) {
				t.Fatalf("error %q shows the password", err)
			}
		})
	}
	// Boundaries that pass: 8 and 128 characters (runes, not bytes), 64-char name.
	must(t, e.s.AddUser(strings.Repeat("b", 64), "12345678", RoleReadOnly))
	must(t, e.s.AddUser("c.d_e-9", strings.Repeat("é", 128), RoleNoAccess))
	if got := e.s.Users(); len(got) != 3 {
		t.Fatalf("users = %v", got)
	}
}

func TestLastAdministrator(t *testing.T) {
	e := newEnv(t)
	must(t, e.s.AddUser("alice", "alice-password", RoleAdministrator))
	must(t, e.s.AddUser("bob", "bob-password", RoleReadOnly))

	for _, tc := range []struct {
		name string
		do   func() error
		kind error
	}{
		{"remove last admin", func() error { return e.s.RemoveUser("alice") }, ErrLastAdministrator},
		{"demote last admin", func() error { return e.s.SetRole("alice", RoleReadOnly) }, ErrLastAdministrator},
		{"remove unknown", func() error { return e.s.RemoveUser("carol") }, ErrNotFound},
		{"set role unknown user", func() error { return e.s.SetRole("carol", RoleReadOnly) }, ErrNotFound},
		{"set unknown role", func() error { return e.s.SetRole("bob", "Nope") }, ErrNotFound},
		{"password unknown user", func() error { return e.s.SetPassword("carol", "longenough") }, ErrNotFound},
		{"weak new password", func() error { return e.s.SetPassword("bob", "bob") }, ErrInvalid},
		{"admin stays admin", func() error { return e.s.SetRole("alice", RoleAdministrator) }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(); !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v, want %v", err, tc.kind)
			}
		})
	}
	if err := e.s.RemoveUser("alice"); err == nil || err.Error() != "user alice: is the last user with every privilege (Administrator); the console can add another first" {
		t.Fatalf("message: %v", err)
	}

	// With a second administrator either may go.
	must(t, e.s.SetRole("bob", RoleAdministrator))
	must(t, e.s.SetRole("alice", RoleReadOnly))
	must(t, e.s.RemoveUser("alice"))
	if err := e.s.RemoveUser("bob"); !errors.Is(err, ErrLastAdministrator) {
		t.Fatalf("err = %v", err)
	}
	if got := e.s.Users(); !slices.Equal(got, []UserInfo{{"bob", RoleAdministrator}}) {
		t.Fatalf("users = %v", got)
	}

	// The guard goes by privileges, not by the role's name: a custom role
	// with every privilege counts as Administrator, both ways.
	must(t, e.s.AddRole("Root2", Privileges()))
	must(t, e.s.AddUser("carol", "longenough", "Root2"))
	must(t, e.s.SetRole("bob", RoleReadOnly))
	if err := e.s.SetRole("carol", RoleReadOnly); !errors.Is(err, ErrLastAdministrator) {
		t.Fatalf("demoting the last every-privilege user of a custom role: %v", err)
	}
	if got := e.s.Administrators(); !slices.Equal(got, []string{"carol"}) {
		t.Fatalf("Administrators() = %v", got)
	}
}

func TestReload(t *testing.T) {
	e := newEnv(t)
	must(t, e.s.AddUser("alice", "correct horse", RoleAdministrator))
	tok, err := e.s.Login("alice", "correct horse", "192.0.2.1")
	must(t, err)
	// Another writer (a restore) replaces the file: alice's password
	// changes, so her session dies; the Store stays the same object.
	other, err := open(e.s.path, nil, testParams)
	must(t, err)
	must(t, other.SetPassword("alice", "another long one"))
	must(t, e.s.Reload())
	if _, err := e.s.Session(tok); !errors.Is(err, ErrNoSession) {
		t.Fatalf("session after reload = %v, want ErrNoSession", err)
	}
	if _, err := e.s.Login("alice", "another long one", "192.0.2.1"); err != nil {
		t.Fatalf("login with the reloaded password: %v", err)
	}
	// A damaged file leaves the store as it was.
	must(t, os.WriteFile(e.s.path, []byte("[[user]]\nname = 'x'\n"), 0o600))
	if err := e.s.Reload(); err == nil {
		t.Fatal("Reload of a damaged file: no error")
	}
	if got := e.s.Users(); len(got) == 0 {
		t.Fatal("a failed Reload emptied the store")
	}
}

func TestRoles(t *testing.T) {
	e := newEnv(t)
	must(t, e.s.AddRole("SNMPAdmin", []Privilege{HostConfigSNMP, SystemRead, HostConfigSNMP}))
	for _, tc := range []struct {
		name  string
		role  string
		privs []Privilege
		kind  error
	}{
		{"empty", "", nil, ErrInvalid},
		{"too long", strings.Repeat("R", 65), nil, ErrInvalid},
		{"space", "My Role", nil, ErrInvalid},
		{"slash", "a/b", nil, ErrInvalid},
		{"built-in", RoleReadOnly, nil, ErrExists},
		{"built-in other case", "administrator", nil, ErrExists},
		{"exists", "SNMPAdmin", nil, ErrExists},
		{"exists other case", "snmpadmin", nil, ErrExists},
		{"unknown privilege", "Ops", []Privilege{"Host.Config.Everything"}, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := e.s.AddRole(tc.role, tc.privs); !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v, want %v", err, tc.kind)
			}
		})
	}
	roles := e.s.Roles()
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = r.Name
	}
	if !slices.Equal(names, []string{RoleAdministrator, RoleReadOnly, RoleNoAccess, "SNMPAdmin"}) {
		t.Fatalf("roles = %v", names)
	}
	if got := roles[3].Privileges; !slices.Equal(got, []Privilege{HostConfigSNMP, SystemRead}) {
		t.Fatalf("privileges = %v (want sorted, deduplicated)", got)
	}

	must(t, e.s.AddUser("alice", "alice-password", RoleAdministrator))
	must(t, e.s.AddUser("bob", "bob-password", "SNMPAdmin"))
	for _, tc := range []struct {
		role string
		kind error
		msg  string
	}{
		{"SNMPAdmin", ErrRoleInUse, "role SNMPAdmin: still assigned to bob"},
		{RoleNoAccess, ErrInvalid, "built-in"},
		{"Nope", ErrNotFound, "no such role"},
	} {
		if err := e.s.RemoveRole(tc.role); !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("RemoveRole(%s) = %v, want %v %q", tc.role, err, tc.kind, tc.msg)
		}
	}
	must(t, e.s.SetRole("bob", RoleReadOnly))
	must(t, e.s.RemoveRole("SNMPAdmin"))
	if n := len(e.s.Roles()); n != 3 {
		t.Fatalf("%d roles left", n)
	}
}

func TestParsePrivilege(t *testing.T) {
	for _, p := range Privileges() {
		if got, err := ParsePrivilege(string(p)); err != nil || got != p {
			t.Errorf("ParsePrivilege(%s) = %v, %v", p, got, err)
		}
	}
	for _, s := range []string{"", "system.read", "Host.Config", "Host.Config.SNMP "} {
		if _, err := ParsePrivilege(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParsePrivilege(%q) = %v", s, err)
		}
	}
}

func TestPersistence(t *testing.T) {
	e := newEnv(t)
	if _, err := os.Stat(e.path); !os.IsNotExist(err) {
		t.Fatalf("a store without changes wrote its file: %v", err)
	}
	if u := e.s.Users(); len(u) != 0 {
		t.Fatalf("missing file gave users %v", u)
	}
	must(t, e.s.AddRole("Backup", []Privilege{HostConfigBackup, SystemRead}))
	must(t, e.s.AddUser("alice", "alice-password", RoleAdministrator))
	must(t, e.s.AddUser("bob", "bob-password", "Backup"))
	must(t, e.s.AddUser("carol", "carol-password", RoleReadOnly))
	must(t, e.s.RemoveUser("carol"))

	st, err := os.Stat(e.path)
	must(t, err)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v, want 0600", st.Mode().Perm())
	}
	data, _ := os.ReadFile(e.path)
	if strings.Contains(string(data), "alice-password") {
		t.Fatal("file holds a password")
	}

	users, roles := e.s.Users(), e.s.Roles()
	hashes := map[string]string{}
	for n, u := range e.s.st.users {
		hashes[n] = u.hash
	}
	e.reopen(t)
	if got := e.s.Users(); !slices.Equal(got, users) {
		t.Fatalf("users after reopen %v, want %v", got, users)
	}
	if got := e.s.Roles(); !slices.EqualFunc(got, roles, func(a, b Role) bool {
		return a.Name == b.Name && a.BuiltIn == b.BuiltIn && slices.Equal(a.Privileges, b.Privileges)
	}) {
		t.Fatalf("roles after reopen %v, want %v", got, roles)
	}
	for n, u := range e.s.st.users {
		if u.hash != hashes[n] {
			t.Fatalf("hash of %s changed on reopen", n)
		}
	}
	e.login(t, "bob", "bob-password")
}

// A hash written with other parameters (as after raising the defaults) is
// verified with its own.
func TestLoginWithOtherParams(t *testing.T) {
	e := newEnv(t)
	h, err := newHash(e.s.kdf, hashParams{time: 2, memory: 24, threads: 3, keyLen: 24, saltLen: 12}, "old-params-pw")
	must(t, err)
	must(t, os.WriteFile(e.path, []byte(`
[[user]]
name = "old"
role = "Administrator"
password = "`+h.String()+`"
`), 0o600))
	e.reopen(t)
	e.login(t, "old", "old-params-pw")
	if _, err := e.s.Login("old", "old-params-pX", "192.0.2.9"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("err = %v", err)
	}
}

func TestOpenRejectsBadFile(t *testing.T) {
	h, _ := newHash(argon2.IDKey, testParams, "whatever1")
	hash := h.String()
	for _, tc := range []struct{ name, content, msg string }{
		{"unknown key", `[[user]]` + "\n" + `name = "a"` + "\n" + `pasword = "x"`, "unknown setting"},
		{"bad user name", `[[user]]` + "\n" + `name = "A"` + "\n" + `role = "ReadOnly"` + "\n" + `password = "` + hash + `"`, "user name"},
		{"unknown role", `[[user]]` + "\n" + `name = "a"` + "\n" + `role = "Ops"` + "\n" + `password = "` + hash + `"`, "no role"},
		{"bad hash", `[[user]]` + "\n" + `name = "a"` + "\n" + `role = "ReadOnly"` + "\n" + `password = "secret"`, "password hash"},
		{"duplicate user", strings.Repeat(`[[user]]`+"\n"+`name = "a"`+"\n"+`role = "ReadOnly"`+"\n"+`password = "`+hash+`"`+"\n", 2), "defined twice"},
		{"built-in role redefined", `[[role]]` + "\n" + `name = "ReadOnly"` + "\n" + `privileges = []`, "built-in"},
		{"unknown privilege", `[[role]]` + "\n" + `name = "Ops"` + "\n" + `privileges = ["Everything"]`, "unknown privilege"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "users.toml")
			must(t, os.WriteFile(path, []byte(tc.content), 0o600))
			_, err := open(path, nil, testParams)
			if err == nil || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), "users.toml") {
				t.Fatalf("err = %v, want one naming the file and %q", err, tc.msg)
			}
		})
	}
}

// A failed write changes nothing: neither memory nor the file.
func TestFailedSaveKeepsState(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "etc")
	must(t, os.Mkdir(dir, 0o700))
	s, err := open(filepath.Join(dir, "users.toml"), nil, testParams)
	must(t, err)
	must(t, s.AddUser("alice", "alice-password", RoleAdministrator))
	must(t, os.RemoveAll(dir)) // Save can no longer create its temp file
	for name, do := range map[string]func() error{
		"AddUser":     func() error { return s.AddUser("bob", "bob-password", RoleReadOnly) },
		"SetRole":     func() error { return s.SetRole("alice", RoleAdministrator) },
		"SetPassword": func() error { return s.SetPassword("alice", "new-password") },
		"AddRole":     func() error { return s.AddRole("Ops", nil) },
	} {
		if err := do(); err == nil {
			t.Errorf("%s: no error although the file cannot be written", name)
		}
	}
	if got := s.Users(); !slices.Equal(got, []UserInfo{{"alice", RoleAdministrator}}) {
		t.Fatalf("users = %v", got)
	}
	if len(s.Roles()) != 3 {
		t.Fatal("role added in memory")
	}
	if _, err := s.Login("alice", "alice-password", "192.0.2.1"); err != nil {
		t.Fatalf("old password no longer works: %v", err)
	}
}
