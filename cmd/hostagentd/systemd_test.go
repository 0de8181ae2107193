package main_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"hostagent/internal/peertest"
	"hostagent/manage/apiclient"
)

func monotonicMicros(t *testing.T) int64 {
	t.Helper()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatal(err)
	}
	return ts.Nano() / 1e3
}

// TestSystemdNotifyProtocol runs hostagentd as its systemd unit does
// (Type=notify, WatchdogSec=, ExecReload=kill -HUP) against a fake
// NOTIFY_SOCKET: READY=1 once the API answers, watchdog pings, a SIGHUP
// reload framed by RELOADING=1 (with MONOTONIC_USEC) and READY=1 that
// applies a valid snmp.toml and refuses an invalid one, and STOPPING=1 and
// a clean exit on SIGTERM.
func TestSystemdNotifyProtocol(t *testing.T) {
	bin, work := t.TempDir(), t.TempDir()
	build(t, bin)
	ownSyslog(t, work)
	etc := filepath.Join(work, "etc")
	snmpToml := filepath.Join(etc, "snmp.toml")
	collectorsToml := "[vms]\nenabled = false\n[sensors]\nenabled = false\n[links]\nenabled = false\n[resources]\nenabled = false\n"
	for path, text := range map[string]string{
		snmpToml:                              "polling = \"off\"\nsyscontact = \"before the reload\"\n",
		filepath.Join(etc, "collectors.toml"): collectorsToml,
	} {
		if err := os.WriteFile(path, []byte(text), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	// snmp.toml is edited through a hard link outside the config directory:
	// the directory watcher sees no event for it, so only the SIGHUP can
	// apply the edit. Linked before the start, so that the link's own
	// event (the inode's link count) comes before the watch.
	edit := filepath.Join(work, "snmp-outside-the-watch.toml")
	if err := os.Link(snmpToml, edit); err != nil {
		t.Fatal(err)
	}

	notify := peertest.ListenNotify(t)
	sock := filepath.Join(work, "api.sock")
	log := &peertest.Buffer{}
	d := exec.Command(filepath.Join(bin, "hostagentd"), "--config-dir", etc,
		"--state-dir", filepath.Join(work, "state"), "--api-socket", sock)
	// WATCHDOG_PID left unset: systemd sets it to the pid it started,
	// which this test only learns afterwards; unset is accepted as ours.
	env := os.Environ()
	for _, name := range []string{"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"} {
		env = withoutVar(env, name)
	}
	const watchdogTimeout = 400 * time.Millisecond
	d.Env = append(env, "NOTIFY_SOCKET="+notify.Path,
		"WATCHDOG_USEC="+strconv.FormatInt(watchdogTimeout.Microseconds(), 10))
	d.Stdout, d.Stderr = log, log
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- d.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = d.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("hostagentd:\n%s", log.String())
		}
	})
	client, err := apiclient.NewClient("unix:" + sock)
	if err != nil {
		t.Fatal(err)
	}
	syscontact := func() string {
		t.Helper()
		st, err := client.SNMP(context.Background())
		if err != nil {
			t.Fatalf("API: %v", err)
		}
		return st.Config.Syscontact
	}

	// Ready: the API answers at once, asked once.
	ready := notify.Await(t, exited, "READY=1", 60*time.Second)
	if got := syscontact(); got != "before the reload" {
		t.Fatalf("syscontact at READY=1: %q", got)
	}
	if !strings.Contains(ready, "STATUS=") {
		t.Errorf("READY=1 without STATUS=: %q", ready)
	}
	for range 3 {
		notify.Await(t, exited, "WATCHDOG=1", 10*time.Second)
	}

	// reload edits snmp.toml out of the watcher's sight, sends SIGHUP and
	// waits for the reload's RELOADING=1 and READY=1.
	reload := func(text string) {
		t.Helper()
		if err := os.WriteFile(edit, []byte(text), 0o640); err != nil {
			t.Fatal(err)
		}
		before := monotonicMicros(t)
		if err := d.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		msg := notify.Await(t, exited, "RELOADING=1", 30*time.Second)
		after := monotonicMicros(t)
		usec, err := strconv.ParseInt(strings.TrimPrefix(peertest.NotifyLine(msg, "MONOTONIC_USEC="), "MONOTONIC_USEC="), 10, 64)
		if err != nil || usec < before || usec > after {
			t.Errorf("RELOADING=1 message %q: want MONOTONIC_USEC between %d and %d (%v)", msg, before, after, err)
		}
		notify.Await(t, exited, "READY=1", 30*time.Second)
	}

	reload("polling = \"off\"\nsyscontact = \"after the reload\"\n")
	if got := syscontact(); got != "after the reload" {
		t.Errorf("syscontact after SIGHUP: %q, want the edit in force", got)
	}
	if n := strings.Count(log.String(), "configuration reloaded"); n != 1 {
		t.Errorf("%d reloads logged, want the SIGHUP's one", n)
	}

	reload("polling = \"off\"\nsyscontact = [\n")
	if !strings.Contains(log.String(), "level=ERROR msg=\"configuration change refused; the previous configuration keeps running\"") {
		t.Errorf("the invalid snmp.toml was not refused at ERROR")
	}
	if got := syscontact(); got != "after the reload" {
		t.Errorf("syscontact after an invalid snmp.toml: %q, want the running one kept", got)
	}
	notify.Await(t, exited, "WATCHDOG=1", 10*time.Second)

	if err := d.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	notify.Await(t, exited, "STOPPING=1", 10*time.Second)
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Errorf("exit after SIGTERM: %v, want 0", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("hostagentd did not exit within 10 s of SIGTERM")
	}
}
