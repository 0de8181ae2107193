package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"hostagent/internal/peertest"
	"hostagent/manage/api"
	"hostagent/manage/apiclient"
	"hostagent/manage/audit"
)

// crashDaemon is a hostagentd built with the faultinject tag, on the
// local socket only.
type crashDaemon struct {
	t      *testing.T
	cmd    *exec.Cmd
	log    *peertest.Buffer
	work   string
	exited chan struct{}
	api    *apiclient.Client
}

// startCrashDaemon runs bin's hostagentd on work's directories, with
// HOSTAGENT_FAULT=fault when not empty, and waits until it is ready.
func startCrashDaemon(t *testing.T, bin, work, fault string) *crashDaemon {
	t.Helper()
	ownSyslog(t, work)
	sock := filepath.Join(work, "api.sock")
	d := &crashDaemon{t: t, log: &peertest.Buffer{}, work: work, exited: make(chan struct{})}
	d.cmd = exec.Command(filepath.Join(bin, "hostagentd"), "--config-dir", filepath.Join(work, "etc"),
		"--state-dir", filepath.Join(work, "state"), "--api-socket", sock)
	d.cmd.Env = withoutVar(os.Environ(), "HOSTAGENT_FAULT")
	if fault != "" {
		d.cmd.Env = append(d.cmd.Env, "HOSTAGENT_FAULT="+fault)
	}
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = d.cmd.Wait(); close(d.exited) }()
	t.Cleanup(func() {
		_ = d.cmd.Process.Kill()
		<-d.exited
		if t.Failed() {
			t.Logf("hostagentd (fault %q):\n%s", fault, d.log.String())
		}
	})
	peertest.Eventually(t, 60*time.Second, "hostagentd ready", func() bool {
		return d.hasExited() || strings.Contains(d.log.String(), "hostagentd ready")
	})
	if d.hasExited() {
		t.Fatalf("hostagentd exited at start:\n%s", d.log.String())
	}
	var err error
	if d.api, err = apiclient.NewClient("unix:" + sock); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *crashDaemon) hasExited() bool {
	select {
	case <-d.exited:
		return true
	default:
		return false
	}
}

// stop ends the daemon with SIGTERM and waits for it.
func (d *crashDaemon) stop() {
	d.t.Helper()
	_ = d.cmd.Process.Signal(os.Interrupt)
	peertest.Eventually(d.t, 30*time.Second, "hostagentd stopped", d.hasExited)
}

// configure gives the daemon a contact and users, on the console.
func (d *crashDaemon) configure(contact string, users ...api.NewUser) {
	d.t.Helper()
	ctx := context.Background()
	if _, err := d.api.PatchSNMP(ctx, api.SNMPPatch{Syscontact: &contact}); err != nil {
		d.t.Fatalf("set syscontact: %v", err)
	}
	for _, u := range users {
		if err := d.api.AddUser(ctx, u); err != nil {
			d.t.Fatalf("add user %s: %v", u.Name, err)
		}
	}
}

// state is the daemon's own account: its contact and its users.
func (d *crashDaemon) state() (string, []string) {
	d.t.Helper()
	ctx := context.Background()
	s, err := d.api.SNMP(ctx)
	if err != nil {
		d.t.Fatal(err)
	}
	us, err := d.api.Users(ctx)
	if err != nil {
		d.t.Fatal(err)
	}
	var names []string
	for _, u := range us {
		names = append(names, u.Name+"/"+u.Role)
	}
	return s.Config.Syscontact, names
}

func (d *crashDaemon) audit() []audit.Entry {
	d.t.Helper()
	f, err := os.Open(filepath.Join(d.work, "state", "audit.log"))
	if err != nil {
		d.t.Fatal(err)
	}
	defer f.Close()
	var out []audit.Entry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e audit.Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			d.t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

// leftovers are the restore's own files that must be gone once the
// daemon has started: journal, staging folders, temp files.
func (d *crashDaemon) leftovers() []string {
	d.t.Helper()
	var out []string
	for _, dir := range []string{filepath.Join(d.work, "state"), filepath.Join(d.work, "etc")} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			d.t.Fatal(err)
		}
		for _, e := range entries {
			if n := e.Name(); strings.HasPrefix(n, ".restore") || strings.HasSuffix(n, ".tmp") {
				out = append(out, filepath.Join(dir, n))
			}
		}
	}
	return out
}

// TestRestoreKilledAtEachStep restores, on the console, a backup that
// changes the SNMP contact and the users, into a daemon that SIGKILLs
// itself at one step of the restore; started again, the daemon must run
// on the old state entirely (killed before the commit) or the new one
// entirely (after), with no journal, staging folder or temp file left,
// and its audit log must tell what happened.
func TestRestoreKilledAtEachStep(t *testing.T) {
	bin := t.TempDir()
	build := exec.Command("go", "build", "-tags", "faultinject", "-o", bin, "hostagent/cmd/hostagentd")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags faultinject: %v\n%s", err, out)
	}
	oldUsers := []api.NewUser{{Name: "alice", Password: "alice-old-passw0rd", Role: "Administrator"}, {Name: "bob", Password: "bob-passw0rd", Role: "ReadOnly"}}
	newUsers := []api.NewUser{{Name: "alice", Password: "alice-new-passw0rd", Role: "Administrator"}, {Name: "carol", Password: "carol-passw0rd", Role: "ReadOnly"}}
	oldState := []string{"alice/Administrator", "bob/ReadOnly"}
	newState := []string{"alice/Administrator", "carol/ReadOnly"}

	// The backup: the new state, from a daemon of its own.
	src := startCrashDaemon(t, bin, t.TempDir(), "")
	src.configure("new@example.com", newUsers...)
	backup, err := src.api.SaveBackup(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	src.stop()

	for _, step := range []struct {
		name      string
		committed bool
	}{
		{"staged", false},
		{"journal", true},
		{"applied:snmp.toml", true},
		{"applied:collectors.toml", true},
		{"applied:users.toml", true},
		{"cleanup", true},
	} {
		t.Run(step.name, func(t *testing.T) {
			work := t.TempDir()
			d := startCrashDaemon(t, bin, work, "restore:"+step.name)
			d.configure("old@example.com", oldUsers...)
			if contact, users := d.state(); contact != "old@example.com" || !slices.Equal(users, oldState) {
				t.Fatalf("old state: %s %q", contact, users)
			}
			// The same syslog.toml as in place: this daemon's own socket.
			b := backup
			b.Files = map[string]string{}
			for k, v := range backup.Files {
				b.Files[k] = v
			}
			mine, err := os.ReadFile(filepath.Join(work, "etc", "syslog.toml"))
			if err != nil {
				t.Fatal(err)
			}
			b.Files["config/syslog.toml"] = string(mine)
			if err := d.api.LoadBackup(context.Background(), b); err == nil {
				t.Fatalf("the restore answered although the daemon was to die at %s", step.name)
			}
			peertest.Eventually(t, 30*time.Second, "the daemon killed at "+step.name, d.hasExited)
			if !strings.Contains(d.cmd.ProcessState.String(), "killed") {
				t.Fatalf("hostagentd ended with %s, not killed at %s", d.cmd.ProcessState, step.name)
			}

			d = startCrashDaemon(t, bin, work, "")
			contact, users := d.state()
			wantContact, wantUsers := "old@example.com", oldState
			if step.committed {
				wantContact, wantUsers = "new@example.com", newState
			}
			if contact != wantContact || !slices.Equal(users, wantUsers) {
				t.Errorf("after a kill at %s: contact %q, users %q; want %q, %q (never a mix)", step.name, contact, users, wantContact, wantUsers)
			}
			if left := d.leftovers(); len(left) > 0 {
				t.Errorf("left behind: %q", left)
			}
			trail := d.audit()
			has := func(match func(audit.Entry) bool) bool { return slices.ContainsFunc(trail, match) }
			if !has(func(e audit.Entry) bool {
				return e.Action == "backup.load" && e.Result == "started" && strings.Contains(e.Detail, "config/snmp.toml") && strings.Contains(e.Detail, "state/users.toml")
			}) {
				t.Errorf("no backup.load started entry listing the files: %+v", trail)
			}
			if step.committed {
				if !has(func(e audit.Entry) bool {
					return e.Action == "backup.load" && e.Result == "ok" && strings.HasPrefix(e.Detail, "completed at start (interrupted restore)") && e.User == "root"
				}) {
					t.Errorf("no backup.load completed at start entry: %+v", trail)
				}
				for _, want := range []func(audit.Entry) bool{
					func(e audit.Entry) bool {
						return e.Setting == "snmp.toml:syscontact" && e.Old == "old@example.com" && e.New == "new@example.com"
					},
					func(e audit.Entry) bool {
						return strings.HasPrefix(e.Detail, "users.toml: user carol added (role ReadOnly)")
					},
					func(e audit.Entry) bool {
						return strings.HasPrefix(e.Detail, "users.toml: user bob removed (role ReadOnly)")
					},
					func(e audit.Entry) bool {
						return strings.HasPrefix(e.Detail, "users.toml: user alice password changed")
					},
				} {
					n := 0
					for _, e := range trail {
						if e.Action == "backup.load" && want(e) {
							n++
						}
					}
					if n != 1 {
						t.Errorf("a change of the restore audited %d times, want once: %+v", n, trail)
					}
				}
			} else if !has(func(e audit.Entry) bool {
				return e.Action == "backup.load" && e.Result == "rolled back" && strings.HasPrefix(e.Detail, "rolled back at start") && e.User == "root"
			}) {
				t.Errorf("no backup.load rolled back at start entry: %+v", trail)
			}
			if !strings.Contains(d.log.String(), "configuration restore") {
				t.Errorf("the start did not log the interrupted restore")
			}
		})
	}
}
