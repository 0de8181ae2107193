package packaging

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"hostagent/internal/peertest"
)

// bootTarget is the unit the test's systemd boots to: it wants only
// hostagent.service. Its name also marks the test's systemd among the
// machine's processes, for the clean-up of one a killed run left behind.
const bootTarget = "hostagent-test-boot.target"

// readyStatus is the StatusText the daemon sends with READY=1.
const readyStatus = "Ready: configuration in force, API on /run/hostagent/api.sock"

// testUnits are the unit files the test's systemd finds in its own
// /run/systemd/system. The drop-in takes hostagent.service out of
// sysinit.target and basic.target: what they pull in (udev's trigger,
// systemd-sysctl, systemd-remount-fs, systemd-sysusers, tmpfiles,
// timesyncd...) would act on this machine's kernel, devices, clock and
// /etc, which a test must not change. journald is still started, by the
// socket the unit logs to; the sandbox, Type=notify, the watchdog and the
// reload are the installed unit's own.
var testUnits = map[string]string{
	bootTarget: `[Unit]
Description=hostagent test boot
DefaultDependencies=no
Wants=hostagent.service
After=hostagent.service
`,
	"hostagent.service.d/10-test-boot.conf": `[Unit]
DefaultDependencies=no
Wants=systemd-journald.socket
After=systemd-journald.socket
`,
}

// bootScript runs as PID 1 of the new PID, mount and UTS namespaces
// until it execs systemd. Each tmpfs hides a host directory from what
// systemd and the service write: /run (systemd's state, the units above,
// the service's RuntimeDirectory), /tmp and /var/tmp (PrivateTmp's
// directories), /var/log/journal (a flushed journal). $1 is the folder of
// the test's units, copied before /tmp, where it may be, is hidden.
const bootScript = `set -e
mount --make-rprivate /
mount -t proc proc /proc
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mkdir -p /run/systemd/system
cp -R "$1"/. /run/systemd/system/
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /var/tmp
if [ -d /var/log/journal ]; then mount -t tmpfs -o mode=2755 tmpfs /var/log/journal; fi
exec /lib/systemd/systemd --system --unit=` + bootTarget + ` --log-target=journal --log-level=info --show-status=no
`

// namespacedSystemd is a systemd running as PID 1 of its own PID and
// mount namespaces.
type namespacedSystemd struct {
	t   *testing.T
	pid int // systemd's PID on this machine
	// shutdown stops the service and kills the namespace; once, whether
	// at the check's end or in the test's clean-up.
	shutdown func()
}

// run runs a command inside the namespace (systemctl, journalctl,
// vicfg-snmp), returning its combined output.
func (ns *namespacedSystemd) run(args ...string) (string, error) {
	nsArgs := append([]string{"-t", strconv.Itoa(ns.pid), "-m", "-p", "--"}, args...)
	out, err := exec.Command("nsenter", nsArgs...).CombinedOutput()
	return string(out), err
}

// show is a property of hostagent.service.
func (ns *namespacedSystemd) show(property string) string {
	out, _ := ns.run("systemctl", "show", "--value", "-p", property, "hostagent.service")
	return strings.TrimSpace(out)
}

// bootJournal is the namespace's whole journal: systemd's own messages
// (--log-target=journal, once journald runs) and every unit's.
func (ns *namespacedSystemd) bootJournal() string {
	out, _ := ns.run("journalctl", "--no-pager", "-o", "short-monotonic")
	return out
}

// journal is the service's journal, for failure messages.
func (ns *namespacedSystemd) journal() string {
	out, err := ns.run("journalctl", "--no-pager", "-u", "hostagent.service", "-o", "cat")
	if err != nil {
		return "journalctl: " + err.Error() + "\n" + out
	}
	return out
}

// eventually waits for cond, failing with the service's state and
// journal when it stays false.
func (ns *namespacedSystemd) eventually(timeout time.Duration, what string, cond func() bool) {
	ns.t.Helper()
	if !peertest.Until(timeout, cond) {
		status, _ := ns.run("systemctl", "status", "--no-pager", "hostagent.service")
		ns.t.Fatalf("timed out after %v waiting for %s\n%s\njournal:\n%s", timeout, what, status, ns.journal())
	}
}

// checkUnderSystemd runs the installed package's unit under a real
// systemd: readiness through sd_notify with the unit's whole sandbox,
// vicfg through the API socket, reload, the watchdog's SIGABRT and
// restart, and stop. This machine's PID 1 is not systemd, so the test
// boots one as PID 1 of new PID and mount namespaces, and kills it after.
// It is called with the package installed.
func checkUnderSystemd(t *testing.T) {
	peertest.RequireRoot(t, "booting systemd in a PID namespace")
	peertest.RequireCommand(t, "nsenter", "util-linux")
	peertest.RequireCommand(t, "mount", "mount")
	peertest.RequireCommand(t, "/lib/systemd/systemd", "systemd")
	ns := bootSystemd(t)
	// Ended here, not only when the calling test ends: the namespace's
	// daemon must not share /etc/hostagent and /var/lib/hostagent with
	// what the caller runs next (another hostagentd, dpkg -r).
	defer ns.shutdown()

	ns.eventually(60*time.Second, "hostagent.service active with READY=1", func() bool {
		return ns.show("ActiveState") == "active" && ns.show("SubState") == "running"
	})
	if got := ns.show("StatusText"); got != readyStatus {
		t.Fatalf("StatusText %q, want %q\njournal:\n%s", got, readyStatus, ns.journal())
	}
	mainPID := ns.show("MainPID")

	out, err := ns.run("vicfg-snmp", "--show")
	if err != nil || !strings.Contains(out, "Enabled  : 0") {
		t.Errorf("vicfg-snmp --show through /run/hostagent/api.sock: %v\n%s\njournal:\n%s", err, out, ns.journal())
	}

	if out, err := ns.run("systemctl", "reload", "hostagent.service"); err != nil {
		t.Fatalf("systemctl reload: %v\n%s\njournal:\n%s", err, out, ns.journal())
	}
	ns.eventually(30*time.Second, "the reload in the journal and StatusText Ready again", func() bool {
		return strings.Contains(ns.journal(), "reloading the configuration files") &&
			ns.show("StatusText") == readyStatus && ns.show("SubState") == "running"
	})
	if got := ns.show("MainPID"); got != mainPID {
		t.Errorf("the reload changed MainPID from %s to %s", mainPID, got)
	}

	checkWatchdog(t, ns)

	start := time.Now()
	if out, err := ns.run("systemctl", "stop", "hostagent.service"); err != nil {
		t.Fatalf("systemctl stop: %v\n%s\njournal:\n%s", err, out, ns.journal())
	}
	stopped := time.Since(start)
	t.Logf("systemctl stop took %v", stopped)
	if state, result := ns.show("ActiveState"), ns.show("Result"); state != "inactive" || result != "success" {
		t.Errorf("after systemctl stop: ActiveState=%s Result=%s, want inactive and success\njournal:\n%s", state, result, ns.journal())
	}
	// SIGTERM ends the daemon at once; TimeoutStopSec=30s would mean a
	// SIGKILL, which Result would say.
	if stopped > 10*time.Second {
		t.Errorf("systemctl stop took %v", stopped)
	}
}

// checkWatchdog shortens WatchdogSec with a runtime drop-in, stops the
// daemon with SIGSTOP, and checks systemd aborts it (SIGABRT: the Go
// runtime's goroutine dump in the journal) and restarts it.
func checkWatchdog(t *testing.T, ns *namespacedSystemd) {
	t.Helper()
	dropIn := "[Service]\nWatchdogSec=4s\n"
	if out, err := ns.run("sh", "-c", `mkdir -p /run/systemd/system/hostagent.service.d && printf '%s' "$1" >/run/systemd/system/hostagent.service.d/20-test-watchdog.conf && systemctl daemon-reload && systemctl restart hostagent.service`, "sh", dropIn); err != nil {
		t.Fatalf("the watchdog drop-in and restart: %v\n%s\njournal:\n%s", err, out, ns.journal())
	}
	if got := ns.show("WatchdogUSec"); got != "4s" {
		t.Fatalf("WatchdogUSec %s after the drop-in, want 4s", got)
	}
	ns.eventually(60*time.Second, "hostagent.service ready after the restart", func() bool {
		return ns.show("SubState") == "running" && ns.show("StatusText") == readyStatus
	})
	restarts, _ := strconv.Atoi(ns.show("NRestarts"))
	stoppedPID := ns.show("MainPID")
	if out, err := ns.run("kill", "-STOP", stoppedPID); err != nil {
		t.Fatalf("kill -STOP %s: %v\n%s", stoppedPID, err, out)
	}
	start := time.Now()
	// 4 s of watchdog, SIGABRT and its dump, RestartSec=2s, readiness.
	ns.eventually(60*time.Second, "a watchdog restart: NRestarts up by one, a new MainPID running", func() bool {
		n, _ := strconv.Atoi(ns.show("NRestarts"))
		pid := ns.show("MainPID")
		return n == restarts+1 && pid != stoppedPID && pid != "0" && ns.show("SubState") == "running"
	})
	t.Logf("watchdog restart %v after SIGSTOP", time.Since(start))
	journal := ns.journal()
	for _, want := range []string{"SIGABRT: abort", "goroutine "} {
		if !strings.Contains(journal, want) {
			t.Errorf("the journal lacks %q after the watchdog fired:\n%s", want, journal)
		}
	}
}

// bootSystemd starts systemd as PID 1 of new PID, mount and UTS
// namespaces and waits until the boot job of bootTarget is done. Cleanup
// stops the service, kills the namespace and removes the cgroups its
// systemd made on this machine.
func bootSystemd(t *testing.T) *namespacedSystemd {
	t.Helper()
	killLeftSystemd(t)

	units := t.TempDir()
	for name, text := range testUnits {
		path := filepath.Join(units, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cgroupsBefore := cgroupDirs()

	// What the script says before systemd takes over (a mount refused);
	// systemd, as PID 1, logs to the journal (before journald runs, to
	// /dev/console).
	var scriptOutput peertest.Buffer
	cmd := exec.Command("/bin/sh", "-c", bootScript, "sh", units)
	cmd.Stdout, cmd.Stderr = &scriptOutput, &scriptOutput
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}
	// The child is the namespace's PID 1, so its PID here is systemd's.
	// Pdeathsig ends the namespace with this test's process (the kernel
	// kills a PID namespace's processes when its PID 1 dies); the thread
	// is locked because the signal follows the thread that forked.
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWPID | syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS,
		Pdeathsig:  syscall.SIGKILL,
	}
	runtime.LockOSThread()
	err := cmd.Start()
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("starting systemd in new namespaces: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	ns := &namespacedSystemd{t: t, pid: cmd.Process.Pid}

	ns.shutdown = sync.OnceFunc(func() {
		defer runtime.UnlockOSThread()
		select {
		case <-exited:
		default:
			// The daemon first, as systemd would at shutdown: a clean
			// stop, its snmpd with it.
			if out, err := ns.run("systemctl", "stop", "hostagent.service"); err != nil {
				t.Logf("cleanup: systemctl stop hostagent: %v\n%s", err, out)
			}
			_ = cmd.Process.Kill()
		}
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			t.Errorf("the namespace's systemd (pid %d) did not die of SIGKILL in 30 s", ns.pid)
		}
		removeNewCgroups(t, cgroupsBefore)
	})
	t.Cleanup(ns.shutdown)
	booted := time.Now()

	// The boot is over when the manager is no longer "initializing" or
	// "starting": our target's job is done, the service ready or failed.
	var state string
	if !peertest.Until(60*time.Second, func() bool {
		select {
		case <-exited:
			return true
		default:
		}
		out, _ := ns.run("systemctl", "is-system-running")
		state = strings.TrimSpace(out)
		return state == "running" || state == "degraded"
	}) || state != "running" {
		select {
		case <-exited:
			t.Fatalf("systemd exited during the boot: %v\n%s", cmd.ProcessState, scriptOutput.String())
		default:
		}
		status, _ := ns.run("systemctl", "status", "--no-pager", "hostagent.service")
		failed, _ := ns.run("systemctl", "--failed", "--no-pager")
		t.Fatalf("the boot to %s: the manager is %q, want running\n%s\n%s\nthe namespace's journal:\n%s",
			bootTarget, state, failed, status, ns.bootJournal())
	}
	t.Logf("systemd booted to %s in %v", bootTarget, time.Since(booted))
	return ns
}

// killLeftSystemd kills a namespace's systemd that a run killed before
// its clean-up left behind (Pdeathsig makes it unlikely): two would share
// /var/lib/hostagent and the package's files.
func killLeftSystemd(t *testing.T) {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, path := range procs {
		cmdline, err := os.ReadFile(path)
		if err != nil || !bytes.Contains(cmdline, []byte("--unit="+bootTarget+"\x00")) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(path)))
		t.Logf("killing the test systemd a previous run left behind: pid %d", pid)
		_ = syscall.Kill(pid, syscall.SIGKILL)
		peertest.Eventually(t, 30*time.Second, "the left systemd's exit", func() bool {
			_, err := os.Stat(filepath.Dir(path))
			return err != nil
		})
	}
}

// cgroupDirs is every cgroup of this machine's hierarchies: the
// namespace's systemd shares them and makes its slices and scopes there
// (init.scope, system.slice...), which its SIGKILL leaves behind.
func cgroupDirs() map[string]bool {
	dirs := map[string]bool{}
	_ = filepath.WalkDir("/sys/fs/cgroup", func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs[path] = true
		}
		return nil
	})
	return dirs
}

// removeNewCgroups removes the cgroups made since before, deepest first;
// with their processes gone they are empty, and rmdir refuses one that is
// not.
func removeNewCgroups(t *testing.T, before map[string]bool) {
	t.Helper()
	var made []string
	for dir := range cgroupDirs() {
		if !before[dir] {
			made = append(made, dir)
		}
	}
	slices.SortFunc(made, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	for _, dir := range made {
		if err := syscall.Rmdir(dir); err != nil {
			t.Logf("cleanup: rmdir %s: %v", dir, err)
		}
	}
}
