package daemon_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"hostagent/internal/daemon"
	"hostagent/internal/peertest"
	"hostagent/manage/api"
	"hostagent/syslogd"
)

// TestLoghostLag: with the collector (a real rsyslogd) killed, the lines
// written to a followed file pile up: the loghost's lag_bytes grows and
// oldest_unsent is set; once the collector is back and has confirmed them
// all, the lag is 0 and oldest_unsent is omitted from the JSON.
func TestLoghostLag(t *testing.T) {
	peertest.RequireCommand(t, "rsyslogd", "rsyslog")
	r := peertest.StartRsyslogd(t, peertest.RsyslogdOptions{TCP: true})
	dir, logs := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "etc", daemon.SyslogFile), fmt.Sprintf(
		"socket = %q\n[[files]]\nglob = %q\n", filepath.Join(dir, "syslog.sock"), filepath.Join(logs, "*.log")))
	d := start(t, dir)
	console := consoleClient(d.sock)
	loghost := "tcp://" + r.TCPAddr()
	if code, body := call(t, console, "PATCH", api.PathSyslog, api.SyslogPatch{Loghosts: &[]string{loghost}}); code != http.StatusOK {
		t.Fatalf("set loghost: %d %s", code, body)
	}
	// state is the loghost's row as the dashboard reads it, with the raw
	// JSON to tell an omitted oldest_unsent from a zero one.
	state := func() (api.LoghostStatus, map[string]json.RawMessage) {
		t.Helper()
		code, body := call(t, console, "GET", api.PathSyslog, nil)
		var st api.SyslogState
		var raw struct {
			Loghosts []map[string]json.RawMessage `json:"loghosts"`
		}
		if code != http.StatusOK || json.Unmarshal(body, &st) != nil || json.Unmarshal(body, &raw) != nil || len(st.Loghosts) != 1 {
			t.Fatalf("GET syslog: %d %s", code, body)
		}
		return st.Loghosts[0], raw.Loghosts[0]
	}
	caughtUp := func() bool {
		lh, raw := state()
		_, hasOldest := raw["oldest_unsent"]
		_, hasLag := raw["lag_bytes"]
		return lh.LagBytes == 0 && hasLag && !hasOldest && lh.Unconfirmed == 0
	}
	appendLog := func(from, to int) {
		f, err := os.OpenFile(filepath.Join(logs, "hostd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for i := from; i < to; i++ {
			fmt.Fprintf(f, "hostd line %d\n", i)
		}
	}

	appendLog(0, 20)
	r.WaitMessages(t, 20, 30*time.Second)
	peertest.Eventually(t, 30*time.Second, "the first lines confirmed (lag 0, oldest_unsent omitted)", caughtUp)

	r.Stop(t)
	appendLog(20, 60)
	var first api.LoghostStatus
	peertest.Eventually(t, 30*time.Second, "lag and oldest_unsent while the collector is down", func() bool {
		first, _ = state()
		return first.LagBytes > 0 && !first.OldestUnsent.IsZero()
	})
	if age := time.Since(first.OldestUnsent); age < 0 || age > time.Minute {
		t.Errorf("oldest_unsent %v is not a moment ago", first.OldestUnsent)
	}
	appendLog(60, 100)
	peertest.Eventually(t, 30*time.Second, "the lag growing with the file", func() bool {
		lh, _ := state()
		return lh.LagBytes > first.LagBytes && !lh.OldestUnsent.After(first.OldestUnsent)
	})

	r.Start(t)
	r.WaitMessages(t, 100, 60*time.Second)
	peertest.Eventually(t, 60*time.Second, "lag 0 and oldest_unsent omitted once the collector confirmed", caughtUp)
}

// TestSyslogFilesOverTheAPI: [[files]] are set through PATCH /api/v1/syslog
// from the console (any path) and over HTTPS (globs within --log-root),
// audited like the loghosts. A glob outside the log roots is refused over
// HTTPS naming the setting, the value and the roots; a PATCH that also
// changes the loghosts changes nothing then, and neither does one whose
// files are invalid.
func TestSyslogFilesOverTheAPI(t *testing.T) {
	dir, elsewhere := t.TempDir(), t.TempDir()
	logs := filepath.Join(dir, "log")
	r, c, consoleDo := syslogOps(t, dir, logs)
	file := filepath.Join(dir, "etc", daemon.SyslogFile)

	// The console (the local socket) may name any path.
	outside := []syslogd.FileInput{{Glob: filepath.Join(elsewhere, "*.log"), Priority: "local2.warning", AppName: "app"}}
	mustConsole(t, consoleDo, "PATCH", api.PathSyslog, api.SyslogPatch{Files: &outside})
	if got := r.daemon.SyslogState().Config.Files; !reflect.DeepEqual(got, outside) {
		t.Fatalf("files after the console's change: %+v", got)
	}

	// Over HTTPS, within the log root: the whole list is replaced.
	inside := []syslogd.FileInput{
		{Glob: filepath.Join(logs, "vmware", "*.log"), Priority: "local1.notice"},
		{Glob: filepath.Join(logs, "auth.log"), AppName: "auth"},
	}
	code, body, _ := c.do("PATCH", api.PathSyslog, api.SyslogPatch{Files: &inside})
	var st api.SyslogState
	if code != http.StatusOK || json.Unmarshal([]byte(body), &st) != nil || !reflect.DeepEqual(st.Config.Files, inside) {
		t.Fatalf("files over HTTPS: %d %s", code, body)
	}
	stored, _ := os.ReadFile(file)
	if !strings.Contains(string(stored), filepath.Join(logs, "auth.log")) || strings.Contains(string(stored), elsewhere) {
		t.Errorf("syslog.toml does not hold the new list:\n%s", stored)
	}
	waitFor(t, "the change audited with its user", func() bool {
		code, body := consoleDo("GET", api.PathAudit+"?setting=files&user=ops", nil)
		return code == http.StatusOK && strings.Contains(string(body), `"result":"ok"`) && strings.Contains(string(body), "auth.log")
	})

	// Over HTTPS, a glob outside the log roots, with a loghost change in
	// the same PATCH: refused, naming the setting, the value and the
	// roots; neither change is made.
	before := r.daemon.SyslogState().Config
	bad := append([]syslogd.FileInput{}, inside...)
	bad = append(bad, syslogd.FileInput{Glob: filepath.Join(elsewhere, "*")})
	code, body, _ = c.do("PATCH", api.PathSyslog, api.SyslogPatch{Loghosts: &[]string{"tcp://127.0.0.1:1514"}, Files: &bad})
	if code != http.StatusForbidden {
		t.Errorf("a glob outside the log roots over HTTPS: %d %s, want 403", code, body)
	}
	for _, want := range []string{"files[2].glob", filepath.Join(elsewhere, "*"), "log roots (" + logs} {
		if !strings.Contains(body, want) {
			t.Errorf("the refusal does not name %q: %s", want, body)
		}
	}
	// An invalid list within the log root (a bad pattern, a bad priority
	// and app_name) with a loghost: refused by the same validation as a
	// hand edit, naming each entry.
	invalid := []syslogd.FileInput{{Glob: filepath.Join(logs, "x[.log")}, {Glob: filepath.Join(logs, "x.log"), Priority: "local9.loud", AppName: "two words"}}
	code, body, _ = c.do("PATCH", api.PathSyslog, api.SyslogPatch{Loghosts: &[]string{"tcp://127.0.0.1:1514"}, Files: &invalid})
	if code != http.StatusBadRequest {
		t.Errorf("invalid files: %d %s, want 400", code, body)
	}
	for _, want := range []string{"files[0].glob", "x[.log", "files[1].priority", "local9.loud", "files[1].app_name"} {
		if !strings.Contains(body, want) {
			t.Errorf("the refusal does not name %q: %s", want, body)
		}
	}
	syslogUnchanged(t, r, before, file, stored)
	waitFor(t, "the refusals audited", func() bool {
		code, body := consoleDo("GET", api.PathAudit+"?action=syslog.update&result=invalid&user=ops", nil)
		return code == http.StatusOK && strings.Contains(string(body), "files[2].glob") && strings.Contains(string(body), "local9.loud")
	})

	// An empty list is a list: no file followed.
	code, body, _ = c.do("PATCH", api.PathSyslog, api.SyslogPatch{Files: &[]syslogd.FileInput{}})
	if code != http.StatusOK || len(r.daemon.SyslogState().Config.Files) != 0 {
		t.Errorf("empty files: %d %s", code, body)
	}
}

// syslogUnchanged fails t unless a refused change left both the running
// syslog configuration (before) and syslog.toml (stored, at file) as they
// were: nothing half-applied.
func syslogUnchanged(t *testing.T, r running, before syslogd.Config, file string, stored []byte) {
	t.Helper()
	if after := r.daemon.SyslogState().Config; !reflect.DeepEqual(after, before) {
		t.Errorf("a refused PATCH changed the configuration:\n%+v\nwas\n%+v", after, before)
	}
	if after, _ := os.ReadFile(file); string(after) != string(stored) {
		t.Errorf("a refused PATCH rewrote syslog.toml:\n%s", after)
	}
}

// syslogOps starts a daemon with HTTPS whose log root is logs, and logs
// in "ops", a user whose role holds Host.Config.Syslog and System.Read
// only; it returns the daemon, ops' client and a console doer.
func syslogOps(t *testing.T, dir, logs string) (running, *httpsClient, func(method, path string, in any) (int, []byte)) {
	t.Helper()
	r, login, consoleDo := remoteSetup(t, dir, func(o *daemon.Options) { o.LogRoots = []string{logs} })
	mustConsole(t, consoleDo, "POST", api.PathRoles, api.Role{Name: "SyslogAdmin", Privileges: []string{"Host.Config.Syslog", "System.Read"}})
	mustConsole(t, consoleDo, "POST", api.PathUsers, api.NewUser{Name: "ops", Password: "ops-passw0rd-long", Role: "SyslogAdmin"})
	return r, login("ops", "ops-passw0rd-long"), consoleDo
}
