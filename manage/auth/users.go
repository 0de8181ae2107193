package auth

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// Password policy. Length is what resists guessing; composition rules mostly
// produce "Password1!". The upper bound only stops absurd inputs.
const (
	minPasswordLen = 8
	maxPasswordLen = 128
)

// UserInfo is what may be listed about a user: never the hash.
type UserInfo struct {
	Name string
	Role string
}

// checkUserName enforces 1–64 characters of [a-z0-9_.-] starting with a
// letter: lower case only, so "Alice" and "alice" cannot be two accounts.
func checkUserName(name string) error {
	if name == "" || len(name) > 64 {
		return invalidf("user name %q: must be 1 to 64 characters", name)
	}
	if name[0] < 'a' || name[0] > 'z' {
		return invalidf("user name %q: must start with a lowercase letter", name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return invalidf("user name %q: only lowercase letters, digits, '_', '.' and '-' are allowed", name)
		}
	}
	return nil
}

// checkPassword applies the policy. The errors name the rule broken and
// never echo the password, since they end up in replies and logs.
func checkPassword(name, password string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case n < minPasswordLen:
		return invalidf("password for %s: must be at least %d characters", name, minPasswordLen)
	case n > maxPasswordLen:
		return invalidf("password for %s: must be at most %d characters", name, maxPasswordLen)
	case strings.EqualFold(password, name):
		return invalidf("password for %s: must not be the user name", name)
	}
	return nil
}

// hashNew checks the policy and hashes. It runs before the store is locked:
// hashing is deliberately slow, and logins should not queue behind it.
func (s *Store) hashNew(name, password string) (string, error) {
	if err := checkPassword(name, password); err != nil {
		return "", err
	}
	release, _ := checks.acquire(false, nil) // unbounded: never fails
	h, err := newHash(s.kdf, s.params, password)
	release()
	if err != nil {
		return "", err
	}
	return h.String(), nil
}

// AddUser creates a user with a role (built-in or custom), as the console.
func (s *Store) AddUser(name, password, role string) error {
	return s.AddUserAs(ConsoleActor, name, password, role)
}

// AddUserAs creates a user with a role that a holds every privilege of.
func (s *Store) AddUserAs(a Actor, name, password, role string) error {
	if err := checkUserName(name); err != nil {
		return err
	}
	hash, err := s.hashNew(name, password)
	if err != nil {
		return err
	}
	return s.update(func(st *state) error {
		if _, ok := st.users[name]; ok {
			return errorf(ErrExists, "user %s: already exists", name)
		}
		r, ok := st.findRole(role)
		if !ok {
			return errorf(ErrNotFound, "role %q: no such role", role)
		}
		if err := st.bound(a, r, fmt.Sprintf("adding user %s with role %s", name, role)); err != nil {
			return err
		}
		if err := s.boundException(st, a, name, "adding user "+name); err != nil {
			return err
		}
		st.users[name] = user{name: name, role: role, hash: hash}
		return nil
	})
}

// RemoveUser deletes a user, as the console; their sessions end with them.
func (s *Store) RemoveUser(name string) error { return s.RemoveUserAs(ConsoleActor, name) }

// RemoveUserAs deletes a user whose role a holds every privilege of.
func (s *Store) RemoveUserAs(a Actor, name string) error {
	return s.update(func(st *state) error {
		u, ok := st.users[name]
		if !ok {
			return errorf(ErrNotFound, "user %s: no such user", name)
		}
		if err := st.boundUser(a, name, "removing user "+name); err != nil {
			return err
		}
		if err := s.boundException(st, a, name, "removing user "+name); err != nil {
			return err
		}
		if err := st.keepAdministrator(u, ""); err != nil {
			return err
		}
		delete(st.users, name)
		return nil
	})
}

// SetPassword replaces a user's password as the console, with the current
// hash parameters; the user's sessions are revoked.
func (s *Store) SetPassword(name, password string) error {
	return s.SetPasswordAs(ConsoleActor, name, "", password)
}

// SetPasswordAs replaces a user's password for a. A user (other than the
// console) changing their own password gives the current one, checked as
// a login is: a session left open, or stolen, is not the password. Another
// user's password needs every privilege of that user's role.
func (s *Store) SetPasswordAs(a Actor, name, current, password string) error {
	self := !a.Console && a.User == name
	if self {
		if current == "" {
			return errorf(ErrForbidden, "user %s: changing your own password needs your current password (old_password)", name)
		}
		if err := s.checkCurrent(name, current, a.Source); err != nil {
			return err
		}
	}
	hash, err := s.hashNew(name, password)
	if err != nil {
		return err
	}
	return s.update(func(st *state) error {
		u, ok := st.users[name]
		if !ok {
			return errorf(ErrNotFound, "user %s: no such user", name)
		}
		if !self {
			if err := st.boundUser(a, name, "changing the password of user "+name); err != nil {
				return err
			}
			if err := s.boundException(st, a, name, "changing the password of user "+name); err != nil {
				return err
			}
		}
		u.hash = hash
		st.users[name] = u
		return nil
	})
}

// SetRole gives a user another role, as the console. Sessions stay, and
// use the new role from their next request.
func (s *Store) SetRole(name, role string) error { return s.SetRoleAs(ConsoleActor, name, role) }

// SetRoleAs gives a user another role: a must hold every privilege of both
// the user's role and the new one, so nobody raises themselves or another
// above what they hold, nor demotes an account that holds more.
func (s *Store) SetRoleAs(a Actor, name, role string) error {
	return s.update(func(st *state) error {
		u, ok := st.users[name]
		if !ok {
			return errorf(ErrNotFound, "user %s: no such user", name)
		}
		r, ok := st.findRole(role)
		if !ok {
			return errorf(ErrNotFound, "role %q: no such role", role)
		}
		if err := st.boundUser(a, name, "changing the role of user "+name); err != nil {
			return err
		}
		if err := st.bound(a, r, fmt.Sprintf("giving user %s the role %s", name, role)); err != nil {
			return err
		}
		if err := s.boundException(st, a, name, "changing the role of user "+name); err != nil {
			return err
		}
		if err := st.keepAdministrator(u, role); err != nil {
			return err
		}
		u.role = role
		st.users[name] = u
		return nil
	})
}

// keepAdministrator refuses to take u out of the Administrators (removing
// u, or giving it newRole) when u is the last user whose role holds every
// privilege, whatever that role is called: nobody could then manage users
// over the network again.
func (st state) keepAdministrator(u user, newRole string) error {
	if !st.hasAll(u.role) || newRole != "" && st.hasAll(newRole) {
		return nil
	}
	for _, other := range st.users {
		if other.name != u.name && st.hasAll(other.role) {
			return nil
		}
	}
	return errorf(ErrLastAdministrator, "user %s: is the last user with every privilege (%s); the console can add another first", u.name, RoleAdministrator)
}

// hasAll reports whether the role named role exists and holds every
// privilege.
func (st state) hasAll(role string) bool {
	r, ok := st.findRole(role)
	return ok && r.HasAll()
}

// Administrators lists, sorted, the users whose role holds every
// privilege: those who can manage everything over the network.
func (s *Store) Administrators() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for _, name := range slices.Sorted(maps.Keys(s.st.users)) {
		if s.st.hasAll(s.st.users[name].role) {
			names = append(names, name)
		}
	}
	return names
}

// Users lists names and roles, sorted by name.
func (s *Store) Users() []UserInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []UserInfo
	for _, name := range slices.Sorted(maps.Keys(s.st.users)) {
		list = append(list, UserInfo{Name: name, Role: s.st.users[name].role})
	}
	return list
}
