package vicfg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/pflag"

	"hostagent/manage/api"
	"hostagent/manage/apiclient"
	"hostagent/manage/tlsid"
)

// daemon is an https stub: logins of alice/secret (and bob/hunter22) give
// tokens, GET users needs one, DELETE session ends it.
type daemon struct {
	mu      sync.Mutex
	logins  []string
	logouts int
	seen    []string // the tokens of GET users
	url     string
	fp      string
}

func startDaemon(t *testing.T) *daemon {
	t.Helper()
	d := &daemon{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+api.PathSession, func(w http.ResponseWriter, r *http.Request) {
		var l api.Login
		json.NewDecoder(r.Body).Decode(&l)
		d.mu.Lock()
		defer d.mu.Unlock()
		if !(l.User == "alice" && l.Password == "secret" || l.User == "bob" && l.Password == "hunter22") {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(api.Error{Error: "bad credentials"})
			return
		}
		d.logins = append(d.logins, l.User)
		json.NewEncoder(w).Encode(api.SessionInfo{Token: "token-of-" + l.User, User: l.User})
	})
	mux.HandleFunc("DELETE "+api.PathSession, func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.logouts++
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET "+api.PathUsers, func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.seen = append(d.seen, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		json.NewEncoder(w).Encode([]api.User{})
	})
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	d.url = srv.URL
	d.fp = tlsid.FingerprintOf(srv.Certificate())
	return d
}

// fdReader is a stdin with a file descriptor, for the terminal hooks.
type fdReader struct{ io.Reader }

func (fdReader) Fd() uintptr { return 0 }

// connect parses args as a command would and connects, with env as the
// environment; it returns the client (after one GET users) and stderr.
func connect(t *testing.T, env map[string]string, stdin io.Reader, args ...string) (*ConnectionFlags, *apiclient.Client, string, error) {
	t.Helper()
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	cf := AddConnectionFlags(fs)
	cf.Getenv = func(k string) string { return env[k] }
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	cf.Stderr = &errb
	c, err := cf.Connect(context.Background(), NewTerminal(stdin, &errb))
	if err == nil {
		if _, err = c.Users(context.Background()); err != nil {
			t.Fatalf("Users: %v", err)
		}
	}
	return cf, c, errb.String(), err
}

func TestConnect(t *testing.T) {
	d := startDaemon(t)
	tp := "--thumbprint=" + d.fp
	dir := t.TempDir()
	none := strings.NewReader("")

	// The environment alone.
	env := map[string]string{"VI_SERVER": d.url, "VI_USERNAME": "alice", "VI_PASSWORD": "secret", "VI_THUMBPRINT": d.fp}
	cf, c, _, err := connect(t, env, none)
	if err != nil {
		t.Fatal(err)
	}
	if d.logins[0] != "alice" || d.seen[0] != "token-of-alice" {
		t.Errorf("env: logins %v, tokens %v", d.logins, d.seen)
	}
	// Disconnect logs out the session nobody keeps, once.
	cf.Disconnect(context.Background(), c)
	cf.Disconnect(context.Background(), c)
	if d.logouts != 1 {
		t.Errorf("%d logouts", d.logouts)
	}

	// Flags win over the environment.
	if _, _, _, err := connect(t, env, none, "--username", "bob", "--password", "hunter22"); err != nil {
		t.Fatal(err)
	}
	if d.logins[1] != "bob" {
		t.Errorf("flags over env: logins %v", d.logins)
	}
	if _, _, _, err := connect(t, map[string]string{"VI_SERVER": "unix:/nonexistent.sock"}, none, "--server", d.url, tp, "--username", "bob", "--password", "hunter22"); err != nil {
		t.Errorf("--server over VI_SERVER: %v", err)
	}

	// --savesessionfile writes the token, private; the session is kept.
	session := filepath.Join(dir, "session")
	logouts := d.logouts
	cf, c, _, err = connect(t, nil, none, "--server", d.url, tp, "--username", "alice", "--password", "secret", "--savesessionfile", session)
	if err != nil {
		t.Fatal(err)
	}
	cf.Disconnect(context.Background(), c)
	if d.logouts != logouts {
		t.Error("a saved session was logged out")
	}
	if fi, err := os.Stat(session); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("session file: %v, %v", fi, err)
	}
	if b, _ := os.ReadFile(session); string(b) != "token-of-alice\n" {
		t.Errorf("session file holds %q", b)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".session.tmp-*")); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}

	// --sessionfile: no login, whatever the credentials say.
	nlogins := len(d.logins)
	cf, c, _, err = connect(t, nil, none, "--server", d.url, tp, "--sessionfile", session, "--username", "mallory", "--password", "nope")
	if err != nil {
		t.Fatal(err)
	}
	cf.Disconnect(context.Background(), c)
	if len(d.logins) != nlogins || d.seen[len(d.seen)-1] != "token-of-alice" || d.logouts != logouts {
		t.Errorf("--sessionfile: logins %v, tokens %v, %d logouts", d.logins, d.seen, d.logouts)
	}
	// VI_SESSIONFILE too, unless the command line asks for a login.
	if _, _, _, err = connect(t, map[string]string{"VI_SESSIONFILE": session}, none, "--server", d.url, tp); err != nil || len(d.logins) != nlogins {
		t.Errorf("VI_SESSIONFILE: %v, logins %v", err, d.logins)
	}
	if _, _, _, err = connect(t, map[string]string{"VI_SESSIONFILE": session}, none, "--server", d.url, tp, "--username", "bob", "--password", "hunter22"); err != nil || len(d.logins) != nlogins+1 {
		t.Errorf("VI_SESSIONFILE with --username: %v, logins %v", err, d.logins)
	}

	// No password and no terminal: an error, no login attempted.
	nlogins = len(d.logins)
	_, _, _, err = connect(t, nil, none, "--server", d.url, tp, "--username", "alice")
	if err == nil || !strings.Contains(err.Error(), "no password for alice: give --password-file FILE, --password or VI_PASSWORD") || len(d.logins) != nlogins {
		t.Errorf("no password: %v", err)
	}

	// On a terminal it is asked for, without echo.
	oldIsTerminal, oldReadPassword := isTerminal, readPassword
	t.Cleanup(func() { isTerminal, readPassword = oldIsTerminal, oldReadPassword })
	isTerminal = func(int) bool { return true }
	readPassword = func(int) ([]byte, error) { return []byte("secret"), nil }
	_, _, stderr, err := connect(t, nil, fdReader{none}, "--server", d.url, tp, "--username", "alice")
	if err != nil || stderr != "Enter password: \n" || d.logins[len(d.logins)-1] != "alice" {
		t.Errorf("prompt: %v, stderr %q", err, stderr)
	}

	// Errors.
	for _, tt := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"--server", d.url, tp}, "needs --username USER (or VI_USERNAME), or --sessionfile FILE"},
		{nil, []string{"--server", d.url, tp, "--username", "alice", "--password", "wrong"}, "cannot log in to " + d.url + " as alice: bad credentials"},
		{nil, []string{"--server", d.url, "--username", "alice", "--password", "secret"}, "is not trusted (SHA-256 fingerprint " + d.fp + ")"},
		{nil, []string{"--server", d.url, tp, "--sessionfile", filepath.Join(dir, "missing")}, "--sessionfile: open "},
		{nil, []string{"--server", d.url, tp, "--sessionfile", session, "--savesessionfile", session}, "cannot be given together"},
		{map[string]string{"VI_PORTNUMBER": "x"}, []string{"--server", "h"}, `VI_PORTNUMBER "x": not a port number`},
		{nil, []string{"--server", "h", "--protocol", "http"}, `--protocol "http": only https is supported`},
		{nil, []string{"--server", d.url, tp, "--username", "alice", "--password", "secret", "--savesessionfile", filepath.Join(dir, "no", "such", "dir")}, "--savesessionfile "},
	} {
		_, _, _, err := connect(t, tt.env, none, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v %v: %v, want %q", tt.env, tt.args, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%v: the password shows: %v", tt.args, err)
		}
	}
}

func TestConnectLocal(t *testing.T) {
	// Without --server, the default socket; credentials are not needed.
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	cf := AddConnectionFlags(fs)
	cf.Getenv = func(string) string { return "" }
	fs.Parse([]string{"--username", "alice"})
	c, err := cf.Connect(context.Background(), NewTerminal(strings.NewReader(""), io.Discard))
	if err != nil || c.Remote() || c.Server() != "unix:"+api.DefaultSocket {
		t.Errorf("local: %v, %v", c, err)
	}
	// A unix: server from the environment.
	cf.Getenv = func(k string) string { return map[string]string{"VI_SERVER": "unix:/x.sock"}[k] }
	if c, err := cf.Connect(context.Background(), noTerminal{}); err != nil || c.Server() != "unix:/x.sock" {
		t.Errorf("VI_SERVER unix: %v, %v", c, err)
	}
}

func TestSessionFile(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "s")
	os.WriteFile(f, []byte("old"), 0o644)
	if err := WriteSessionFile(f, "tok"); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(f); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
	if tok, err := ReadSessionFile(f); err != nil || tok != "tok" {
		t.Errorf("ReadSessionFile = %q, %v", tok, err)
	}
	os.WriteFile(f, []byte("\n"), 0o600)
	if _, err := ReadSessionFile(f); err == nil || !strings.Contains(err.Error(), "no session in it") {
		t.Errorf("empty: %v", err)
	}
	if _, err := NewTerminal(strings.NewReader("x"), io.Discard).ReadSecret("p: "); !errors.Is(err, ErrNoTerminal) {
		t.Errorf("ReadSecret without a terminal: %v", err)
	}
}

func TestUsages(t *testing.T) {
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.Bool("show", false, "show")
	cf := AddConnectionFlags(fs)
	own, conn := cf.OwnFlagUsages(fs), cf.FlagUsages()
	if !strings.Contains(own, "--show") || strings.Contains(own, "--server") {
		t.Errorf("own flags:\n%s", own)
	}
	for _, want := range []string{"--server unix:PATH|HOST", "--portnumber N", "--protocol PROTOCOL", "--username USER", "--password PASSWORD", "--password-file FILE", "VI_PASSWORDFILE", "seen by every local user in ps",
		"--sessionfile FILE", "--savesessionfile FILE", "--cacertsfile FILE", "--thumbprint FP", "VI_SERVER"} {
		if !strings.Contains(conn, want) {
			t.Errorf("connection flags lack %q:\n%s", want, conn)
		}
	}
}

// privateFile writes content in a new file of mode 0600.
func privateFile(t *testing.T, content string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestPasswordFile(t *testing.T) {
	d := startDaemon(t)
	tp := "--thumbprint=" + d.fp
	none := strings.NewReader("")
	good, wrong := privateFile(t, "secret\n"), privateFile(t, "nope\n")
	missing := filepath.Join(t.TempDir(), "missing")

	// The file, from the flag or the environment; flags win over the
	// environment whichever way each gives the password.
	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"flag", nil, []string{"--password-file", good}},
		{"flag=", nil, []string{"--password-file=" + good}},
		{"env", map[string]string{"VI_PASSWORDFILE": good}, nil},
		{"flag over VI_PASSWORD", map[string]string{"VI_PASSWORD": "nope"}, []string{"--password-file", good}},
		{"flag over VI_PASSWORDFILE", map[string]string{"VI_PASSWORDFILE": wrong}, []string{"--password-file", good}},
		{"--password over VI_PASSWORDFILE", map[string]string{"VI_PASSWORDFILE": missing}, []string{"--password", "secret"}},
	} {
		nlogins := len(d.logins)
		args := append([]string{"--server", d.url, tp, "--username", "alice"}, tt.args...)
		_, _, stderr, err := connect(t, tt.env, none, args...)
		if err != nil || len(d.logins) != nlogins+1 {
			t.Errorf("%s: %v, logins %v", tt.name, err, d.logins)
		}
		if strings.Contains(stderr, "warning") != slices.Contains(tt.args, "--password") {
			t.Errorf("%s: stderr %q", tt.name, stderr)
		}
	}

	// Read only when a login needs it: not over the local socket, not
	// with a session file.
	session := privateFile(t, "token-of-alice\n")
	if _, _, _, err := connect(t, nil, none, "--server", d.url, tp, "--sessionfile", session, "--password-file", missing); err != nil {
		t.Errorf("--sessionfile with --password-file: %v", err)
	}
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	cf := AddConnectionFlags(fs)
	cf.Getenv = func(string) string { return "" }
	fs.Parse([]string{"--server", "unix:/x.sock", "--password-file", missing})
	if _, err := cf.Connect(context.Background(), noTerminal{}); err != nil {
		t.Errorf("local with --password-file: %v", err)
	}

	// Refused, before any login.
	nlogins := len(d.logins)
	open := filepath.Join(t.TempDir(), "open")
	os.WriteFile(open, []byte("secret\n"), 0o600)
	os.Chmod(open, 0o644)
	for _, tt := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"--password", "secret", "--password-file", good}, "--password and --password-file cannot be given together: give the password one way"},
		{map[string]string{"VI_PASSWORD": "secret", "VI_PASSWORDFILE": good}, nil, "VI_PASSWORD and VI_PASSWORDFILE are both set: unset one, or give --password-file FILE"},
		{nil, []string{"--password-file", ""}, "--password-file: no file given"},
		{nil, []string{"--password-file", missing}, "--password-file: stat " + missing + ": no such file or directory"},
		{map[string]string{"VI_PASSWORDFILE": missing}, nil, "VI_PASSWORDFILE: stat " + missing},
		{nil, []string{"--password-file", open}, "--password-file " + open + ": mode 0644 lets users other than its owner read or change it"},
		{nil, []string{"--password-file", privateFile(t, "\n")}, ": the first line is empty"},
	} {
		_, _, _, err := connect(t, tt.env, none, append([]string{"--server", d.url, tp, "--username", "alice"}, tt.args...)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v %v: %v, want %q", tt.env, tt.args, err, tt.want)
		}
	}
	if len(d.logins) != nlogins {
		t.Errorf("logins %v after refusals", d.logins[nlogins:])
	}
	// A wrong password in the file: the daemon's refusal, no password shown.
	_, _, _, err := connect(t, nil, none, "--server", d.url, tp, "--username", "alice", "--password-file", wrong)
	if err == nil || !strings.Contains(err.Error(), "cannot log in to "+d.url+" as alice: bad credentials") || strings.Contains(err.Error(), "nope") {
		t.Errorf("wrong password in the file: %v", err)
	}
}

// TestPasswordWarning: --password on the command line is warned about,
// once, on stderr, local socket or not; VI_PASSWORD and --password-file
// are not.
func TestPasswordWarning(t *testing.T) {
	d := startDaemon(t)
	tp := "--thumbprint=" + d.fp
	none := strings.NewReader("")
	const warning = "x: warning: --password on the command line can be read by other local users while the command runs (ps, /proc/PID/cmdline); use --password-file FILE, VI_PASSWORD or the prompt instead\n"

	cf, c, stderr, err := connect(t, nil, none, "--server", d.url, tp, "--username", "alice", "--password", "secret")
	if err != nil || stderr != warning {
		t.Errorf("--password: %v, stderr %q", err, stderr)
	}
	cf.Disconnect(context.Background(), c)
	var again bytes.Buffer
	cf.Stderr = &again
	if _, err := cf.Connect(context.Background(), noTerminal{}); err != nil || again.Len() != 0 {
		t.Errorf("second Connect: %v, warned again %q", err, again.String())
	}
	// Even where it is not used, it was seen.
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	cf = AddConnectionFlags(fs)
	cf.Getenv = func(string) string { return "" }
	fs.Parse([]string{"--server", "unix:/x.sock", "--password", "secret"})
	var local bytes.Buffer
	cf.Stderr = &local
	if _, err := cf.Connect(context.Background(), noTerminal{}); err != nil || local.String() != warning {
		t.Errorf("local --password: %v, stderr %q", err, local.String())
	}
	// Even when the login fails.
	_, _, stderr, _ = connect(t, nil, none, "--server", d.url, tp, "--username", "alice", "--password", "wrong")
	if stderr != warning {
		t.Errorf("failed login: stderr %q", stderr)
	}
	for _, tt := range []struct {
		env  map[string]string
		args []string
	}{
		{map[string]string{"VI_PASSWORD": "secret"}, nil},
		{nil, []string{"--password-file", privateFile(t, "secret\n")}},
	} {
		_, _, stderr, err := connect(t, tt.env, none, append([]string{"--server", d.url, tp, "--username", "alice"}, tt.args...)...)
		if err != nil || stderr != "" {
			t.Errorf("%v %v: %v, stderr %q", tt.env, tt.args, err, stderr)
		}
	}
}
