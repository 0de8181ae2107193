// Package vicfgtest is what the tests of the vicfg commands share: an API
// handler served on a unix socket as the daemon serves its console, or
// over https behind a login, a terminal that answers prompts, and a way to
// run a command and compare what it printed.
package vicfgtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"hostagent/manage/api"
	"hostagent/manage/tlsid"
	"hostagent/manage/vicfg"
)

// Serve serves h on a new unix socket until the test ends and returns the
// --server value that reaches it.
func Serve(t testing.TB, h http.Handler) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "api.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return "unix:" + sock
}

// Missing is a --server value where no daemon listens.
func Missing(t testing.TB) string {
	return "unix:" + filepath.Join(t.TempDir(), "missing.sock")
}

// CheckOutput compares what a command printed with what a test case
// expects: the exit code, stdout exactly, and stderr holding each of
// wantStderr (or nothing when wantStderr is empty).
func CheckOutput(t testing.TB, code int, stdout, stderr string, wantCode int, wantStdout string, wantStderr []string) {
	t.Helper()
	if code != wantCode {
		t.Errorf("exit code %d, want %d; stderr:\n%s", code, wantCode, stderr)
	}
	if stdout != wantStdout {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, wantStdout)
	}
	if len(wantStderr) == 0 && stderr != "" {
		t.Errorf("stderr: %s", stderr)
	}
	for _, s := range wantStderr {
		if !strings.Contains(stderr, s) {
			t.Errorf("stderr %q lacks %q", stderr, s)
		}
	}
}

// Run runs cmd as prog with args, its prompts answered by t (nil: no
// terminal), and returns the exit code and what it printed.
func Run(ctx context.Context, cmd *vicfg.Command, prog string, t vicfg.Terminal, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = cmd.Run(ctx, prog, args, vicfg.IO{Stdout: &out, Stderr: &errb, Terminal: t})
	return code, out.String(), errb.String()
}

// Terminal answers a command's prompts in a test: each password prompt
// with the next of Secrets, each confirmation with the next of Lines (end
// of input once they are used up). It keeps the prompts it was given.
type Terminal struct {
	Secrets, Lines []string

	mu      sync.Mutex
	prompts []string
}

// ReadSecret answers with the next secret.
func (t *Terminal) ReadSecret(prompt string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.prompts = append(t.prompts, prompt)
	if len(t.Secrets) == 0 {
		return "", io.EOF
	}
	s := t.Secrets[0]
	t.Secrets = t.Secrets[1:]
	return s, nil
}

// ReadLine answers with the next line.
func (t *Terminal) ReadLine(context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.Lines) == 0 {
		return "", io.EOF
	}
	l := t.Lines[0]
	t.Lines = t.Lines[1:]
	return l, nil
}

// Prompts are the password prompts asked so far.
func (t *Terminal) Prompts() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.prompts)
}

// Remote is a daemon served over https, behind a login.
type Remote struct {
	Server     string // the --server value that reaches it
	Thumbprint string // the --thumbprint value that trusts it

	mu     sync.Mutex
	logins []string
}

// Logins are the users that logged in, in order.
func (r *Remote) Logins() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.logins)
}

// ServeHTTPS serves h over https until the test ends, behind a login that
// takes user with password alone: a stand-in for the daemon's sessions,
// for tests of what a command does before and after it logs in.
func ServeHTTPS(t testing.TB, h http.Handler, user, password string) *Remote {
	t.Helper()
	r := &Remote{}
	const token = "vicfgtest-token"
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+api.PathSession, func(w http.ResponseWriter, req *http.Request) {
		var l api.Login
		if err := json.NewDecoder(req.Body).Decode(&l); err != nil || l.User != user || l.Password != password {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(api.Error{Error: "bad credentials"})
			return
		}
		r.mu.Lock()
		r.logins = append(r.logins, l.User)
		r.mu.Unlock()
		json.NewEncoder(w).Encode(api.SessionInfo{Token: token, User: l.User})
	})
	mux.HandleFunc("DELETE "+api.PathSession, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(api.Error{Error: "not logged in"})
			return
		}
		h.ServeHTTP(w, req)
	})
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	r.Server, r.Thumbprint = srv.URL, tlsid.FingerprintOf(srv.Certificate())
	return r
}

// CheckLoginPrompt runs cmd over https against h behind a login as root,
// with args and no --password: the password must be asked for through the
// terminal, once, before anything is sent, and the run must succeed; a
// wrong answer and no terminal must fail with messages naming the user.
// It returns what the successful run printed on stdout.
func CheckLoginPrompt(t *testing.T, cmd *vicfg.Command, h http.Handler, args ...string) string {
	t.Helper()
	for _, env := range []string{"VI_SERVER", "VI_USERNAME", "VI_PASSWORD", "VI_SESSIONFILE", "VI_SAVESESSIONFILE"} {
		t.Setenv(env, "") // empty is unset for the connection options
	}
	remote := ServeHTTPS(t, h, "root", "s3cret!")
	args = append([]string{"--server", remote.Server, "--thumbprint", remote.Thumbprint, "--username", "root"}, args...)
	ctx := context.Background()

	term := &Terminal{Secrets: []string{"s3cret!"}}
	code, stdout, stderr := Run(ctx, cmd, cmd.Name, term, args...)
	if code != 0 || stderr != "" {
		t.Errorf("answered: exit %d, stderr %q", code, stderr)
	}
	if p := term.Prompts(); !slices.Equal(p, []string{"Enter password: "}) {
		t.Errorf("prompts %q, want the password's alone", p)
	}
	if l := remote.Logins(); !slices.Equal(l, []string{"root"}) {
		t.Errorf("logins %q", l)
	}

	code, _, stderr = Run(ctx, cmd, cmd.Name, &Terminal{Secrets: []string{"wrong"}}, args...)
	if want := cmd.Name + ": cannot log in to " + remote.Server + " as root: bad credentials\n"; code != 1 || stderr != want {
		t.Errorf("wrong password: exit %d, stderr %q, want %q", code, stderr, want)
	}
	code, _, stderr = Run(ctx, cmd, cmd.Name, nil, args...)
	if want := cmd.Name + ": no password for root: give --password-file FILE, --password or VI_PASSWORD, or run on a terminal to be asked for it\n"; code != 1 || stderr != want {
		t.Errorf("no terminal: exit %d, stderr %q, want %q", code, stderr, want)
	}
	return stdout
}
