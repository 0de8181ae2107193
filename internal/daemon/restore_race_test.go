package daemon_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hostagent/internal/daemon"
	"hostagent/internal/peertest"
	"hostagent/manage/api"
)

// TestRestoreNotUndoneByAUserChange: a restore is how an operator removes
// a compromised account. A user change landing between the restore's
// files and its reload wrote the users in memory back over the restored
// users.toml, and the account stayed, behind a 200. Here the account
// itself adds a user at that very moment: the restore's hook starts the
// request and waits up to 3 s for users.toml to hold it. With changes
// serialized behind the restore, that never happens while the restore
// runs (the wait ends with the deadline); without, it did at once.
func TestRestoreNotUndoneByAUserChange(t *testing.T) {
	e := startPrivileges(t)
	e.consoleOK("DELETE", api.PathUsers+"/ursula", nil)
	var b api.Backup
	if err := json.Unmarshal(e.consoleOK("GET", api.PathBackup, nil), &b); err != nil {
		t.Fatal(err)
	}
	e.consoleOK("POST", api.PathUsers, api.NewUser{Name: "ursula", Password: "ursula-passw0rd", Role: "UsersOnly"})
	u := e.as("ursula", "ursula-passw0rd")
	usersFile := filepath.Join(e.r.dir, "state", "users.toml")
	answered := make(chan int, 1)
	var landed bool
	defer daemon.SetRestoreHook(func(step string) {
		if step != "applied:users.toml" {
			return
		}
		go func() {
			code, _, _ := u.do("POST", api.PathUsers, api.NewUser{Name: "mole", Password: "mole-passw0rd", Role: "ReadOnly"})
			answered <- code
		}()
		landed = peertest.Until(3*time.Second, func() bool {
			data, _ := os.ReadFile(usersFile)
			return strings.Contains(string(data), "mole")
		})
	})()
	if code, out := call(t, e.console, "PUT", api.PathBackup, b); code != http.StatusOK {
		t.Fatalf("restore: %d %s", code, out)
	}
	if landed {
		t.Error("a user change landed in the middle of the restore")
	}
	// After the restore, ursula is gone: her request, served after it,
	// is refused (her session ended with her).
	if code := <-answered; code == http.StatusCreated || code == http.StatusOK {
		t.Errorf("ursula's request after the restore: %d", code)
	}
	if users := e.users(); users["ursula"] != "" || users["mole"] != "" {
		t.Errorf("users after the restore: %v", users)
	}
}

// TestPendingRestoreRefusesChanges: a restore that fails once committed
// leaves its journal for the next start. Changes made meanwhile (a
// password rotated because it leaked) were undone by that start, and the
// file watcher ran the restore's snmp.toml with the old users. Now every
// change is refused until the start completes the restore.
func TestPendingRestoreRefusesChanges(t *testing.T) {
	e := startPrivileges(t)
	var b api.Backup
	if err := json.Unmarshal(e.consoleOK("GET", api.PathBackup, nil), &b); err != nil {
		t.Fatal(err)
	}
	b.Files["config/snmp.toml"] = "syscontact = \"restored\"\n"
	e.consoleOK("PATCH", api.PathUsers+"/alice", api.UserPatch{Password: new("alice-newer-passw0rd")})
	// syslog.toml a non-empty directory: putting it in place fails after
	// the commit.
	syslogToml := filepath.Join(e.r.dir, "etc", "syslog.toml")
	if err := os.Remove(syslogToml); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(syslogToml, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if code, out := call(t, e.console, "PUT", api.PathBackup, b); code != http.StatusInternalServerError || !strings.Contains(string(out), "committed but not yet complete") {
		t.Fatalf("restore with a file that cannot be replaced: %d %s", code, out)
	}
	for _, change := range []struct {
		method, path string
		body         any
	}{
		{"PATCH", api.PathUsers + "/alice", api.UserPatch{Password: new("alice-rotated-passw0rd")}},
		{"PATCH", api.PathSNMP, api.SNMPPatch{Syscontact: new("noc")}},
		{"PUT", api.PathLockdown, lockdownChange("normal")},
		{"PUT", api.PathBackup, b},
		{"POST", api.PathBackupReset, nil},
	} {
		if code, out := call(t, e.console, change.method, change.path, change.body); code != http.StatusConflict || !strings.Contains(string(out), "an interrupted restore is pending") {
			t.Errorf("%s %s while a restore is pending: %d %s", change.method, change.path, code, out)
		}
	}
	// The cause fixed, the next start completes the restore: the backup's
	// users (alice's older password) and its snmp.toml, together.
	if err := os.RemoveAll(syslogToml); err != nil {
		t.Fatal(err)
	}
	if err := e.r.stop(); err != nil {
		t.Fatal(err)
	}
	e.r = start(t, e.r.dir, func(o *daemon.Options) { o.HTTPSListen = "127.0.0.1:0" })
	if !e.canLogin("alice", "alice-passw0rd") || e.canLogin("alice", "alice-newer-passw0rd") {
		t.Error("after the start, alice's password is not the backup's")
	}
	if st := e.r.state(t); st.Config.Syscontact != "restored" {
		t.Errorf("after the start, syscontact %q", st.Config.Syscontact)
	}
}
