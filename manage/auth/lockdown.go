package auth

import (
	"fmt"
	"slices"
	"strings"
)

// LockdownMode is ESXi's lockdown mode of remote management.
type LockdownMode string

// The lockdown modes. In both normal and strict mode only the exception
// users may log in over the network; entering either ends the sessions of
// everybody else. Strict mode also ends the exception users' own sessions
// on entry, so that everyone still working remotely authenticates again
// under it. The console (the local socket, root) is never locked out: it
// is the only way to leave lockdown.
const (
	LockdownDisabled LockdownMode = "disabled"
	LockdownNormal   LockdownMode = "normal"
	LockdownStrict   LockdownMode = "strict"
)

// LockdownModes lists the modes, from the weakest.
var LockdownModes = []LockdownMode{LockdownDisabled, LockdownNormal, LockdownStrict}

// MaxExceptionUsers bounds the exception list a request may set: a
// handful of service accounts is what it is for. A file is not held to it,
// so that one migrated from before the modes (every non-Administrator an
// exception) still loads.
const MaxExceptionUsers = 32

// Lockdown is the lockdown state: a mode and the users it lets in.
type Lockdown struct {
	Mode       LockdownMode
	Exceptions []string // sorted, no duplicates
}

// On reports whether network logins are restricted.
func (l Lockdown) On() bool { return l.Mode == LockdownNormal || l.Mode == LockdownStrict }

// Excepts reports whether user may log in over the network in l.
func (l Lockdown) Excepts(user string) bool {
	return !l.On() || slices.Contains(l.Exceptions, user)
}

// Equal reports whether l and o let the same users in.
func (l Lockdown) Equal(o Lockdown) bool {
	return l.Mode == o.Mode && slices.Equal(l.Exceptions, o.Exceptions)
}

// String is the state as the audit log shows it: "normal (exceptions: svc)".
func (l Lockdown) String() string {
	if len(l.Exceptions) == 0 {
		return string(l.Mode)
	}
	return fmt.Sprintf("%s (exception users: %s)", l.Mode, strings.Join(l.Exceptions, ", "))
}

// rank orders the modes from the weakest: going down a rank lets more in.
func (m LockdownMode) rank() int { return slices.Index(LockdownModes, m) }

// ParseLockdownMode accepts the names of LockdownModes; "" is disabled.
func ParseLockdownMode(s string) (LockdownMode, error) {
	if s == "" {
		return LockdownDisabled, nil
	}
	m := LockdownMode(s)
	if m.rank() < 0 {
		return "", invalidf("lockdown mode %q: must be %s", s, LockdownModeNames())
	}
	return m, nil
}

// LockdownModeNames lists the modes for messages: "disabled, normal, strict".
func LockdownModeNames() string {
	names := make([]string, len(LockdownModes))
	for i, m := range LockdownModes {
		names[i] = string(m)
	}
	return strings.Join(names, ", ")
}

// NewLockdown checks a state as the API and a loaded file give it: a
// known mode, and exception users that are valid names. The list comes
// back sorted without duplicates.
func NewLockdown(mode string, exceptions []string) (Lockdown, error) {
	m, err := ParseLockdownMode(mode)
	if err != nil {
		return Lockdown{}, err
	}
	list := make([]string, 0, len(exceptions))
	for _, name := range exceptions {
		if err := checkUserName(name); err != nil {
			return Lockdown{}, fmt.Errorf("lockdown exception users: %w", err)
		}
		list = append(list, name)
	}
	slices.Sort(list)
	return Lockdown{Mode: m, Exceptions: slices.Compact(list)}, nil
}

// Weakens lists what next lets in that l does not: a lower mode, or users
// added to the exceptions while lockdown is on. Over the network only the
// console may weaken lockdown (ESXi: lockdown is left from the DCUI).
func (l Lockdown) Weakens(next Lockdown) []string {
	var what []string
	if next.Mode.rank() < l.Mode.rank() {
		what = append(what, fmt.Sprintf("the mode from %s to %s", l.Mode, next.Mode))
	}
	if l.On() {
		for _, u := range next.Exceptions {
			if !slices.Contains(l.Exceptions, u) {
				what = append(what, "exception user "+u)
			}
		}
	}
	return what
}

// boundException refuses what, a change of the account name, unless a
// holds every privilege, when name is a lockdown exception user (even
// with lockdown off, as the list waits for the next time it is on): the
// accounts that lockdown lets in are as much the host's management as
// the list itself, which needs every privilege to change. Otherwise a
// holder of Host.Config.Users would reset an exception user's password,
// or create a removed one again, and be that user in lockdown. Called
// with s.mu held, from update.
func (s *Store) boundException(st *state, a Actor, name, what string) error {
	if !slices.Contains(s.lockdown.Exceptions, name) {
		return nil
	}
	admin, _ := builtinRole(RoleAdministrator)
	return st.bound(a, admin, what+", a lockdown exception user,")
}

// Lockdown returns the lockdown state in force.
func (s *Store) Lockdown() Lockdown {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lockdown
	l.Exceptions = slices.Clone(l.Exceptions)
	if l.Mode == "" {
		l.Mode = LockdownDisabled
	}
	return l
}

// SetLockdown puts l in force and ends the sessions it refuses: those of
// users who are not exceptions, and, on entering strict mode, every
// session. It returns the users whose sessions ended, sorted, for the
// audit log. Exception users must exist: a name that is not a user
// would let whoever later creates it in.
func (s *Store) SetLockdown(l Lockdown) (ended []string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range l.Exceptions {
		if _, ok := s.st.users[name]; !ok {
			return nil, errorf(ErrNotFound, "lockdown exception users: %s: no such user", name)
		}
	}
	return s.enforce(l), nil
}

// LoadLockdown puts a saved state in force as SetLockdown does, without
// asking the exception users to exist: a file keeps a user removed since
// (it matters only if someone allowed to adds the name again).
func (s *Store) LoadLockdown(l Lockdown) (ended []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.enforce(l)
}

// enforce puts l in force with s.mu held.
func (s *Store) enforce(l Lockdown) (ended []string) {
	if l.Mode == "" {
		l.Mode = LockdownDisabled
	}
	strictNow := l.Mode == LockdownStrict && s.lockdown.Mode != LockdownStrict
	s.lockdown = l
	for k, sess := range s.sessions {
		if strictNow || !l.Excepts(sess.User) {
			delete(s.sessions, k)
			ended = append(ended, sess.User)
		}
	}
	slices.Sort(ended)
	return slices.Compact(ended)
}
