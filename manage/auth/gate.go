package auth

import (
	"container/list"
	"fmt"
	"sync"
	"time"
)

// ErrBusy is a login refused, before any hashing, because as many password
// checks as the host allows are running and the queue is full or was not
// served in time; see LoginError.RetryAfter.
var ErrBusy = fmt.Errorf("too many logins being checked (%d at once, %d waiting at most %v)", DefaultHashSlots, DefaultHashQueue, DefaultHashWait)

// Bounds on password checks. Each argon2id check holds its memory (64 MiB
// with the default parameters) for its whole run, so without a bound N
// parallel guesses cost N times that before anyone is authenticated.
const (
	// DefaultHashSlots is how many checks run at once: 2 × 64 MiB, and two
	// checks of two lanes each keep two cores busy.
	DefaultHashSlots = 2
	// DefaultHashQueue is how many more may wait for a slot. A waiter costs
	// a goroutine, not a hash; the per-source limit (one pending check per
	// address) keeps one client from filling it.
	DefaultHashQueue = 32
	// DefaultHashWait is how long a login waits for a slot before it is
	// answered "busy, retry in 1s". A check takes about 0.1 s, so a full
	// queue is served within it unless the host is saturated.
	DefaultHashWait = 1500 * time.Millisecond
)

// checks is the process's one gate: the memory it bounds is the process's.
var checks = newHashGate(DefaultHashSlots, DefaultHashQueue, DefaultHashWait)

// hashGate is a counting semaphore with a bounded, timed queue. Logins
// from sources that failed, were locked or were refused recently (suspect,
// asked when a slot frees, not when the login arrived) are served after
// every other waiter, and a full queue makes room for another waiter by
// refusing its newest suspect one: guessing from a few addresses cannot
// make a real user wait behind it, or be refused for it.
type hashGate struct {
	timeout  time.Duration
	maxQueue int

	mu      sync.Mutex
	free    int
	waiters list.List // of *waiter, oldest first
}

type waiter struct {
	ch      chan struct{} // a value: granted; closed: refused
	suspect func() bool
}

func newHashGate(slots, queue int, timeout time.Duration) *hashGate {
	return &hashGate{timeout: timeout, maxQueue: queue, free: slots}
}

// acquire takes a slot. A login (bounded) queues only if the queue has
// room, or room can be made, and waits at most the gate's timeout, else it
// gets ErrBusy; a password being set by an authenticated user (not
// bounded) waits as long as it takes, so that strangers guessing cannot
// make it fail. suspect tells whether the caller's source is suspect (nil:
// never). On success the caller must call release once.
func (g *hashGate) acquire(bounded bool, suspect func() bool) (release func(), err error) {
	if suspect == nil {
		suspect = func() bool { return false }
	}
	g.mu.Lock()
	if g.free > 0 {
		g.free--
		g.mu.Unlock()
		return g.release, nil
	}
	if bounded && g.waiters.Len() >= g.maxQueue {
		victim := g.pick(true, true)
		if victim == nil || suspect() {
			g.mu.Unlock()
			return nil, ErrBusy
		}
		close(g.waiters.Remove(victim).(*waiter).ch)
	}
	w := &waiter{ch: make(chan struct{}, 1), suspect: suspect}
	el := g.waiters.PushBack(w)
	g.mu.Unlock()

	var timeout <-chan time.Time
	if bounded {
		t := time.NewTimer(g.timeout)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case _, granted := <-w.ch:
		if granted {
			return g.release, nil
		}
		return nil, ErrBusy
	case <-timeout:
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case _, granted := <-w.ch: // granted or refused meanwhile
		if granted {
			return g.release, nil
		}
		return nil, ErrBusy
	default:
		g.waiters.Remove(el)
		return nil, ErrBusy
	}
}

// pick finds the oldest (newest: from the back) waiter whose source is
// (not) suspect, or nil. g.mu is held.
func (g *hashGate) pick(suspect, newest bool) *list.Element {
	el, next := g.waiters.Front(), (*list.Element).Next
	if newest {
		el, next = g.waiters.Back(), (*list.Element).Prev
	}
	for ; el != nil; el = next(el) {
		if el.Value.(*waiter).suspect() == suspect {
			return el
		}
	}
	return nil
}

// release hands the slot to the oldest waiter that is not suspect, else to
// the oldest one, or frees it.
func (g *hashGate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	el := g.pick(false, false)
	if el == nil {
		el = g.waiters.Front()
	}
	if el == nil {
		g.free++
		return
	}
	g.waiters.Remove(el).(*waiter).ch <- struct{}{}
}
