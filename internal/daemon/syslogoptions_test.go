package daemon_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"hostagent/internal/configstore"
	"hostagent/internal/daemon"
	"hostagent/manage/api"
	"hostagent/manage/tlsid"
	"hostagent/syslogd"
)

// TestSyslogLoghostOptionsOverTheAPI: [loghost_options] are set through
// PATCH /api/v1/syslog from the console (any path) and over HTTPS (paths
// in force only), the map given replacing the whole map, validated as a
// hand edit and audited. Over HTTPS a new ca_file is refused naming the
// setting, the value and what is allowed; a PATCH that also changes the
// loghosts and files changes nothing then, nor does one with an invalid
// option. A bus's password is read from a file: neither GET nor the audit
// shows it, and sending back the options GET gave keeps the file.
func TestSyslogLoghostOptionsOverTheAPI(t *testing.T) {
	dir, elsewhere := t.TempDir(), t.TempDir()
	logs := filepath.Join(dir, "log")
	r, c, consoleDo := syslogOps(t, dir, logs)
	file := filepath.Join(dir, "etc", daemon.SyslogFile)

	cert, err := os.ReadFile(filepath.Join(dir, "state", tlsid.CertName))
	if err != nil {
		t.Fatal(err)
	}
	ca, otherCA := filepath.Join(elsewhere, "ca.pem"), filepath.Join(elsewhere, "other-ca.pem")
	writeFile(t, ca, string(cert))
	writeFile(t, otherCA, string(cert))
	password := filepath.Join(elsewhere, "nats-password")
	writeFile(t, password, "TOP-SECRET-PASSWORD\n")

	// Nobody listens on port 1: the loghosts are stored, not reached.
	ssl, nats := "ssl://127.0.0.1:1", "nats://127.0.0.1:1/logs"
	loghosts := []string{ssl, nats}
	opts := map[string]syslogd.LoghostOptions{
		ssl:  {Format: "rfc3164", MaxMessage: 2048, RetryMax: configstore.Duration(5e9), CAFile: ca},
		nats: {Username: "hostagent", PasswordFile: password},
	}
	// The console (the local socket) may name any path.
	mustConsole(t, consoleDo, "PATCH", api.PathSyslog, api.SyslogPatch{Loghosts: &loghosts, Options: &opts})
	if got := r.daemon.SyslogState().Config.Options; !reflect.DeepEqual(got, opts) {
		t.Fatalf("options after the console's change: %+v", got)
	}
	if stored, _ := os.ReadFile(file); !strings.Contains(string(stored), ca) || !strings.Contains(string(stored), `format = "rfc3164"`) {
		t.Errorf("syslog.toml does not hold the options:\n%s", stored)
	}

	// GET over HTTPS names the password's file, never the password; the
	// options sent back as GET gave them, one changed, are accepted (the
	// paths are those in force) and keep the password file.
	code, body, _ := c.do("GET", api.PathSyslog, nil)
	var st api.SyslogState
	if code != http.StatusOK || json.Unmarshal([]byte(body), &st) != nil {
		t.Fatalf("GET syslog: %d %s", code, body)
	}
	if strings.Contains(body, "TOP-SECRET") {
		t.Errorf("GET shows the bus password: %s", body)
	}
	back := st.Config.Options
	o := back[ssl]
	o.MaxMessage = 4096
	back[ssl] = o
	code, body, _ = c.do("PATCH", api.PathSyslog, api.SyslogPatch{Options: &back})
	if code != http.StatusOK {
		t.Fatalf("options over HTTPS, paths in force: %d %s", code, body)
	}
	got := r.daemon.SyslogState().Config.Options
	if got[ssl].MaxMessage != 4096 || got[ssl].CAFile != ca || got[nats].PasswordFile != password {
		t.Errorf("options after the HTTPS change: %+v", got)
	}
	waitFor(t, "the change audited with its user", func() bool {
		code, body := consoleDo("GET", api.PathAudit+"?setting=loghost_options&user=ops&result=ok", nil)
		return code == http.StatusOK && strings.Contains(string(body), "4096")
	})

	// Over HTTPS, a ca_file not in force, with the loghosts and the files
	// changed in the same PATCH: refused naming the setting, the value and
	// what is allowed; nothing changes.
	before := r.daemon.SyslogState().Config
	stored, _ := os.ReadFile(file)
	moreHosts := append([]string{"tcp://127.0.0.1:1"}, loghosts...)
	files := []syslogd.FileInput{{Glob: filepath.Join(logs, "*.log")}}
	newCA := map[string]syslogd.LoghostOptions{ssl: {CAFile: otherCA}, nats: back[nats]}
	code, body, _ = c.do("PATCH", api.PathSyslog, api.SyslogPatch{Loghosts: &moreHosts, Files: &files, Options: &newCA})
	if code != http.StatusForbidden {
		t.Errorf("a new ca_file over HTTPS: %d %s, want 403", code, body)
	}
	for _, want := range []string{`loghost_options.\"` + ssl + `\".ca_file`, otherCA, "only from the console"} {
		if !strings.Contains(body, want) {
			t.Errorf("the refusal does not name %q: %s", want, body)
		}
	}
	// An invalid option with the loghosts and files: refused by the same
	// validation as a hand edit, naming the loghost and the option.
	bad := map[string]syslogd.LoghostOptions{ssl: {CAFile: ca, MaxMessage: 10}, nats: back[nats]}
	code, body, _ = c.do("PATCH", api.PathSyslog, api.SyslogPatch{Loghosts: &moreHosts, Files: &files, Options: &bad})
	if code != http.StatusBadRequest {
		t.Errorf("an invalid option: %d %s, want 400", code, body)
	}
	for _, want := range []string{ssl, "max_message 10", "480 to 65535"} {
		if !strings.Contains(body, want) {
			t.Errorf("the refusal does not name %q: %s", want, body)
		}
	}
	syslogUnchanged(t, r, before, file, stored)
	waitFor(t, "the refusals audited", func() bool {
		code, body := consoleDo("GET", api.PathAudit+"?action=syslog.update&result=invalid&user=ops", nil)
		return code == http.StatusOK && strings.Contains(string(body), "other-ca.pem") && strings.Contains(string(body), "max_message 10")
	})
	if code, body := consoleDo("GET", api.PathAudit+"?limit=1000", nil); code != http.StatusOK || strings.Contains(string(body), "TOP-SECRET") {
		t.Errorf("the audit trail: %d, shows the bus password: %v", code, strings.Contains(string(body), "TOP-SECRET"))
	}

	// The map given replaces the whole map: empty, every loghost takes its
	// scheme's defaults.
	code, body, _ = c.do("PATCH", api.PathSyslog, api.SyslogPatch{Options: &map[string]syslogd.LoghostOptions{}})
	if code != http.StatusOK || len(r.daemon.SyslogState().Config.Options) != 0 {
		t.Errorf("empty options: %d %s", code, body)
	}
}
