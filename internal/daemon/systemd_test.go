package daemon_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// notifySocket is a service manager's NOTIFY_SOCKET, as systemd makes it:
// a unix datagram socket, one message per datagram.
type notifySocket struct {
	path string
	conn *net.UnixConn
}

func listenNotify(t *testing.T) *notifySocket {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &notifySocket{path: path, conn: conn}
}

// next returns the next message, or "" and false when none arrives before
// deadline.
func (s *notifySocket) next(t *testing.T, deadline time.Time) (string, bool) {
	t.Helper()
	if err := s.conn.SetReadDeadline(deadline); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := s.conn.Read(buf)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n]), true
}

// await reads messages until one has a line starting with prefix and
// returns it.
func (s *notifySocket) await(t *testing.T, prefix string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msg, ok := s.next(t, deadline)
		if !ok {
			t.Fatalf("no %q from the daemon within %v", prefix, timeout)
		}
		if hasLine(msg, prefix) {
			return msg
		}
	}
}

func hasLine(msg, prefix string) bool {
	for line := range strings.Lines(msg) {
		if strings.HasPrefix(line, prefix) {
			return true
		}
	}
	return false
}

// TestWatchdogWithheldWhileConfigLockIsHeld: the daemon pings systemd's
// watchdog while healthy; with its configuration lock held past the
// check's bound (a quarter of the timeout), as a deadlocked reload would,
// it stops pinging, says what is stuck (log and STATUS=), and pings again
// once the lock is free.
func TestWatchdogWithheldWhileConfigLockIsHeld(t *testing.T) {
	notify := listenNotify(t)
	const timeout = 400 * time.Millisecond // pings every 200 ms, lock bound 100 ms
	t.Setenv("NOTIFY_SOCKET", notify.path)
	t.Setenv("WATCHDOG_USEC", strconv.FormatInt(timeout.Microseconds(), 10))
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid())) // the daemon runs in this process
	d := start(t, t.TempDir())

	notify.await(t, "READY=1", 10*time.Second)
	for range 3 {
		notify.await(t, "WATCHDOG=1", 10*time.Second)
	}

	release := d.daemon.HoldConfigLock()
	released := false
	defer func() {
		if !released {
			release()
		}
	}()
	// Pings sent before the check that failed came before this message.
	stuck := notify.await(t, "STATUS=Stuck", 10*time.Second)
	if !strings.Contains(stuck, "configuration lock not obtained") {
		// An API answer slower than the bound on a loaded machine: wait
		// for the lock's own.
		notify.await(t, "STATUS=Stuck, watchdog not pinged: configuration lock", 10*time.Second)
	}
	// Two whole timeouts without a ping: systemd would have killed it.
	window := time.Now().Add(2 * timeout)
	for {
		msg, ok := notify.next(t, window)
		if !ok {
			break
		}
		if hasLine(msg, "WATCHDOG=1") {
			t.Fatalf("watchdog pinged while the configuration lock is held: %q", msg)
		}
	}
	if log := d.log.String(); !strings.Contains(log, "level=WARN") || !strings.Contains(log, "configuration lock not obtained") {
		t.Errorf("no warning naming the lock in the log")
	}

	release()
	released = true
	recovered := notify.await(t, "WATCHDOG=1", 10*time.Second)
	if !hasLine(recovered, "STATUS=Ready") {
		t.Errorf("first ping after recovery %q: want the ready status back", recovered)
	}
	waitFor(t, "the recovery logged", func() bool { return strings.Contains(d.log.String(), "no longer stuck") })

	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	notify.await(t, "STOPPING=1", 10*time.Second)
}
