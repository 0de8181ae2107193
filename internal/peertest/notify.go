package peertest

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// NotifySocket is a service manager's NOTIFY_SOCKET as systemd makes it: a
// unix datagram socket, one sd_notify message per datagram. It stands in
// for systemd where none runs, to test what a daemon tells it (READY=1,
// WATCHDOG=1, RELOADING=1, STOPPING=1, STATUS=). Messages are read on a
// goroutine, so that a wait can also end when the daemon exits.
type NotifySocket struct {
	Path     string // for the daemon's NOTIFY_SOCKET
	messages chan string
}

// ListenNotify opens a NotifySocket in a temporary folder of t's; Cleanup
// closes it.
func ListenNotify(t testing.TB) *NotifySocket {
	t.Helper()
	s := &NotifySocket{Path: filepath.Join(t.TempDir(), "notify.sock"), messages: make(chan string, 1024)}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: s.Path, Net: "unixgram"})
	if err != nil {
		t.Fatalf("peertest: notify socket: %v", err)
	}
	closed := make(chan struct{})
	t.Cleanup(func() {
		close(closed)
		conn.Close()
	})
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return // closed by the cleanup
			}
			select {
			case s.messages <- string(buf[:n]):
			case <-closed:
				return
			}
		}
	}()
	return s
}

// Next returns the next message, or false when none comes within timeout.
func (s *NotifySocket) Next(timeout time.Duration) (string, bool) {
	wait := time.NewTimer(timeout)
	defer wait.Stop()
	select {
	case msg := <-s.messages:
		return msg, true
	case <-wait.C:
		return "", false
	}
}

// Await returns the next message with a line starting with prefix, passing
// over the others; it fails the test when none comes within timeout, or
// when exited (nil for a daemon in the test's own process) delivers first.
func (s *NotifySocket) Await(t testing.TB, exited <-chan error, prefix string, timeout time.Duration) string {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case msg := <-s.messages:
			if NotifyLine(msg, prefix) != "" {
				return msg
			}
		case err := <-exited:
			t.Fatalf("the daemon exited (%v) while waiting for %q", err, prefix)
		case <-deadline.C:
			t.Fatalf("no %q from the daemon within %v", prefix, timeout)
		}
	}
}

// NotifyLine is msg's first line starting with prefix, without its newline;
// "" when it has none.
func NotifyLine(msg, prefix string) string {
	for line := range strings.Lines(msg) {
		if strings.HasPrefix(line, prefix) {
			return strings.TrimSuffix(line, "\n")
		}
	}
	return ""
}
