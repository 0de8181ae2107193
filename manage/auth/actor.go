package auth

import (
	"errors"
	"fmt"
	"strings"
)

// ErrForbidden is a change refused because of who asks for it: granting a
// privilege the asker does not hold, touching an account that holds more
// than the asker, or changing one's own password without the current one.
// The API answers it with 403; the message names what is missing.
var ErrForbidden = errors.New("forbidden")

// Actor is who asks for a change of users or roles. Its own privileges
// bound what it may do: nobody grants a role or privilege they do not hold,
// nor changes an account that holds one they lack (setting its password
// would let them log in as it).
type Actor struct {
	User    string // the logged-in user; ignored for the console
	Source  string // the client's address, for the login limiter when the current password is checked
	Console bool   // the local socket, which holds every privilege
}

// ConsoleActor is the local socket (root): every privilege, and no current
// password asked, as on ESXi's console.
var ConsoleActor = Actor{User: "root", Source: "unix", Console: true}

// Role returns the built-in or custom role named name.
func (s *Store) Role(name string) (Role, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.st.findRole(name)
	r.Privileges = append([]Privilege(nil), r.Privileges...)
	return r, ok
}

// Require returns nil if a holds p now, and otherwise a *DeniedError
// naming it, as Authorize does for a session.
func (s *Store) Require(a Actor, p Privilege) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.st.actorRole(a)
	if err != nil {
		return err
	}
	if !r.Has(p) {
		return &DeniedError{User: a.User, Role: r.Name, Privilege: p}
	}
	return nil
}

// RequireAll returns nil if a holds every privilege now, and otherwise an
// ErrForbidden error saying that what needs them and which a lacks.
func (s *Store) RequireAll(a Actor, what string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	admin, _ := builtinRole(RoleAdministrator)
	return s.st.bound(a, admin, what)
}

// actorRole is a's role now, read from the state rather than from the
// session that let the request in, so that a role taken away a moment ago
// grants nothing.
func (st state) actorRole(a Actor) (Role, error) {
	if a.Console {
		r, _ := builtinRole(RoleAdministrator)
		return r, nil
	}
	u, ok := st.users[a.User]
	if !ok {
		return Role{}, errorf(ErrForbidden, "user %q: no longer exists", a.User)
	}
	r, ok := st.findRole(u.role)
	if !ok {
		return Role{}, errorf(ErrForbidden, "user %s: role %q no longer exists", a.User, u.role)
	}
	return r, nil
}

// bound refuses what unless a holds every privilege of target (a role to
// grant, or the role of an account to change).
func (st state) bound(a Actor, target Role, what string) error {
	r, err := st.actorRole(a)
	if err != nil {
		return err
	}
	missing := r.Lacks(target.Privileges)
	if target.BuiltIn && target.Name == RoleAdministrator {
		missing = r.Lacks(allPrivileges)
	}
	if len(missing) == 0 {
		return nil
	}
	names := make([]string, len(missing))
	for i, p := range missing {
		names[i] = string(p)
	}
	if target.HasAll() {
		return errorf(ErrForbidden, "%s needs every privilege (%s): user %s (role %s) lacks %s",
			what, RoleAdministrator, a.User, r.Name, strings.Join(names, ", "))
	}
	return errorf(ErrForbidden, "%s needs %s, which user %s (role %s) lacks", what, strings.Join(names, ", "), a.User, r.Name)
}

// boundUser is bound for the account name as it is now.
func (st state) boundUser(a Actor, name, what string) error {
	u, ok := st.users[name]
	if !ok {
		return errorf(ErrNotFound, "user %s: no such user", name)
	}
	r, ok := st.findRole(u.role)
	if !ok {
		return fmt.Errorf("user %s: role %q not found", name, u.role)
	}
	return st.bound(a, r, fmt.Sprintf("%s (role %s)", what, u.role))
}

// checkCurrent checks name's current password, as a login does: through
// the limiter, so that a stolen session cannot be used to guess it. It
// returns a *LoginError when the limiter refuses, ErrForbidden when the
// password is wrong.
func (s *Store) checkCurrent(name, password, source string) error {
	uk, sk := userKey(name, source), sourceKey(source)
	if wait, ok := s.limiter.begin(uk, sk); !ok {
		return &LoginError{User: name, Source: source, Reason: ReasonRateLimited, RetryAfter: wait, err: ErrRateLimited}
	}
	ok := false
	defer func() {
		s.limiter.end(uk, ok, true)
		s.limiter.end(sk, ok, false)
	}()
	s.mu.Lock()
	u, known := s.st.users[name]
	s.mu.Unlock()
	h, err := parseHash(u.hash)
	// Through the hashing gate as every check is; unbounded, as for other
	// authenticated changes: the limiter above already bounds this user.
	release, _ := checks.acquire(false, nil)
	match := known && err == nil && h.verify(s.kdf, password)
	release()
	if !match {
		return errorf(ErrForbidden, "user %s: the current password given is wrong", name)
	}
	ok = true
	return nil
}
