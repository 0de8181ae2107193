package apiclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"hostagent/internal/peertest"
	"hostagent/manage/api"
	"hostagent/manage/tlsid"
)

// tlsServer serves h over TLS with a certificate of a fresh test CA, for
// 127.0.0.1 and localhost; it returns the server, its host:port and the CA.
func tlsServer(t *testing.T, h http.Handler) (*httptest.Server, string, *peertest.TestCA) {
	t.Helper()
	ca := peertest.NewTestCA(t)
	certFile, keyFile := ca.Issue(t, "esx01.test")
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, strings.TrimPrefix(srv.URL, "https://"), ca
}

func leafFingerprint(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	leaf, err := x509.ParseCertificate(srv.TLS.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return tlsid.FingerprintOf(leaf)
}

func identityHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+api.PathIdentity, func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(api.Identity{Fingerprint: "AA"})
	})
	return mux
}

func TestDialTrust(t *testing.T) {
	srv, addr, ca := tlsServer(t, identityHandler())
	fp := leafFingerprint(t, srv)
	ctx := context.Background()

	// Untrusted: the message shows the fingerprint and how to trust it.
	c, err := Dial(ClientOptions{Server: addr})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Identity(ctx)
	var ue *UntrustedError
	if !errors.As(err, &ue) || ue.Fingerprint != fp {
		t.Fatalf("untrusted: %v", err)
	}
	for _, want := range []string{"the certificate of " + addr + " is not trusted (SHA-256 fingerprint " + fp + ")",
		"--thumbprint " + fp, "--cacertsfile FILE", "unknown authority"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("untrusted: %q lacks %q", err, want)
		}
	}

	// The right thumbprint, in any of its spellings, is accepted.
	for _, tp := range []string{fp, strings.ToLower(strings.ReplaceAll(fp, ":", ""))} {
		c, err := Dial(ClientOptions{Server: "https://" + addr, Thumbprint: tp})
		if err != nil {
			t.Fatal(err)
		}
		if id, err := c.Identity(ctx); err != nil || id.Fingerprint != "AA" {
			t.Errorf("thumbprint %s: %v, %v", tp, id, err)
		}
	}

	// A wrong one is refused, naming both.
	wrong := strings.Repeat("AB:", 31) + "AB"
	c, _ = Dial(ClientOptions{Server: addr, Thumbprint: wrong})
	if _, err := c.Identity(ctx); err == nil || !strings.Contains(err.Error(), fp) || !strings.Contains(err.Error(), "not the --thumbprint "+wrong) {
		t.Errorf("wrong thumbprint: %v", err)
	}
	if _, err := Dial(ClientOptions{Server: addr, Thumbprint: "12:34"}); err == nil || !strings.Contains(err.Error(), "--thumbprint") {
		t.Errorf("bad thumbprint: %v", err)
	}

	// The CA file is trusted, by IP address and by name.
	_, port, _ := strings.Cut(addr, ":")
	portN, _ := strconv.Atoi(port)
	for _, o := range []ClientOptions{
		{Server: addr, CACertsFile: ca.CertFile},
		{Server: "localhost", Port: portN, CACertsFile: ca.CertFile},
	} {
		c, err := Dial(o)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Identity(ctx); err != nil {
			t.Errorf("%+v: %v", o, err)
		}
	}
	if _, err := Dial(ClientOptions{Server: addr, CACertsFile: "/nonexistent/ca.pem"}); err == nil || !strings.Contains(err.Error(), "--cacertsfile") {
		t.Errorf("missing CA file: %v", err)
	}
}

func TestDialOptions(t *testing.T) {
	for _, tt := range []struct {
		o       ClientOptions
		base    string
		wantErr string
	}{
		{o: ClientOptions{}, base: "http://hostagentd"},
		{o: ClientOptions{Server: "unix:/x.sock"}, base: "http://hostagentd"},
		{o: ClientOptions{Server: "esx01"}, base: "https://esx01:443"},
		{o: ClientOptions{Server: "esx01", Port: 8443}, base: "https://esx01:8443"},
		{o: ClientOptions{Server: "esx01:9443"}, base: "https://esx01:9443"},
		{o: ClientOptions{Server: "https://esx01:9443/"}, base: "https://esx01:9443"},
		{o: ClientOptions{Server: "HTTPS://esx01"}, base: "https://esx01:443"},
		{o: ClientOptions{Server: "[2001:db8::1]:9443"}, base: "https://[2001:db8::1]:9443"},
		{o: ClientOptions{Server: "2001:db8::1"}, base: "https://[2001:db8::1]:443"},
		{o: ClientOptions{Server: "[2001:db8::1]"}, base: "https://[2001:db8::1]:443"},
		{o: ClientOptions{Server: "esx01", Protocol: "HTTPS"}, base: "https://esx01:443"},
		{o: ClientOptions{Server: "esx01", Protocol: "http"}, wantErr: `--protocol "http": only https is supported`},
		{o: ClientOptions{Server: "http://esx01"}, wantErr: `--server "http://esx01": protocol http is not supported`},
		{o: ClientOptions{Server: "tcp:host:1"}, wantErr: `--server "tcp:host:1"`},
		{o: ClientOptions{Server: "esx01:x"}, wantErr: `port "x" must be a number`},
		{o: ClientOptions{Server: "esx01:99999"}, wantErr: `port "99999"`},
		{o: ClientOptions{Server: "esx01:443", Port: 8443}, wantErr: "names port 443 but --portnumber is 8443"},
		{o: ClientOptions{Server: "esx01", Port: 70000}, wantErr: "--portnumber 70000"},
		{o: ClientOptions{Server: "unix:"}, wantErr: `--server "unix:"`},
		{o: ClientOptions{Server: "https://u@esx01"}, wantErr: "write https://HOST[:PORT]"},
		{o: ClientOptions{Server: "a/b"}, wantErr: `--server "a/b"`},
	} {
		c, err := Dial(tt.o)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Dial(%+v) = %v, want error %q", tt.o, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("Dial(%+v): %v", tt.o, err)
		case c.base != tt.base:
			t.Errorf("Dial(%+v): base %s, want %s", tt.o, c.base, tt.base)
		}
	}
}

// authStub is a daemon with one user, alice, and sessions.
type authStub struct {
	mu      sync.Mutex
	tokens  map[string]bool
	logins  int
	logouts int
	limited bool
}

func (s *authStub) handler(t *testing.T) http.Handler {
	mux := http.NewServeMux()
	fail := func(w http.ResponseWriter, code int, msg string) {
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(api.Error{Error: msg})
	}
	authed := func(w http.ResponseWriter, r *http.Request) bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !s.tokens[tok] {
			fail(w, http.StatusUnauthorized, "no valid session: log in")
			return false
		}
		return true
	}
	mux.HandleFunc("POST "+api.PathSession, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			t.Errorf("login sent Authorization %q", r.Header.Get("Authorization"))
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.limited {
			w.Header().Set("Retry-After", "30")
			fail(w, http.StatusTooManyRequests, "too many failed logins")
			return
		}
		var l api.Login
		json.NewDecoder(r.Body).Decode(&l)
		if l.User != "alice" || l.Password != "correct horse" {
			fail(w, http.StatusUnauthorized, "bad credentials")
			return
		}
		s.logins++
		tok := "tok" + string(rune('0'+s.logins))
		s.tokens[tok] = true
		json.NewEncoder(w).Encode(api.SessionInfo{Token: tok, User: l.User, Role: "Administrator", IdleTimeout: "30m0s"})
	})
	mux.HandleFunc("DELETE "+api.PathSession, func(w http.ResponseWriter, r *http.Request) {
		if !authed(w, r) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.tokens, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		s.logouts++
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET "+api.PathUsers, func(w http.ResponseWriter, r *http.Request) {
		if authed(w, r) {
			json.NewEncoder(w).Encode([]api.User{{Name: "alice", Role: "Administrator"}})
		}
	})
	mux.HandleFunc("POST "+api.PathUsers, func(w http.ResponseWriter, r *http.Request) {
		if authed(w, r) {
			fail(w, http.StatusForbidden, "user alice (role ReadOnly) lacks privilege Host.Config.Users")
		}
	})
	return mux
}

func TestLoginFlow(t *testing.T) {
	stub := &authStub{tokens: map[string]bool{}}
	srv, addr, _ := tlsServer(t, stub.handler(t))
	ctx := context.Background()
	c, err := Dial(ClientOptions{Server: addr, Thumbprint: leafFingerprint(t, srv)})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Remote() || c.Server() != "https://"+addr {
		t.Errorf("Remote %v, Server %s", c.Remote(), c.Server())
	}
	// Without a session: the daemon's message.
	if _, err := c.Users(ctx); err == nil || err.Error() != "no valid session: log in" {
		t.Errorf("Users without a session: %v", err)
	}
	_, err = c.Login(ctx, "alice", "wrong")
	var re *ResponseError
	if !errors.As(err, &re) || re.Status != http.StatusUnauthorized || err.Error() != "bad credentials" {
		t.Errorf("bad login: %v", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("the password shows: %v", err)
	}
	si, err := c.Login(ctx, "alice", "correct horse")
	if err != nil || si.Token != "tok1" || c.Token() != "tok1" || si.Role != "Administrator" {
		t.Fatalf("Login = %+v, %v", si, err)
	}
	if us, err := c.Users(ctx); err != nil || len(us) != 1 || us[0].Name != "alice" {
		t.Errorf("Users = %v, %v", us, err)
	}
	// A denial is shown as the daemon wrote it.
	err = c.AddUser(ctx, api.NewUser{Name: "bob", Password: "x", Role: "ReadOnly"})
	if err == nil || err.Error() != "user alice (role ReadOnly) lacks privilege Host.Config.Users" || !errors.As(err, &re) || re.Status != 403 {
		t.Errorf("AddUser denied: %v", err)
	}
	if err := c.Logout(ctx); err != nil || c.Token() != "" || stub.logouts != 1 {
		t.Errorf("Logout: %v (token %q, %d logouts)", err, c.Token(), stub.logouts)
	}
	// The token is gone on both sides.
	c2, _ := Dial(ClientOptions{Server: addr, Thumbprint: leafFingerprint(t, srv), Token: "tok1"})
	if _, err := c2.Users(ctx); err == nil {
		t.Error("the token still works after logout")
	}

	// Rate limited: the retry-after is part of the message.
	stub.limited = true
	_, err = c.Login(ctx, "alice", "correct horse")
	if !errors.As(err, &re) || re.Status != 429 || re.RetryAfter != 30*time.Second ||
		err.Error() != "too many failed logins (retry after 30s)" {
		t.Errorf("limited login: %v", err)
	}
}

func TestRetryAfter(t *testing.T) {
	if d := retryAfter("120"); d != 2*time.Minute {
		t.Errorf("120: %v", d)
	}
	if d := retryAfter(time.Now().Add(time.Minute).UTC().Format(http.TimeFormat)); d < 58*time.Second || d > 61*time.Second {
		t.Errorf("date: %v", d)
	}
	for _, v := range []string{"", "x", "-3"} {
		if d := retryAfter(v); d != 0 {
			t.Errorf("%q: %v", v, d)
		}
	}
}

func TestNewClientRefusesOtherServers(t *testing.T) {
	for _, s := range []string{"https://esx01", "unix:", "/run/x.sock"} {
		if _, err := NewClient(s); err == nil || !strings.Contains(err.Error(), s) {
			t.Errorf("NewClient(%q) = %v", s, err)
		}
	}
}
