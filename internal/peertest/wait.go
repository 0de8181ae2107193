package peertest

import (
	"testing"
	"time"
)

// Until and Eventually test their condition at once, then after a pause
// that doubles from firstPoll up to maxPoll: a condition that turns true
// soon is seen soon, and one that costs (a command run, a file parsed)
// is not run hundreds of times a second on a loaded machine.
const (
	firstPoll = time.Millisecond
	maxPoll   = 50 * time.Millisecond
)

// Until reports whether cond turned true within timeout: the wait of a
// test for what nothing signals (a peer's output file, a kernel's state, a
// counter of another goroutine). Hand-written rather than testify's
// Eventually: that runs cond on another goroutine, where t.Fatal must not
// be called, and it would be the module's only use of testify.
func Until(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for pause := firstPoll; !cond(); pause = min(2*pause, maxPoll) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pause) // the interval of a wait with a deadline, not a synchronisation
	}
	return true
}

// Eventually waits up to timeout for cond (see Until) and fails the test,
// naming what it waited for, when it stays false.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Until(timeout, cond) {
		t.Fatalf("timed out after %v waiting for %s", timeout, what)
	}
}
