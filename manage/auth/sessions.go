package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// DefaultIdleTimeout ends a session that has not been used for this long.
const DefaultIdleTimeout = 30 * time.Minute

// maxSessionsPerUser bounds memory against a script that logs in on every
// run and never logs out; its least recently used sessions go first.
const maxSessionsPerUser = 64

// Session is a logged-in user as a request sees it. Role is the user's role
// now, not at login, so a role change takes effect at once.
type Session struct {
	User     string
	Role     string
	Source   string
	Created  time.Time
	LastUsed time.Time
}

// session is the stored form. It is keyed by the SHA-256 of its token, so a
// memory dump holds no usable tokens, and the map lookup's timing can only
// leak bits of a hash, not of a token. hash is the user's password hash at
// login: when it no longer matches, the password has changed (or the user
// was removed and perhaps added again), and the session is dead.
type session struct {
	Session
	hash string
}

// Reason says why a login failed, for the audit log only: the client must
// not learn whether a user exists.
type Reason string

// The reasons a login fails.
const (
	ReasonUnknownUser   Reason = "unknown user"
	ReasonWrongPassword Reason = "wrong password"
	ReasonRateLimited   Reason = "rate limited"
	ReasonBusy          Reason = "busy" // too many checks running: see ErrBusy
	// ReasonLockdown: the password may well be right, but lockdown mode
	// lets only its exception users in over the network.
	ReasonLockdown Reason = "lockdown"
)

// errLockedDown is what every refused login is told while lockdown is on,
// whether the user exists, the password is right or the user is not an
// exception: one answer, after one password check, so that neither the
// answer nor its timing tells them apart.
var errLockedDown = errorf(ErrBadCredentials, "bad credentials, or lockdown mode: only its exception users may log in over the network")

// LoginError is every error Login returns. Its message is what the client
// may see: "bad credentials" or "too many failed logins, retry in 2m0s".
// errors.Is matches ErrBadCredentials, ErrRateLimited or ErrBusy; Reason tells the
// audit log the detail.
type LoginError struct {
	User       string
	Source     string
	Reason     Reason
	RetryAfter time.Duration // for ErrRateLimited and ErrBusy
	err        error
}

func (e *LoginError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("%v, retry in %v", e.err, e.RetryAfter.Round(time.Second))
	}
	return e.err.Error()
}

func (e *LoginError) Unwrap() error { return e.err }

// SetIdleTimeout changes how long an unused session lives; d <= 0 restores
// the default. It applies to existing sessions too.
func (s *Store) SetIdleTimeout(d time.Duration) {
	if d <= 0 {
		d = DefaultIdleTimeout
	}
	s.mu.Lock()
	s.idle = d
	s.mu.Unlock()
}

// Login checks a password and returns a new session's token. source is the
// client's address (with or without port) for rate limiting and the audit
// log. Every error is a *LoginError.
//
// An unknown user's password is hashed too, against a dummy hash with the
// current parameters, so that the time taken does not tell which users
// exist. Guesses are limited per user name from each source address, and
// per source address, whether the user exists or not: a lock earned from
// one address does not keep the user out from another.
//
// In lockdown mode, a user who is not an exception is refused after the
// same check, with the same answer as a wrong password, and the refusal
// counts as a failure: otherwise the limiter's locks would tell an
// attacker which guess was right.
func (s *Store) Login(name, password, source string) (token string, err error) {
	uk, sk := userKey(name, source), sourceKey(source)
	if wait, ok := s.limiter.begin(uk, sk); !ok {
		return "", &LoginError{User: name, Source: source, Reason: ReasonRateLimited, RetryAfter: wait, err: ErrRateLimited}
	}
	// Wait for a hashing slot first: a refused attempt must cost no hash,
	// and is neither a failure nor a success for the limiter.
	release, err := checks.acquire(true, func() bool { return s.limiter.suspect(sk) })
	if err != nil {
		s.limiter.cancel(uk)
		s.limiter.cancel(sk)
		return "", &LoginError{User: name, Source: source, Reason: ReasonBusy, RetryAfter: busyRetry, err: err}
	}
	ok := false
	defer func() {
		s.limiter.end(uk, ok, true)
		s.limiter.end(sk, ok, false)
	}()

	s.mu.Lock()
	u, known := s.st.users[name]
	refused := errBadCredentials
	if s.lockdown.On() {
		refused = errLockedDown
	}
	s.mu.Unlock()

	// Hash outside the lock: it is the slow part, and other requests should
	// not wait for it. Stored hashes always parse (Open and SetPassword check
	// them); an unknown user's "" does not and gets the dummy.
	h, perr := parseHash(u.hash)
	if perr != nil {
		h = s.dummy
	}
	match := h.verify(s.kdf, password)
	release()
	switch {
	case !known:
		return "", &LoginError{User: name, Source: source, Reason: ReasonUnknownUser, err: refused}
	case !match:
		return "", &LoginError{User: name, Source: source, Reason: ReasonWrongPassword, err: refused}
	}

	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	token = hex.EncodeToString(raw[:])

	s.mu.Lock()
	defer s.mu.Unlock()
	// The password may have changed, or the user gone, or lockdown come
	// into force, while we hashed: decided on the state now.
	if cur, still := s.st.users[name]; !still || cur.hash != u.hash {
		return "", &LoginError{User: name, Source: source, Reason: ReasonWrongPassword, err: refused}
	}
	if !s.lockdown.Excepts(name) {
		return "", &LoginError{User: name, Source: source, Reason: ReasonLockdown, err: errLockedDown}
	}
	now := s.clock()
	s.sweep(now, name)
	s.sessions[sha256.Sum256([]byte(token))] = &session{
		Session: Session{User: name, Role: u.role, Source: source, Created: now, LastUsed: now},
		hash:    u.hash,
	}
	ok = true
	return token, nil
}

// sweep drops dead sessions, then makes room for one more of user's. Called
// with s.mu held, on each login, which is often enough to bound memory.
func (s *Store) sweep(now time.Time, user string) {
	var mine [][32]byte
	for k, sess := range s.sessions {
		if !s.alive(sess, now) {
			delete(s.sessions, k)
		} else if sess.User == user {
			mine = append(mine, k)
		}
	}
	for len(mine) >= maxSessionsPerUser {
		oldest := 0
		for i, k := range mine {
			if s.sessions[k].LastUsed.Before(s.sessions[mine[oldest]].LastUsed) {
				oldest = i
			}
		}
		delete(s.sessions, mine[oldest])
		mine = append(mine[:oldest], mine[oldest+1:]...)
	}
}

// alive reports whether sess is neither idle too long nor revoked, nor
// refused by the lockdown mode in force.
func (s *Store) alive(sess *session, now time.Time) bool {
	u, ok := s.st.users[sess.User]
	return ok && u.hash == sess.hash && now.Sub(sess.LastUsed) < s.idle && s.lockdown.Excepts(sess.User)
}

// Session returns the session for token and restarts its idle timer.
func (s *Store) Session(token string) (Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.session(token)
}

// session is Session with s.mu held.
func (s *Store) session(token string) (Session, error) {
	key, ok := tokenKey(token)
	if !ok {
		return Session{}, ErrNoSession
	}
	sess := s.sessions[key]
	if sess == nil {
		return Session{}, ErrNoSession
	}
	now := s.clock()
	if !s.alive(sess, now) {
		delete(s.sessions, key)
		return Session{}, ErrNoSession
	}
	sess.LastUsed = now
	sess.Role = s.st.users[sess.User].role
	return sess.Session, nil
}

// Logout ends the session for token.
func (s *Store) Logout(token string) error {
	key, ok := tokenKey(token)
	if !ok {
		return ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions[key] == nil {
		return ErrNoSession
	}
	delete(s.sessions, key)
	return nil
}

// Authorize returns the session for token if its user's role has p, and
// otherwise a *DeniedError naming what is missing.
func (s *Store) Authorize(token string, p Privilege) (Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, err := s.session(token)
	if err != nil {
		return Session{}, err
	}
	role, ok := s.st.findRole(sess.Role)
	if !ok || !role.Has(p) {
		return sess, &DeniedError{User: sess.User, Role: sess.Role, Privilege: p}
	}
	return sess, nil
}

// tokenKey checks a token's shape (64 hex digits, as Login makes them) and
// returns its map key.
func tokenKey(token string) ([32]byte, bool) {
	if len(token) != 64 {
		return [32]byte{}, false
	}
	if _, err := hex.DecodeString(token); err != nil {
		return [32]byte{}, false
	}
	return sha256.Sum256([]byte(token)), true
}
