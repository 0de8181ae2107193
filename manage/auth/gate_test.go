package auth

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"hostagent/internal/peertest"
)

// A full gate queues logins up to its bound, refuses the rest at once, and
// refuses a waiter not served within its timeout; nothing is hashed for a
// refused login.
func TestHashGateBoundsAndQueue(t *testing.T) {
	g := newHashGate(2, 2, time.Hour)
	r1, err1 := g.acquire(true, nil)
	r2, err2 := g.acquire(true, nil)
	if err1 != nil || err2 != nil {
		t.Fatalf("free slots refused: %v %v", err1, err2)
	}
	got := make(chan error, 2)
	for range 2 {
		go func() {
			r, err := g.acquire(true, nil)
			if err == nil {
				r()
			}
			got <- err
		}()
	}
	waitQueued(t, g, 2)
	if _, err := g.acquire(true, nil); !errors.Is(err, ErrBusy) {
		t.Fatalf("third waiter on a queue of 2: %v, want ErrBusy", err)
	}
	r1()
	r2()
	for range 2 {
		if err := <-got; err != nil {
			t.Errorf("queued waiter: %v", err)
		}
	}
	if g.free != 2 || g.waiters.Len() != 0 {
		t.Errorf("after all released: free %d, waiting %d", g.free, g.waiters.Len())
	}

	short := newHashGate(1, 4, 10*time.Millisecond)
	r, _ := short.acquire(true, nil)
	if _, err := short.acquire(true, nil); !errors.Is(err, ErrBusy) {
		t.Errorf("waiter past its timeout: %v, want ErrBusy", err)
	}
	if short.waiters.Len() != 0 {
		t.Errorf("a timed-out waiter stayed queued")
	}
	r()
}

// A waiter from a clean source is served before older suspect ones, and a
// full queue refuses its newest suspect waiter to make room for it; a
// suspect newcomer gets no such room.
func TestHashGatePrefersCleanSources(t *testing.T) {
	g := newHashGate(1, 2, time.Hour)
	yes, no := func() bool { return true }, func() bool { return false }
	hold, _ := g.acquire(true, nil)
	order := make(chan string, 3)
	for _, name := range []string{"suspect-1", "suspect-2"} {
		go func() {
			r, err := g.acquire(true, yes)
			if err != nil {
				order <- name + " refused"
				return
			}
			order <- name
			r()
		}()
		waitQueued(t, g, map[string]int{"suspect-1": 1, "suspect-2": 2}[name])
	}
	if _, err := g.acquire(true, yes); !errors.Is(err, ErrBusy) {
		t.Errorf("suspect newcomer on a full queue: %v, want ErrBusy", err)
	}
	go func() {
		r, err := g.acquire(true, no)
		if err != nil {
			order <- "clean refused"
			return
		}
		order <- "clean"
		r()
	}()
	if got := <-order; got != "suspect-2 refused" {
		t.Fatalf("first outcome %q, want the newest suspect refused to make room", got)
	}
	waitQueued(t, g, 2)
	hold()
	for _, want := range []string{"clean", "suspect-1"} {
		if got := <-order; got != want {
			t.Errorf("served %q, want %q", got, want)
		}
	}
}

// Setting a password waits for a slot however long it takes: strangers
// guessing must not make an authenticated change fail.
func TestHashGateUnboundedWaits(t *testing.T) {
	g := newHashGate(1, 0, time.Nanosecond)
	hold, _ := g.acquire(true, nil)
	done := make(chan error, 1)
	go func() {
		r, err := g.acquire(false, nil)
		if err == nil {
			r()
		}
		done <- err
	}()
	waitQueued(t, g, 1)
	hold()
	if err := <-done; err != nil {
		t.Errorf("unbounded acquire: %v", err)
	}
}

func waitQueued(t *testing.T, g *hashGate, n int) {
	t.Helper()
	peertest.Eventually(t, 10*time.Second, fmt.Sprintf("%d waiters queued", n), func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.waiters.Len() == n
	})
}

// A login refused by a busy gate costs no hash and does not count as a
// failure: the user is not locked by logins that never ran.
func TestLoginBusyCostsNoHash(t *testing.T) {
	e := newEnv(t)
	must(t, e.s.AddUser("alice", "alice-password", RoleAdministrator))
	old := checks
	checks = newHashGate(1, 0, time.Millisecond)
	t.Cleanup(func() { checks = old })
	hold, _ := checks.acquire(true, nil)
	before := e.kdfs.Load()
	for range 10 {
		_, err := e.s.Login("alice", "wrong-password", "192.0.2.1:1")
		var le *LoginError
		if !errors.Is(err, ErrBusy) || !errors.As(err, &le) || le.Reason != ReasonBusy || le.RetryAfter != busyRetry {
			t.Fatalf("login on a busy gate: %v", err)
		}
	}
	if n := e.kdfs.Load() - before; n != 0 {
		t.Errorf("%d hashes for refused logins", n)
	}
	hold()
	if _, err := e.s.Login("alice", "alice-password", "192.0.2.1:1"); err != nil {
		t.Errorf("login once free: %v (busy refusals counted as failures?)", err)
	}
}

// One address has at most one check pending: its parallel excess is
// refused before hashing and marks it suspect; another address is not.
func TestLimiterOnePendingPerSource(t *testing.T) {
	c := &fakeClock{t: time.Unix(0, 0)}
	l := newLimiter(c.now)
	a, b := sourceKey("192.0.2.1:1"), sourceKey("192.0.2.2:1")
	if _, ok := l.begin(userKey("u1", "192.0.2.9"), a); !ok {
		t.Fatal("first attempt refused")
	}
	if l.suspect(a) {
		t.Error("suspect before any refusal or failure")
	}
	if wait, ok := l.begin(userKey("u2", "192.0.2.9"), a); ok || wait != busyRetry {
		t.Errorf("second parallel attempt from one address: %v %v", wait, ok)
	}
	if !l.suspect(a) {
		t.Error("not suspect after a refused attempt")
	}
	if _, ok := l.begin(userKey("u3", "192.0.2.9"), b); !ok || l.suspect(b) {
		t.Error("another address refused or suspect")
	}
	l.cancel(a)
	if _, ok := l.begin(userKey("u4", "192.0.2.9"), a); !ok {
		t.Error("refused after the pending attempt was cancelled")
	}
	c.advance(l.window)
	if l.suspect(a) {
		t.Error("still suspect a window after its last refusal")
	}
}
