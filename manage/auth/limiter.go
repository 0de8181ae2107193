package auth

import (
	"cmp"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// limiter slows down password guessing. Each key (a user name or a source
// address) may fail maxFailures times within window; the next failure locks
// it for baseLock, and every further lock doubles, up to maxLock. A key
// untouched for forget is dropped, which also resets its doubling.
//
// An attempt counts as pending from begin to end, and pending attempts count
// towards the limit: otherwise a client could fire hundreds of guesses in
// parallel while the first five are still being hashed.
type limiter struct {
	clock       func() time.Time
	maxFailures int
	window      time.Duration
	baseLock    time.Duration
	maxLock     time.Duration
	forget      time.Duration
	maxKeys     int // bound on memory: names and addresses are chosen by clients
	// maxPendingSource bounds the checks one address has queued or running:
	// its excess is refused before hashing, and a handful of addresses cannot
	// fill the queue of checks ahead of everybody else's login.
	maxPendingSource int

	mu      sync.Mutex
	entries map[string]*limitEntry
}

type limitEntry struct {
	failures    []time.Time // within window, oldest first
	pending     int
	lockedUntil time.Time
	locks       int       // locks so far: the next lasts baseLock << locks
	last        time.Time // last attempt
	refused     time.Time // last attempt refused by begin
}

func newLimiter(clock func() time.Time) *limiter {
	return &limiter{
		clock:       clock,
		maxFailures: 5,
		window:      5 * time.Minute,
		baseLock:    time.Minute,
		maxLock:     30 * time.Minute,
		forget:      time.Hour,
		maxKeys:     10000,

		maxPendingSource: 1,
		entries:          map[string]*limitEntry{},
	}
}

// busyRetry is the retry-after given while the limit is taken up by attempts
// still being checked: they finish in well under a second.
const busyRetry = time.Second

// begin starts an attempt on all keys, or none if any is locked; it then
// returns how long the caller should wait. Every begin that returns ok must
// be followed by end on each key.
func (l *limiter) begin(keys ...string) (retryAfter time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock()
	for _, k := range keys {
		e := l.entries[k]
		if e == nil {
			continue
		}
		if l.stale(e, now) {
			delete(l.entries, k)
			continue
		}
		l.prune(e, now)
		wait := time.Duration(0)
		if now.Before(e.lockedUntil) {
			wait = e.lockedUntil.Sub(now)
		} else if len(e.failures)+e.pending >= l.maxFailures ||
			strings.HasPrefix(k, sourcePrefix) && e.pending >= l.maxPendingSource {
			wait = busyRetry
		}
		retryAfter = max(retryAfter, wait)
	}
	if retryAfter > 0 {
		for _, k := range keys {
			if e := l.entries[k]; e != nil {
				e.refused = now
			}
		}
		return retryAfter, false
	}
	for _, k := range keys {
		e := l.entry(k, now)
		e.pending++
		e.last = now
	}
	return 0, true
}

// end finishes an attempt on key. A failure may lock the key; a success with
// reset forgets the key's history (used for the user name, not the source:
// otherwise one valid account would let its owner guess others' passwords
// from the same address without ever being locked).
func (l *limiter) end(key string, success, reset bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock()
	e := l.entries[key]
	if e == nil { // evicted meanwhile
		if success {
			return
		}
		e = l.entry(key, now)
	}
	e.pending = max(e.pending-1, 0)
	e.last = now
	switch {
	case success && reset:
		e.failures, e.locks, e.lockedUntil = nil, 0, time.Time{}
		if e.pending == 0 {
			delete(l.entries, key)
		}
	case success:
	default:
		l.prune(e, now)
		e.failures = append(e.failures, now)
		if len(e.failures) >= l.maxFailures {
			e.lockedUntil = now.Add(min(l.baseLock<<min(e.locks, 30), l.maxLock))
			e.locks++
			e.failures = nil
		}
	}
}

// cancel ends an attempt on key that was never checked (no hashing slot
// was free): neither a failure nor a success.
func (l *limiter) cancel(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.entries[key]; e != nil {
		e.pending = max(e.pending-1, 0)
	}
}

// suspect reports whether key failed, was locked, or had an attempt
// refused within the window: its checks wait behind everyone else's (see
// hashGate). A flood's parallel attempts from one address are refused but
// one, which makes the address suspect before its first check has run.
func (l *limiter) suspect(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entries[key]
	if e == nil {
		return false
	}
	now := l.clock()
	l.prune(e, now)
	return len(e.failures) > 0 || e.locks > 0 || !e.refused.IsZero() && now.Sub(e.refused) < l.window
}

// prune drops failures that have left the window.
func (l *limiter) prune(e *limitEntry, now time.Time) {
	i := 0
	for i < len(e.failures) && now.Sub(e.failures[i]) >= l.window {
		i++
	}
	e.failures = e.failures[i:]
}

// entry returns key's entry, creating it and first making room if the map
// is full.
func (l *limiter) entry(key string, now time.Time) *limitEntry {
	if e := l.entries[key]; e != nil {
		return e
	}
	if len(l.entries) >= l.maxKeys {
		l.evict(now)
	}
	e := &limitEntry{last: now}
	l.entries[key] = e
	return e
}

// evict drops every forgotten entry and, if the map is still full, the one
// that matters least: the longest idle unlocked entry, or failing that the
// lock that ends soonest. Flooding the map with new keys therefore wipes
// idle history before it unlocks anyone.
func (l *limiter) evict(now time.Time) {
	var victim string
	var oldest time.Time
	for k, e := range l.entries {
		if e.pending > 0 {
			continue
		}
		if l.stale(e, now) {
			delete(l.entries, k)
			continue
		}
		if score := e.score(); victim == "" || score.Before(oldest) {
			victim, oldest = k, score
		}
	}
	if len(l.entries) >= l.maxKeys && victim != "" {
		delete(l.entries, victim)
	}
}

// score is when the entry last mattered: its last attempt, or the end of its
// lock if that is later.
func (e *limitEntry) score() time.Time {
	if e.lockedUntil.After(e.last) {
		return e.lockedUntil
	}
	return e.last
}

// stale reports whether e has been quiet for forget since it last mattered,
// so that it, and the doubling of its locks, can be forgotten.
func (l *limiter) stale(e *limitEntry, now time.Time) bool {
	return e.pending == 0 && now.Sub(e.score()) >= l.forget
}

// userKey and sourceKey keep the two kinds of key apart and their size
// bounded: both strings come from the client. A user's key includes the
// source's, so that guessing from one address locks the name there only,
// and the real user still logs in from theirs; the source's own key, and
// the hashing gate, bound guessing across names and in total.
func userKey(name, source string) string {
	return userPrefix + truncate(name, 64) + "@" + strings.TrimPrefix(sourceKey(source), sourcePrefix)
}

const userPrefix = "user:"

const sourcePrefix = "src:"

// sourceKey takes an address with or without a port. IPv6 addresses are
// limited per /64, the block one subscriber usually gets, so that cycling
// through one's own addresses does not buy fresh attempts.
func sourceKey(source string) string {
	host := source
	if h, _, err := net.SplitHostPort(source); err == nil {
		host = h
	}
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.Unmap().WithZone("")
		if a.Is6() {
			p, _ := a.Prefix(64)
			return sourcePrefix + p.String()
		}
		return sourcePrefix + a.String()
	}
	return sourcePrefix + truncate(host, 64)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Lock is a lock of the limiter, or a key on its way to one, as
// `vicfg-user --locks` lists them.
type Lock struct {
	User        string    // the user name guessed at; "" for a source's own lock
	Source      string    // the address or /64 block the attempts came from
	Failures    int       // within the window
	LockedUntil time.Time // zero when not locked now
}

// locks lists the keys with failures in the window or a lock in force,
// locks first, then by source and user.
func (l *limiter) locks() []Lock {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock()
	var out []Lock
	for k, e := range l.entries {
		l.prune(e, now)
		locked := now.Before(e.lockedUntil)
		if !locked && len(e.failures) == 0 {
			continue
		}
		lk := Lock{Failures: len(e.failures)}
		if locked {
			lk.LockedUntil = e.lockedUntil
		}
		if rest, ok := strings.CutPrefix(k, userPrefix); ok {
			i := strings.LastIndex(rest, "@")
			lk.User, lk.Source = rest[:i], rest[i+1:]
		} else {
			lk.Source = strings.TrimPrefix(k, sourcePrefix)
		}
		out = append(out, lk)
	}
	slices.SortFunc(out, func(a, b Lock) int {
		if c := cmp.Compare(b.LockedUntil.UnixNano(), a.LockedUntil.UnixNano()); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.Source, b.Source), cmp.Compare(a.User, b.User))
	})
	return out
}

// unlock forgets the failures and locks of a user name (from every
// address) or, when target is an IP address, of that source (its own key
// and every user's key from it). It returns how many keys it cleared.
func (l *limiter) unlock(target string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	if _, err := netip.ParseAddr(target); err == nil {
		src := strings.TrimPrefix(sourceKey(target), sourcePrefix)
		for k := range l.entries {
			if k == sourcePrefix+src || strings.HasPrefix(k, userPrefix) && strings.HasSuffix(k, "@"+src) {
				delete(l.entries, k)
				n++
			}
		}
		return n
	}
	for k := range l.entries {
		if strings.HasPrefix(k, userPrefix+target+"@") {
			delete(l.entries, k)
			n++
		}
	}
	return n
}

// Locks lists the login limiter's locks and the keys close to one.
func (s *Store) Locks() []Lock { return s.limiter.locks() }

// Unlock clears the locks of a user name, from every address, or of a
// source address; it returns how many it cleared, and an ErrNotFound
// error when there were none.
func (s *Store) Unlock(target string) (int, error) {
	if n := s.limiter.unlock(target); n > 0 {
		return n, nil
	}
	return 0, errorf(ErrNotFound, "%s: no lock or failed login recorded for this user or address", target)
}
