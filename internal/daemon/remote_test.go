package daemon_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"hostagent/internal/daemon"
	"hostagent/manage/api"
	"hostagent/manage/tlsid"
	"hostagent/manage/vicfg"
	snmpcmd "hostagent/manage/vicfg/snmp"
	usercmd "hostagent/manage/vicfg/user"
)

// httpsClient talks to the daemon's HTTPS API, trusting only its
// self-signed certificate.
type httpsClient struct {
	t     *testing.T
	base  string
	http  *http.Client
	token string
}

func (c *httpsClient) do(method, path string, in any) (int, string, http.Header) {
	c.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, body)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out), resp.Header
}

func (c *httpsClient) login(user, password string) (int, string) {
	c.t.Helper()
	c.token = ""
	code, body, _ := c.do("POST", api.PathSession, api.Login{User: user, Password: password})
	if code == http.StatusOK {
		var s api.SessionInfo
		_ = json.Unmarshal([]byte(body), &s)
		c.token = s.Token
	}
	return code, body
}

// TestRemoteManagementOverTLS: users and roles are made on the console;
// over real TLS on loopback, logins, privileges, lockdown and the audit
// trail behave as on ESXi.
func TestRemoteManagementOverTLS(t *testing.T) {
	dir := t.TempDir()
	var clockMu sync.Mutex
	now := time.Now()
	clock := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
	advance := func(d time.Duration) { clockMu.Lock(); now = now.Add(d); clockMu.Unlock() }
	r := start(t, dir, func(o *daemon.Options) { o.HTTPSListen, o.Clock = "127.0.0.1:0", clock })
	d, log := r.daemon, r.log

	// The console (local socket) makes the users.
	consoleDo := func(method, path string, in any) {
		t.Helper()
		c := &httpsClient{t: t, base: "http://console", http: &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "unix", filepath.Join(dir, "api.sock"))
			}}}}
		if code, body, _ := c.do(method, path, in); code != http.StatusOK {
			t.Fatalf("console %s %s: %d %s", method, path, code, body)
		}
	}
	consoleDo("POST", api.PathUsers, api.NewUser{Name: "alice", Password: "alice-passw0rd", Role: "Administrator"})
	consoleDo("POST", api.PathUsers, api.NewUser{Name: "bob", Password: "bob-passw0rd", Role: "ReadOnly"})
	consoleDo("POST", api.PathRoles, api.Role{Name: "SNMPAdmin", Privileges: []string{"Host.Config.SNMP", "System.Read"}})
	consoleDo("POST", api.PathUsers, api.NewUser{Name: "carol", Password: "carol-passw0rd", Role: "SNMPAdmin"})
	consoleDo("POST", api.PathUsers, api.NewUser{Name: "nina", Password: "nina-passw0rd", Role: "NoAccess"})

	// Trust exactly the daemon's generated certificate.
	id, err := tlsid.Load(filepath.Join(dir, "state"), "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(id.Leaf)
	c := &httpsClient{t: t, base: "https://" + d.HTTPSAddr(),
		http: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}}}}
	if !strings.Contains(log.String(), id.Fingerprint()) {
		t.Errorf("the log does not show the fingerprint %s", id.Fingerprint())
	}

	// An untrusted certificate is refused by a client that has not pinned it.
	untrusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}}}
	if _, err := untrusting.Get("https://" + d.HTTPSAddr() + api.PathIdentity); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate accepted: %v", err)
	}

	if code, body := c.login("alice", "wrong-password"); code != http.StatusUnauthorized || !strings.Contains(body, "bad credentials") {
		t.Errorf("wrong password: %d %s", code, body)
	}
	if code, body := c.login("mallory", "whatever-pass"); code != http.StatusUnauthorized || !strings.Contains(body, "bad credentials") {
		t.Errorf("unknown user: %d %s", code, body)
	}
	if code, _, _ := c.do("GET", api.PathSNMP, nil); code != http.StatusUnauthorized {
		t.Errorf("no session: %d", code)
	}
	if code, body := c.login("bob", "bob-passw0rd"); code != http.StatusOK {
		t.Fatalf("bob: %d %s", code, body)
	}
	if code, _, _ := c.do("GET", api.PathSNMP, nil); code != http.StatusOK {
		t.Errorf("ReadOnly reading: %d", code)
	}
	if code, body, h := c.do("GET", api.PathMetrics, nil); code != http.StatusOK || !strings.Contains(body, "# TYPE hostagent_snmp_filtered_total counter") ||
		!strings.HasPrefix(h.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Errorf("ReadOnly reading /metrics: %d %s", code, body)
	}
	if code, body, _ := c.do("GET", api.PathHealth, nil); code != http.StatusOK || !strings.Contains(body, "ok") {
		t.Errorf("/healthz: %d %s", code, body)
	}
	// Each command's privilege, named when it is missing.
	for _, tc := range []struct {
		method, path string
		body         any
		privilege    string
	}{
		{"PATCH", api.PathSNMP, map[string]any{"syscontact": "bob"}, "Host.Config.SNMP"},
		{"POST", api.PathSNMPTest, struct{}{}, "Host.Config.SNMP"},
		{"PATCH", api.PathSyslog, map[string]any{"loghosts": []string{}}, "Host.Config.Syslog"},
		{"POST", api.PathSyslogMark, api.SyslogMark{Message: "x"}, "Host.Config.Syslog"},
		{"POST", api.PathSyslogReload, struct{}{}, "Host.Config.Syslog"},
		{"GET", api.PathUsers, nil, "Host.Config.Users"},
		{"POST", api.PathUsers, api.NewUser{Name: "eve", Password: "eve-passw0rd", Role: "Administrator"}, "Host.Config.Users"},
		{"PUT", api.PathLockdown, api.Lockdown{Enabled: true}, "Host.Config.Users"},
		{"GET", api.PathBackup, nil, "Host.Config.Backup"},
		{"POST", api.PathBackupReset, struct{}{}, "Host.Config.Backup"},
	} {
		if code, body, _ := c.do(tc.method, tc.path, tc.body); code != http.StatusForbidden || !strings.Contains(body, "lacks privilege "+tc.privilege) {
			t.Errorf("ReadOnly %s %s: %d %s", tc.method, tc.path, code, body)
		}
	}
	if code, body := c.login("nina", "nina-passw0rd"); code != http.StatusOK {
		t.Fatalf("nina: %d %s", code, body)
	}
	if code, body, _ := c.do("GET", api.PathMetrics, nil); code != http.StatusForbidden || !strings.Contains(body, "lacks privilege System.Read") {
		t.Errorf("NoAccess reading /metrics: %d %s", code, body)
	}
	if code, body := c.login("carol", "carol-passw0rd"); code != http.StatusOK {
		t.Fatalf("carol: %d %s", code, body)
	}
	if code, body, _ := c.do("PATCH", api.PathSNMP, map[string]any{"syscontact": "noc@example.com"}); code != http.StatusOK {
		t.Errorf("SNMPAdmin changing SNMP: %d %s", code, body)
	}
	if code, body, _ := c.do("PATCH", api.PathSyslog, map[string]any{"loghosts": []string{"tcp://h:1514"}}); code != http.StatusForbidden || !strings.Contains(body, "Host.Config.Syslog") {
		t.Errorf("SNMPAdmin changing syslog: %d %s", code, body)
	}
	// A session unused for 30 minutes expires; one in use does not.
	advance(29 * time.Minute)
	if code, _, _ := c.do("GET", api.PathSNMP, nil); code != http.StatusOK {
		t.Errorf("after 29 idle minutes: %d", code)
	}
	advance(31 * time.Minute)
	if code, body, _ := c.do("GET", api.PathSNMP, nil); code != http.StatusUnauthorized || !strings.Contains(body, "expired") {
		t.Errorf("after 31 idle minutes: %d %s", code, body)
	}
	if code, body := c.login("carol", "carol-passw0rd"); code != http.StatusOK {
		t.Fatalf("carol again: %d %s", code, body)
	}
	if code, _, _ := c.do("DELETE", api.PathSession, nil); code != http.StatusOK {
		t.Errorf("logout: %d", code)
	}
	if code, _, _ := c.do("GET", api.PathSNMP, nil); code != http.StatusUnauthorized {
		t.Errorf("after logout: %d", code)
	}

	// Lockdown: only its exception users log in over the network, whatever
	// their role; the console alone weakens or leaves it. (lockdown_test.go
	// has the attacks.)
	consoleDo("PUT", api.PathLockdown, lockdownChange("normal", "carol"))
	if code, body := c.login("alice", "alice-passw0rd"); code != http.StatusUnauthorized || !strings.Contains(body, "lockdown") {
		t.Errorf("Administrator in lockdown: %d %s", code, body)
	}
	if code, _ := c.login("carol", "carol-passw0rd"); code != http.StatusOK {
		t.Errorf("exception user in lockdown: %d", code)
	}
	if code, body, _ := c.do("PUT", api.PathLockdown, api.Lockdown{Enabled: false}); code != http.StatusForbidden {
		t.Errorf("turning lockdown off over the network: %d %s", code, body)
	}
	consoleDo("PUT", api.PathLockdown, lockdownChange("disabled"))
	if code, _ := c.login("alice", "alice-passw0rd"); code != http.StatusOK {
		t.Errorf("Administrator after lockdown: %d", code)
	}
	if code, body, _ := c.do("PUT", api.PathLockdown, api.Lockdown{Enabled: true}); code != http.StatusOK {
		t.Errorf("Administrator turning lockdown on: %d %s", code, body)
	}
	// Entering lockdown ended alice's own session: she is no exception.
	if code, _, _ := c.do("GET", api.PathLockdown, nil); code != http.StatusUnauthorized {
		t.Errorf("alice's session after entering lockdown: %d, want 401", code)
	}
	consoleDo("PUT", api.PathLockdown, api.Lockdown{Enabled: false})
	if code, _ := c.login("alice", "alice-passw0rd"); code != http.StatusOK {
		t.Errorf("Administrator after lockdown: %d", code)
	}

	// Guessing is slowed down: the sixth failure in a row is refused early.
	var code int
	var header http.Header
	for range 6 {
		c.token = ""
		code, _, header = c.do("POST", api.PathSession, api.Login{User: "bob", Password: "not-bobs-password"})
	}
	if code != http.StatusTooManyRequests || header.Get("Retry-After") == "" {
		t.Errorf("brute force: %d, Retry-After %q", code, header.Get("Retry-After"))
	}

	// The audit trail has who did what, from where: each change is written
	// before the request that made it is answered; refused logins are
	// counted and written once per burst (flushed here).
	if err := d.FlushAudit(); err != nil {
		t.Fatal(err)
	}
	trail, _ := os.ReadFile(filepath.Join(dir, "state", "audit.log"))
	for _, want := range []string{`"user":"carol"`, `"action":"snmp.update"`, `"setting":"syscontact"`, `"new":"noc@example.com"`,
		`"result":"denied"`, `"detail":"wrong password`, `"detail":"unknown user`, `"action":"lockdown"`} {
		if !bytes.Contains(trail, []byte(want)) {
			t.Errorf("audit log lacks %s", want)
		}
	}
}

// TestCommandsOverHTTPS runs vicfg-user on the console and vicfg-snmp
// from the "network" against the real daemon, with the vCLI options.
func TestCommandsOverHTTPS(t *testing.T) {
	dir := t.TempDir()
	r := start(t, dir, func(o *daemon.Options) { o.HTTPSListen = "127.0.0.1:0" })
	d, sock := r.daemon, r.sock
	run := func(cmd *vicfg.Command, prog string, args ...string) (int, string) {
		var out bytes.Buffer
		code := cmd.Run(context.Background(), prog, args, vicfg.IO{Stdout: &out, Stderr: &out})
		return code, out.String()
	}
	if code, out := run(usercmd.Command, "vicfg-user", "--server", "unix:"+sock, "-o", "add", "-n", "carol", "-p", "carol-passw0rd", "-r", "ReadOnly"); code != 0 {
		t.Fatalf("vicfg-user add: %d\n%s", code, out)
	}
	id, err := tlsid.Load(filepath.Join(dir, "state"), "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(d.HTTPSAddr())
	remote := []string{"--server", host, "--portnumber", port, "--username", "carol", "--password", "carol-passw0rd"}

	// Not trusted yet: refused, showing the fingerprint to check.
	code, out := run(snmpcmd.Command, "vicfg-snmp", append(remote, "--show")...)
	if code != 1 || !strings.Contains(out, id.Fingerprint()) {
		t.Errorf("untrusted: %d\n%s", code, out)
	}
	remote = append(remote, "--thumbprint", id.Fingerprint())
	if code, out := run(snmpcmd.Command, "vicfg-snmp", append(remote, "--show")...); code != 0 || !strings.Contains(out, "Enabled  : 0") {
		t.Errorf("ReadOnly --show over HTTPS: %d\n%s", code, out)
	}
	if code, out := run(snmpcmd.Command, "vicfg-snmp", append(remote, "-C", "noc")...); code != 1 || !strings.Contains(out, "lacks privilege Host.Config.SNMP") {
		t.Errorf("ReadOnly change over HTTPS: %d\n%s", code, out)
	}
	// A session file spares the password next time.
	session := filepath.Join(dir, "session")
	if code, out := run(snmpcmd.Command, "vicfg-snmp", append(remote, "--savesessionfile", session, "--show")...); code != 0 {
		t.Fatalf("--savesessionfile: %d\n%s", code, out)
	}
	if st, err := os.Stat(session); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("session file: %v %v", st, err)
	}
	if code, out := run(snmpcmd.Command, "vicfg-snmp", "--server", host, "--portnumber", port, "--thumbprint", id.Fingerprint(),
		"--sessionfile", session, "--show"); code != 0 {
		t.Errorf("--sessionfile: %d\n%s", code, out)
	}
}
