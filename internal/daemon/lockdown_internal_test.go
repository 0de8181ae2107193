package daemon

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"hostagent/manage/api"
	"hostagent/manage/auth"
)

// TestLockdownFileFromBeforeModes: "enabled = true" meant that root and
// Administrators were refused and every other user let in. Read today,
// it is normal mode with those users as exceptions, so that nobody who
// could log in before an upgrade is locked out by it, and nobody who was
// refused is let in.
func TestLockdownFileFromBeforeModes(t *testing.T) {
	dir := t.TempDir()
	users, err := auth.Open(filepath.Join(dir, usersFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := users.AddRole("AllCopy", auth.Privileges()); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct{ name, role string }{{"alice", auth.RoleAdministrator}, {"frank", "AllCopy"}, {"bob", auth.RoleReadOnly}, {"svc", auth.RoleNoAccess}} {
		if err := users.AddUser(u.name, u.name+"-passw0rd", u.role); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, lockdownFile)
	for _, tc := range []struct {
		text       string
		mode       auth.LockdownMode
		exceptions []string
		migrated   bool
	}{
		{"enabled = true\n", auth.LockdownNormal, []string{"bob", "svc"}, true},
		{"enabled = false\n", auth.LockdownDisabled, nil, false},
		{"mode = 'strict'\nexception_users = ['svc']\n", auth.LockdownStrict, []string{"svc"}, false},
	} {
		if err := os.WriteFile(path, []byte(tc.text), 0o640); err != nil {
			t.Fatal(err)
		}
		l, migrated, err := readLockdown(path, users)
		if err != nil || l.Mode != tc.mode || !slices.Equal(l.Exceptions, tc.exceptions) || migrated != tc.migrated {
			t.Errorf("%q: %+v migrated %v, %v", tc.text, l, migrated, err)
		}
	}
	// More non-Administrators than a request may name: the file still
	// loads (an upgrade must not keep the daemon from starting).
	text, err := os.ReadFile(filepath.Join(dir, usersFile))
	if err != nil {
		t.Fatal(err)
	}
	hash := regexp.MustCompile(`password = ["'][^"']+["']`).FindString(string(text))
	var many strings.Builder
	many.Write(text)
	for i := range auth.MaxExceptionUsers + 8 {
		fmt.Fprintf(&many, "\n[[user]]\nname = 'reader%d'\nrole = 'ReadOnly'\n%s\n", i, hash)
	}
	if err := os.WriteFile(filepath.Join(dir, usersFile), []byte(many.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := users.Reload(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("enabled = true\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if l, migrated, err := readLockdown(path, users); err != nil || !migrated || len(l.Exceptions) != auth.MaxExceptionUsers+8+2 {
		t.Errorf("a migrated list of %d users: %d exceptions, %v", auth.MaxExceptionUsers+10, len(l.Exceptions), err)
	}

	for _, bad := range []string{"mode = 'partial'\n", "mode = 'normal'\nexception_users = ['Bad Name']\n", "mode = 3\n"} {
		if err := os.WriteFile(path, []byte(bad), 0o640); err != nil {
			t.Fatal(err)
		}
		if _, _, err := readLockdown(path, users); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzLockdown feeds arbitrary bytes to the two ways a lockdown state
// arrives: a PUT body (through nextLockdown) and a lockdown.toml (from a
// hand edit or a backup). Either is refused with a message, or gives a
// state that the API would accept as it is: a known mode, at most 32
// valid, sorted, distinct exception users.
func FuzzLockdown(f *testing.F) {
	for _, s := range []string{
		`{"enabled":true}`, `{"mode":"strict","exception_users":["svc","svc"]}`, `{"mode":"","enabled":false}`,
		`{"mode":"normal","enabled":false}`, `{"exception_users":[]}`, `{"exception_users":null}`, `{"mode":"Strict"}`,
		`{"exception_users":["Bad Name"]}`, `{"exception_users":[""]}`, "enabled = true\n", "mode = 'normal'\nexception_users = ['a']\n",
		"mode = 'x'\n", "enabled = 1\n", "\xff", `null`, `[]`,
	} {
		f.Add([]byte(s))
	}
	users, err := auth.Open(filepath.Join(f.TempDir(), usersFile), nil)
	if err != nil {
		f.Fatal(err)
	}
	valid := func(t *testing.T, what string, l auth.Lockdown) {
		if _, err := auth.ParseLockdownMode(string(l.Mode)); err != nil || l.Mode == "" {
			t.Fatalf("%s: mode %q", what, l.Mode)
		}
		again, err := auth.NewLockdown(string(l.Mode), l.Exceptions)
		if err != nil || !again.Equal(l) {
			t.Fatalf("%s: %+v is not what NewLockdown makes of it: %+v, %v", what, l, again, err)
		}
	}
	cur, _ := auth.NewLockdown("normal", []string{"svc"})
	f.Fuzz(func(t *testing.T, data []byte) {
		var c api.LockdownChange
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if dec.Decode(&c) == nil {
			if next, err := nextLockdown(cur, c); err == nil {
				valid(t, "body "+string(data), next)
			} else if err.Error() == "" {
				t.Fatalf("body %q: an error without a message", data)
			}
		}
		path := filepath.Join(t.TempDir(), lockdownFile)
		if err := os.WriteFile(path, data, 0o640); err != nil {
			t.Fatal(err)
		}
		if l, _, err := readLockdown(path, users); err == nil {
			valid(t, "file "+string(data), l)
		}
	})
}
