package daemon_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"hostagent/internal/peertest"
	"hostagent/manage/api"
	"hostagent/manage/vicfg"
	cfgbackupcmd "hostagent/manage/vicfg/cfgbackup"
)

// console is an HTTP client of a daemon's local socket.
func consoleClient(sock string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
}

func call(t *testing.T, c *http.Client, method, path string, in any) (int, []byte) {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://console"+path, body)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// TestBackupRestoresOntoAnotherDaemon: a backup of daemon A restores onto
// daemon B (its own state dir); then both send the same test trap. A
// corrupt or foreign backup is refused and changes nothing.
func TestBackupRestoresOntoAnotherDaemon(t *testing.T) {
	peertest.RequireCommand(t, "snmptrapd", "snmptrapd")
	trapd := peertest.StartSnmptrapd(t, peertest.SnmptrapdOptions{Communities: []string{"ops"}})
	a, b := start(t, t.TempDir()), start(t, t.TempDir())
	ca, cb := consoleClient(a.sock), consoleClient(b.sock)

	target := fmt.Sprintf("127.0.0.1@%d/ops", trapd.Port())
	if code, out, errOut := a.cli(t, "-c", "ops", "-t", target, "-C", "noc@example.com", "-E"); code != 0 {
		t.Fatalf("configure A: %s%s", out, errOut)
	}
	if code, out := call(t, ca, "POST", api.PathUsers, api.NewUser{Name: "alice", Password: "alice-passw0rd", Role: "Administrator"}); code != 200 {
		t.Fatalf("add user on A: %d %s", code, out)
	}
	trapd.WaitTraps(t, 1, 10*time.Second) // A's coldStart

	code, raw := call(t, ca, "GET", api.PathBackup, nil)
	if code != 200 {
		t.Fatalf("backup A: %d %s", code, raw)
	}
	var backup api.Backup
	if err := json.Unmarshal(raw, &backup); err != nil {
		t.Fatal(err)
	}
	if backup.Format != api.BackupFormat || backup.Files["config/snmp.toml"] == "" || backup.Files["state/users.toml"] == "" {
		t.Fatalf("backup holds %v", keys(backup.Files))
	}

	// Refused: nothing changes on B.
	before := b.state(t).Config
	for name, bad := range map[string]api.Backup{
		"foreign": {Format: "something-else", Version: 1, Files: backup.Files},
		"newer":   {Format: api.BackupFormat, Version: api.BackupVersion + 1, Files: backup.Files},
		"unknown": {Format: api.BackupFormat, Version: 1, Files: map[string]string{"config/evil.toml": "x = 1"}},
		"corrupt": {Format: api.BackupFormat, Version: 1, Files: map[string]string{"config/snmp.toml": "enabled = tru"}},
		"invalid": {Format: api.BackupFormat, Version: 1, Files: map[string]string{"config/snmp.toml": "port = 0"}},
	} {
		if code, out := call(t, cb, "PUT", api.PathBackup, bad); code != 400 {
			t.Errorf("%s backup: %d %s", name, code, out)
		}
	}
	if after := b.state(t).Config; fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("a refused backup changed B: %+v", after)
	}

	if code, out := call(t, cb, "PUT", api.PathBackup, backup); code != 200 {
		t.Fatalf("restore onto B: %d %s", code, out)
	}
	if cfg := b.state(t).Config; !cfg.Enabled || cfg.Syscontact != "noc@example.com" || len(cfg.Targets) != 1 {
		t.Errorf("B after the restore: %+v", cfg)
	}
	if code, out := call(t, cb, "GET", api.PathUsers, nil); code != 200 || !strings.Contains(string(out), `"alice"`) {
		t.Errorf("B's users after the restore: %d %s", code, out)
	}
	trapd.WaitTraps(t, 2, 10*time.Second) // B's coldStart: it was off
	for _, d := range []running{a, b} {
		if code, out, errOut := d.cli(t, "--test"); code != 0 {
			t.Errorf("--test: %s%s", out, errOut)
		}
	}
	traps := trapd.WaitTraps(t, 4, 10*time.Second)
	for _, tr := range traps[2:4] {
		if tr.TrapOID != "SNMPv2-MIB::warmStart" || tr.Community != "ops" {
			t.Errorf("test trap %s from %s", tr.TrapOID, tr.Community)
		}
	}

	// The same through vicfg-cfgbackup: saved from A, loaded onto B.
	file := filepath.Join(t.TempDir(), "backup.json")
	var out bytes.Buffer
	if code := cfgbackupcmd.Command.Run(context.Background(), "vicfg-cfgbackup", []string{"--server", "unix:" + a.sock, "-s", file}, vicfg.IO{Stdout: &out, Stderr: &out}); code != 0 {
		t.Fatalf("vicfg-cfgbackup -s: %s", out.String())
	}
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("backup file: %v %v", st, err)
	}
	if code := cfgbackupcmd.Command.Run(context.Background(), "vicfg-cfgbackup", []string{"--server", "unix:" + b.sock, "-l", file}, vicfg.IO{Stdout: &out, Stderr: &out}); code != 0 {
		t.Fatalf("vicfg-cfgbackup -l: %s", out.String())
	}

	// Factory defaults: the agent off, no user.
	if code, out := call(t, cb, "POST", api.PathBackupReset, nil); code != 200 {
		t.Fatalf("reset: %d %s", code, out)
	}
	if cfg := b.state(t).Config; cfg.Enabled || len(cfg.Targets) != 0 {
		t.Errorf("B after the reset: %+v", cfg)
	}
	if _, err := os.Stat(filepath.Join(b.dir, "state", "users.toml")); !os.IsNotExist(err) {
		t.Errorf("users survived the reset: %v", err)
	}
	// B's factory defaults are the ones it was given, not the host's.
	if code, out := call(t, cb, "GET", api.PathSyslog, nil); code != 200 || !strings.Contains(string(out), strconv.Quote(filepath.Join(b.dir, "syslog.sock"))) {
		t.Errorf("syslog after the reset: %d %s", code, out)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestRestoreKeepsAnAdministrator is the lock-out attack through restore
// and reset, over real TLS: a holder of every privilege (under another
// role name) restores a backup whose users all lack some privilege, and
// asks for a factory reset (no user at all). Both are refused with 409
// naming the console recovery, and nothing changes; from the console both
// are allowed, and the audit log tells, from the files, what changed.
func TestRestoreKeepsAnAdministrator(t *testing.T) {
	e := startPrivileges(t)
	var full api.Backup
	if err := json.Unmarshal(e.consoleOK("GET", api.PathBackup, nil), &full); err != nil {
		t.Fatal(err)
	}
	nobody := api.Backup{Format: api.BackupFormat, Version: api.BackupVersion, Files: map[string]string{}}
	for k, v := range full.Files {
		nobody.Files[k] = v
	}
	users := nobody.Files["state/users.toml"]
	for _, role := range []string{"Administrator", "AllCopy"} {
		users = strings.ReplaceAll(users, `role = "`+role+`"`, `role = "ReadOnly"`)
	}
	nobody.Files["state/users.toml"] = users
	before := e.stateFile("users.toml")

	f := e.as("frank", "frank-passw0rd")
	code, body, _ := f.do("PUT", api.PathBackup, nobody)
	if code != http.StatusConflict || !strings.Contains(body, "leaves no user with every privilege") || !strings.Contains(body, "vicfg-cfgbackup -l") {
		t.Errorf("restoring no Administrator over the network: %d %s", code, body)
	}
	code, body, _ = f.do("POST", api.PathBackupReset, struct{}{})
	if code != http.StatusConflict || !strings.Contains(body, "vicfg-cfgbackup -r on the host") || !strings.Contains(body, "vicfg-user -o add -r Administrator") {
		t.Errorf("factory reset over the network: %d %s", code, body)
	}
	if e.stateFile("users.toml") != before {
		t.Error("a refused restore or reset changed the users")
	}

	// The console may: it is how the host is recovered.
	e.consoleOK("PUT", api.PathBackup, nobody)
	if got := e.users(); got["alice"] != "ReadOnly" || got["frank"] != "ReadOnly" {
		t.Errorf("users after the console's restore: %v", got)
	}
	e.consoleOK("POST", api.PathBackupReset, nil)
	if e.stateFile("users.toml") != "" {
		t.Error("users survived the console's factory reset")
	}
	trail := e.stateFile("audit.log")
	for _, want := range []string{
		`"user":"frank","source":"127.0.0.1:`,
		`"action":"backup.load","result":"denied","detail":"from  (): backup: the restored users.toml leaves no user`,
		`"action":"backup.reset","result":"denied","detail":"a factory reset removes every user`,
		`"action":"backup.load","result":"started","detail":"changing config/snmp.toml, config/collectors.toml, config/syslog.toml, state/users.toml (from`,
		`"detail":"users.toml: user alice role Administrator -\u003e ReadOnly"`,
		`"detail":"users.toml: user frank role AllCopy -\u003e ReadOnly"`,
		// The configuration files are the defaults already: only the
		// users change.
		`"action":"backup.reset","result":"started","detail":"changing state/users.toml (removed)"`,
		`"action":"backup.reset","result":"ok","detail":"users.toml: user alice removed (role ReadOnly)"`,
	} {
		if !strings.Contains(trail, want) {
			t.Errorf("audit log lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("audit log:\n%s", trail)
	}
	entries, err := os.ReadDir(filepath.Join(e.r.dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range entries {
		if strings.HasPrefix(d.Name(), ".restore") {
			t.Errorf("left in the state dir: %s", d.Name())
		}
	}
}
