package peertest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A collector fails in more ways than Stop's SIGKILL: these let a test
// stall it (it keeps its connections, but reads nothing) or stop it
// cleanly, then start it again with Start.

// terminateTimeout bounds how long a clean stop may take before the test
// fails: rsyslogd has its queues to write out, not more.
const terminateTimeout = 30 * time.Second

// Pause stops rsyslogd with SIGSTOP: its sockets stay open and the kernel
// keeps accepting into their buffers until they fill, but nothing is read
// or written to the output. Resume, Stop and Terminate end the pause.
// It returns once every thread of rsyslogd is stopped: a signal is
// delivered asynchronously, and a test that goes on at once could see
// rsyslogd still read and write.
func (r *Rsyslogd) Pause(t testing.TB) {
	t.Helper()
	r.signal(t, syscall.SIGSTOP)
	tasks := fmt.Sprintf("/proc/%d/task", r.cmd.Process.Pid)
	// The kernel tells no one when a thread stops: /proc is polled.
	if !Until(startTimeout, func() bool { return allStopped(tasks) }) {
		t.Fatalf("peertest: rsyslogd not stopped %v after SIGSTOP", startTimeout)
	}
}

// allStopped reports whether every thread listed under a /proc task
// folder is stopped (state T); false when it cannot tell.
func allStopped(tasks string) bool {
	ents, err := os.ReadDir(tasks)
	if err != nil || len(ents) == 0 {
		return false
	}
	for _, e := range ents {
		stat, err := os.ReadFile(filepath.Join(tasks, e.Name(), "stat"))
		if err != nil {
			return false
		}
		// The state follows the command name, which is in parentheses.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 || i+2 >= len(stat) || (stat[i+2] != 'T' && stat[i+2] != 't') {
			return false
		}
	}
	return true
}

// Resume lets a paused rsyslogd run on (SIGCONT).
func (r *Rsyslogd) Resume(t testing.TB) { r.signal(t, syscall.SIGCONT) }

// Terminate stops rsyslogd with SIGTERM, as a service manager does, and
// waits until it has exited; it writes out what it holds first. The test
// fails if rsyslogd has not exited within 30 s (it is then killed). It does
// nothing if rsyslogd is not running.
func (r *Rsyslogd) Terminate(t testing.TB) {
	t.Helper()
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	// A paused process only acts on SIGTERM once it runs again.
	_ = r.cmd.Process.Signal(syscall.SIGCONT)
	select {
	case <-r.exited:
		r.cmd = nil
	case <-time.After(terminateTimeout):
		r.Stop(t)
		t.Fatalf("peertest: rsyslogd did not exit within %v of SIGTERM; killed\n%s", terminateTimeout, r.diagnostics())
	}
}

func (r *Rsyslogd) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if r.cmd == nil {
		t.Fatalf("peertest: rsyslogd is not running (%v)", sig)
	}
	if err := r.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("peertest: rsyslogd: %v: %v", sig, err)
	}
}
