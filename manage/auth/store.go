// Package auth holds the daemon's local users, their roles and privileges, login sessions and the brakes on password guessing.
//
// Users and custom roles live in one TOML file (mode 0600) that is rewritten
// atomically after every change. Sessions live in memory only: restarting
// the daemon logs everybody out, which is also the way to revoke every
// session at once.
package auth

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"

	"hostagent/internal/configstore"
)

// Kinds of error, for errors.Is; the API maps them to HTTP statuses. The
// messages of the errors returned carry the detail.
var (
	ErrInvalid           = errors.New("invalid")                // bad name, weak password, unknown privilege
	ErrNotFound          = errors.New("not found")              // no such user or role
	ErrExists            = errors.New("already exists")         // name taken
	ErrLastAdministrator = errors.New("last administrator")     // would leave nobody able to manage users
	ErrRoleInUse         = errors.New("role in use")            // a user still has the role
	ErrBadCredentials    = errors.New("bad credentials")        // unknown user or wrong password; see LoginError
	ErrRateLimited       = errors.New("too many failed logins") // see LoginError.RetryAfter
	ErrNoSession         = errors.New("no such session")        // unknown, expired, logged out or revoked token
)

// kindError is an error with its own message that still matches one of the
// kinds above with errors.Is.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

func errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

func invalidf(format string, args ...any) error { return errorf(ErrInvalid, format, args...) }

// fileMode keeps the hashes away from other local users: they are slow to
// attack, not impossible.
const fileMode = 0o600

const fileHeader = `Local users and roles of hostagentd. Written by the daemon: change them
with the API (vicfg-user). Passwords are stored as argon2id hashes.`

// file is the TOML layout.
type file struct {
	Roles []fileRole `toml:"role,omitempty"`
	Users []fileUser `toml:"user,omitempty"`
}

type fileRole struct {
	Name       string   `toml:"name"`
	Privileges []string `toml:"privileges"`
}

type fileUser struct {
	Name     string `toml:"name"`
	Role     string `toml:"role"`
	Password string `toml:"password"` // PHC string, never the password itself
}

// user is one account in memory. hash is kept as the stored string: a
// session remembers it, so a changed password revokes the session.
type user struct {
	name string
	role string
	hash string
}

// state is everything persisted; changes are made to a copy, written, and
// only then swapped in.
type state struct {
	users map[string]user
	roles map[string]Role // custom roles only
}

func (st state) clone() state {
	return state{users: maps.Clone(st.users), roles: maps.Clone(st.roles)}
}

// Store holds the users and roles, the sessions and the login limiter. It
// is safe for concurrent use.
type Store struct {
	path    string
	clock   func() time.Time
	params  hashParams // for new hashes; tests use cheaper ones
	kdf     kdf        // argon2.IDKey; tests count its calls
	dummy   phc        // checked for unknown users, see Login
	limiter *limiter

	mu       sync.Mutex
	st       state
	sessions map[[32]byte]*session
	idle     time.Duration
	lockdown Lockdown // zero: disabled
}

// Open loads the users and roles from path. A missing file means no users
// yet: the daemon creates the first administrator from the local socket.
// clock is time.Now when nil; tests pass a fake one.
func Open(path string, clock func() time.Time) (*Store, error) {
	return open(path, clock, defaultParams)
}

func open(path string, clock func() time.Time, params hashParams) (*Store, error) {
	if clock == nil {
		clock = time.Now
	}
	dummy, err := dummyHash(params)
	if err != nil {
		return nil, err
	}
	s := &Store{
		path:     path,
		clock:    clock,
		params:   params,
		kdf:      argon2.IDKey,
		dummy:    dummy,
		limiter:  newLimiter(clock),
		sessions: map[[32]byte]*session{},
		idle:     DefaultIdleTimeout,
	}
	var f file
	if _, err := configstore.Load(path, &f); err != nil {
		return nil, err
	}
	if s.st, err = f.state(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return s, nil
}

// Reload reads the file again, after something other than the Store
// replaced it (a restore, a factory reset). The Store itself stays, so
// callers holding it keep a valid one; sessions whose user is gone or
// whose password changed die, as they do after an API change; the login
// limiter keeps its history. A file that does not load leaves everything
// as it was.
func (s *Store) Reload() error {
	var f file
	if _, err := configstore.Load(s.path, &f); err != nil {
		return err
	}
	st, err := f.state()
	if err != nil {
		return fmt.Errorf("config %s: %w", s.path, err)
	}
	s.mu.Lock()
	s.st = st
	s.mu.Unlock()
	return nil
}

// state validates a loaded file as strictly as the API validates changes,
// so a hand edit cannot smuggle in what the API would refuse.
func (f file) state() (state, error) {
	st := state{users: map[string]user{}, roles: map[string]Role{}}
	for _, fr := range f.Roles {
		privs := make([]Privilege, len(fr.Privileges))
		for i, p := range fr.Privileges {
			privs[i] = Privilege(p)
		}
		r, err := newCustomRole(fr.Name, privs)
		if err != nil {
			return state{}, err
		}
		if _, dup := st.findRole(r.Name); dup {
			return state{}, errorf(ErrExists, "role %s: defined twice", r.Name)
		}
		st.roles[r.Name] = r
	}
	for _, fu := range f.Users {
		if err := checkUserName(fu.Name); err != nil {
			return state{}, err
		}
		if _, dup := st.users[fu.Name]; dup {
			return state{}, errorf(ErrExists, "user %s: defined twice", fu.Name)
		}
		if _, ok := st.findRole(fu.Role); !ok {
			return state{}, errorf(ErrNotFound, "user %s: no role %q", fu.Name, fu.Role)
		}
		if _, err := parseHash(fu.Password); err != nil {
			return state{}, fmt.Errorf("user %s: %w", fu.Name, err)
		}
		st.users[fu.Name] = user{name: fu.Name, role: fu.Role, hash: fu.Password}
	}
	return st, nil
}

// errBadCredentials is what a refused login is told outside lockdown.
var errBadCredentials = errorf(ErrBadCredentials, "bad credentials")

// file returns st in its TOML layout, sorted so that the file diffs well.
func (st state) file() file {
	var f file
	for _, name := range slices.Sorted(maps.Keys(st.roles)) {
		r := st.roles[name]
		privs := make([]string, len(r.Privileges))
		for i, p := range r.Privileges {
			privs[i] = string(p)
		}
		f.Roles = append(f.Roles, fileRole{Name: name, Privileges: privs})
	}
	for _, name := range slices.Sorted(maps.Keys(st.users)) {
		u := st.users[name]
		f.Users = append(f.Users, fileUser{Name: u.name, Role: u.role, Password: u.hash})
	}
	return f
}

// findRole looks up a built-in or custom role by its exact name.
func (st state) findRole(name string) (Role, bool) {
	if r, ok := builtinRole(name); ok {
		return r, true
	}
	r, ok := st.roles[name]
	return r, ok
}

// update applies change to a copy of the state, writes the copy and only
// then makes it current: a refused change or a failed write leaves both the
// file and memory as they were.
func (s *Store) update(change func(st *state) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.st.clone()
	if err := change(&next); err != nil {
		return err
	}
	if err := configstore.Save(s.path, next.file(), fileMode, fileHeader); err != nil {
		return err
	}
	s.st = next
	return nil
}

// AddRole creates a custom role with the given privileges, as the console.
func (s *Store) AddRole(name string, privs []Privilege) error {
	return s.AddRoleAs(ConsoleActor, name, privs)
}

// AddRoleAs creates a custom role with privileges that a holds: a role is
// a grant waiting for a user, so it is bounded as granting is.
func (s *Store) AddRoleAs(a Actor, name string, privs []Privilege) error {
	r, err := newCustomRole(name, privs)
	if err != nil {
		return err
	}
	return s.update(func(st *state) error {
		for existing := range st.roles {
			if strings.EqualFold(existing, name) {
				return errorf(ErrExists, "role %s: already exists", existing)
			}
		}
		if err := st.bound(a, r, "creating role "+name); err != nil {
			return err
		}
		st.roles[name] = r
		return nil
	})
}

// RemoveRole deletes a custom role that no user has.
func (s *Store) RemoveRole(name string) error {
	return s.update(func(st *state) error {
		if _, ok := builtinRole(name); ok {
			return invalidf("role %s: built-in roles cannot be removed", name)
		}
		if _, ok := st.roles[name]; !ok {
			return errorf(ErrNotFound, "role %s: no such role", name)
		}
		var holders []string
		for _, u := range st.users {
			if u.role == name {
				holders = append(holders, u.name)
			}
		}
		if len(holders) > 0 {
			slices.Sort(holders)
			return errorf(ErrRoleInUse, "role %s: still assigned to %s", name, strings.Join(holders, ", "))
		}
		delete(st.roles, name)
		return nil
	})
}

// Roles returns the built-in roles followed by the custom ones, sorted.
func (s *Store) Roles() []Role {
	s.mu.Lock()
	defer s.mu.Unlock()
	roles := builtinRoles()
	for _, name := range slices.Sorted(maps.Keys(s.st.roles)) {
		r := s.st.roles[name]
		r.Privileges = slices.Clone(r.Privileges)
		roles = append(roles, r)
	}
	return roles
}
