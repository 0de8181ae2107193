package main_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"hostagent/internal/peertest"
)

// These tests forward sequence-numbered lines with the real hostagentd to
// a real rsyslogd, disturb the path (kill the agent, rotate the file,
// stop the collector), and count every line the collector received:
// none may be missing; duplicates are reported, and bounded.

// maxDuplicates bounds what a failure may repeat: the batches written but
// not yet confirmed (output.maxUnconfirmed, 1 MiB: about 10k of these
// lines) and the batch being written (4096 lines). A crash costs at most
// that much again, never a loss.
const maxDuplicates = 20_000

type lossRig struct {
	t         *testing.T
	bin       string
	work      string
	logs      string
	rsyslog   *peertest.Rsyslogd
	daemon    *exec.Cmd
	exited    chan struct{}
	daemonLog bytes.Buffer
}

func newLossRig(t *testing.T) *lossRig {
	t.Helper()
	peertest.RequireCommand(t, "rsyslogd", "rsyslog")
	r := &lossRig{t: t, bin: t.TempDir(), work: t.TempDir(), logs: t.TempDir()}
	build(t, r.bin)
	r.rsyslog = peertest.StartRsyslogd(t, peertest.RsyslogdOptions{TCP: true})
	etc := filepath.Join(r.work, "etc")
	if err := os.MkdirAll(etc, 0o750); err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(etc, name), []byte(body), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	write("collectors.toml", "[vms]\nenabled = false\n[sensors]\nenabled = false\n[links]\nenabled = false\n[resources]\nenabled = false\n")
	write("syslog.toml", fmt.Sprintf("loghosts = [\"tcp://%s\"]\nsocket = \"\"\n[loghost_options.\"tcp://%s\"]\nretry_max = \"200ms\"\n[[files]]\nglob = %q\n",
		r.rsyslog.TCPAddr(), r.rsyslog.TCPAddr(), filepath.Join(r.logs, "*.log")))
	t.Cleanup(func() {
		r.kill()
		if t.Failed() {
			t.Logf("hostagentd:\n%s", r.daemonLog.String())
		}
	})
	return r
}

func (r *lossRig) start() {
	r.t.Helper()
	cmd := exec.Command(filepath.Join(r.bin, "hostagentd"), "--config-dir", filepath.Join(r.work, "etc"),
		"--state-dir", filepath.Join(r.work, "state"), "--api-socket", filepath.Join(r.work, "api.sock"))
	cmd.Stdout, cmd.Stderr = &r.daemonLog, &r.daemonLog
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.daemon, r.exited = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(r.exited) }()
}

// kill is SIGKILL: no chance to flush or checkpoint anything.
func (r *lossRig) kill() {
	if r.daemon != nil {
		_ = r.daemon.Process.Signal(syscall.SIGKILL)
		<-r.exited
		r.daemon = nil
	}
}

// writeLines appends "loss line N" for N in [from, to) at about rate lines
// per second (0: as fast as possible), calling between(n) every step lines.
func (r *lossRig) writeLines(name string, from, to, rate, step int, between func(n int)) {
	r.t.Helper()
	path := filepath.Join(r.logs, name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		r.t.Fatal(err)
	}
	start := time.Now()
	var buf bytes.Buffer
	for n := from; n < to; n++ {
		fmt.Fprintf(&buf, "loss line %07d\n", n)
		if (n+1-from)%1000 == 0 || n == to-1 {
			if _, err := f.Write(buf.Bytes()); err != nil {
				r.t.Fatal(err)
			}
			buf.Reset()
			if rate > 0 {
				if ahead := time.Duration(n+1-from)*time.Second/time.Duration(rate) - time.Since(start); ahead > 0 {
					time.Sleep(ahead)
				}
			}
		}
		if step > 0 && (n+1-from)%step == 0 && n != to-1 && between != nil {
			f.Close()
			between(n + 1)
			if f, err = os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
				r.t.Fatal(err)
			}
		}
	}
	f.Close()
}

var lineRE = regexp.MustCompile(`"msg":"loss line (\d{7})"`)

// tally reads what rsyslogd wrote and counts each line number.
func (r *lossRig) tally(n int) (received, missing, dups int) {
	data, _ := os.ReadFile(r.rsyslog.MessagesFile())
	seen := make([]uint8, n)
	for _, m := range lineRE.FindAllSubmatch(data, -1) {
		i, _ := strconv.Atoi(string(m[1]))
		if i < n {
			if seen[i] < 255 {
				seen[i]++
			}
			received++
		}
	}
	for _, c := range seen {
		switch {
		case c == 0:
			missing++
		case c > 1:
			dups += int(c) - 1
		}
	}
	return received, missing, dups
}

// missingRanges describes which lines are missing, as ranges.
func (r *lossRig) missingRanges(n int) string {
	data, _ := os.ReadFile(r.rsyslog.MessagesFile())
	seen := make([]bool, n)
	for _, m := range lineRE.FindAllSubmatch(data, -1) {
		if i, _ := strconv.Atoi(string(m[1])); i < n {
			seen[i] = true
		}
	}
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		if !seen[i] {
			j := i
			for j+1 < n && !seen[j+1] {
				j++
			}
			fmt.Fprintf(&b, "%d-%d ", i, j)
			i = j
		}
	}
	return b.String()
}

// waitAll waits until every line has arrived at least once, then checks.
func (r *lossRig) waitAll(n int) {
	r.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		received, missing, dups := r.tally(n)
		if missing == 0 {
			r.t.Logf("%d lines: all received (%d messages, %d duplicates)", n, received, dups)
			if dups > maxDuplicates {
				r.t.Errorf("%d duplicates, more than %d", dups, maxDuplicates)
			}
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%d of %d lines missing after 60s (%d duplicates): %s", missing, n, dups, r.missingRanges(n))
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func (r *lossRig) waitSome(n, atLeast int) {
	r.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if received, _, _ := r.tally(n); received >= atLeast {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("fewer than %d lines arrived", atLeast)
		}
	}
}

// TestKillWithBacklog: the agent is killed with SIGKILL while it works
// through a backlog, and started again.
func TestKillWithBacklog(t *testing.T) {
	r := newLossRig(t)
	const n = 200_000
	r.writeLines("app.log", 0, n, 0, 0, nil)
	r.start()
	r.waitSome(n, 20_000)
	r.kill()
	r.start()
	r.waitAll(n)
}

// TestRenameRotation: lines written at 100k lines/s, the file renamed and
// a new one created every 100k lines.
func TestRenameRotation(t *testing.T) {
	r := newLossRig(t)
	r.start()
	const n = 300_000
	rotations := 0
	r.writeLines("app.log", 0, n, 100_000, 100_000, func(int) {
		rotations++
		if err := os.Rename(filepath.Join(r.logs, "app.log"), filepath.Join(r.logs, fmt.Sprintf("app.log.%d", rotations))); err != nil {
			t.Fatal(err)
		}
	})
	r.waitAll(n)
}

// TestCollectorDownThenBack: rsyslogd is stopped for 10 s while lines
// keep coming, then started again.
func TestCollectorDownThenBack(t *testing.T) {
	r := newLossRig(t)
	r.start()
	const n = 100_000
	r.writeLines("app.log", 0, n/2, 50_000, 0, nil)
	r.rsyslog.Stop(r.t)
	r.writeLines("app.log", n/2, n, 5_000, 0, nil) // 10 s
	r.rsyslog.Start(r.t)
	r.waitAll(n)
}

// TestRestartWhileCollectorDown: the agent is killed and started again
// while the collector is down; everything arrives once it is back.
func TestRestartWhileCollectorDown(t *testing.T) {
	r := newLossRig(t)
	r.start()
	const n = 50_000
	r.writeLines("app.log", 0, n/2, 0, 0, nil)
	r.waitSome(n, 1)
	r.rsyslog.Stop(r.t)
	r.writeLines("app.log", n/2, n, 0, 0, nil)
	time.Sleep(500 * time.Millisecond)
	r.kill()
	r.start()
	time.Sleep(time.Second)
	r.rsyslog.Start(r.t)
	r.waitAll(n)
}

// TestCopytruncate: every 50k lines the file is copied aside and truncated
// in place (logrotate's copytruncate) while lines keep coming at 50k/s.
func TestCopytruncate(t *testing.T) {
	r := newLossRig(t)
	r.start()
	const n = 200_000
	rotations := 0
	path := filepath.Join(r.logs, "app.log")
	r.writeLines("app.log", 0, n, 50_000, 50_000, func(int) {
		rotations++
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(fmt.Sprintf("%s.%d", path, rotations), data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, 0); err != nil {
			t.Fatal(err)
		}
	})
	r.waitAll(n)
}
