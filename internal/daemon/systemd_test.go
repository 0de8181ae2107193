package daemon_test

import (
	"hostagent/internal/peertest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestWatchdogWithheldWhileConfigLockIsHeld: the daemon pings systemd's
// watchdog while healthy; with its configuration lock held past the
// check's bound (a quarter of the timeout), as a deadlocked reload would,
// it stops pinging, says what is stuck (log and STATUS=), and pings again
// once the lock is free.
func TestWatchdogWithheldWhileConfigLockIsHeld(t *testing.T) {
	notify := peertest.ListenNotify(t)
	const timeout = 400 * time.Millisecond // pings every 200 ms, lock bound 100 ms
	t.Setenv("NOTIFY_SOCKET", notify.Path)
	t.Setenv("WATCHDOG_USEC", strconv.FormatInt(timeout.Microseconds(), 10))
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid())) // the daemon runs in this process
	d := start(t, t.TempDir())

	notify.Await(t, nil, "READY=1", 10*time.Second)
	for range 3 {
		notify.Await(t, nil, "WATCHDOG=1", 10*time.Second)
	}

	release := d.daemon.HoldConfigLock()
	released := false
	defer func() {
		if !released {
			release()
		}
	}()
	// Pings sent before the check that failed came before this message.
	stuck := notify.Await(t, nil, "STATUS=Stuck", 10*time.Second)
	if !strings.Contains(stuck, "configuration lock not obtained") {
		// An API answer slower than the bound on a loaded machine: wait
		// for the lock's own.
		notify.Await(t, nil, "STATUS=Stuck, watchdog not pinged: configuration lock", 10*time.Second)
	}
	// Two whole timeouts without a ping: systemd would have killed it.
	window := time.Now().Add(2 * timeout)
	for {
		msg, ok := notify.Next(time.Until(window))
		if !ok {
			break
		}
		if peertest.NotifyLine(msg, "WATCHDOG=1") != "" {
			t.Fatalf("watchdog pinged while the configuration lock is held: %q", msg)
		}
	}
	if log := d.log.String(); !strings.Contains(log, "level=WARN") || !strings.Contains(log, "configuration lock not obtained") {
		t.Errorf("no warning naming the lock in the log")
	}

	release()
	released = true
	recovered := notify.Await(t, nil, "WATCHDOG=1", 10*time.Second)
	if peertest.NotifyLine(recovered, "STATUS=Ready") == "" {
		t.Errorf("first ping after recovery %q: want the ready status back", recovered)
	}
	waitFor(t, "the recovery logged", func() bool { return strings.Contains(d.log.String(), "no longer stuck") })

	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	notify.Await(t, nil, "STOPPING=1", 10*time.Second)
}
