package user

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"hostagent/manage/api"
	"hostagent/manage/vicfg"
	"hostagent/manage/vicfg/vicfgtest"
)

// stub stands in for the daemon's users and roles API, with the policy's
// messages.
type stub struct {
	mu    sync.Mutex
	users map[string]api.NewUser
	roles []api.Role
}

func (s *stub) handler() http.Handler {
	mux := http.NewServeMux()
	fail := func(w http.ResponseWriter, code int, msg string) {
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(api.Error{Error: msg})
	}
	hasRole := func(name string) bool {
		return slices.ContainsFunc(s.roles, func(r api.Role) bool { return r.Name == name })
	}
	weak := func(name, pw string) string {
		if len(pw) < 8 {
			return "password for " + name + ": must be at least 8 characters"
		}
		return ""
	}
	mux.HandleFunc("GET "+api.PathUsers, func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		us := []api.User{}
		for _, n := range slices.Sorted(func(yield func(string) bool) {
			for n := range s.users {
				if !yield(n) {
					return
				}
			}
		}) {
			us = append(us, api.User{Name: n, Role: s.users[n].Role})
		}
		json.NewEncoder(w).Encode(us)
	})
	mux.HandleFunc("POST "+api.PathUsers, func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		var u api.NewUser
		json.NewDecoder(r.Body).Decode(&u)
		switch {
		case s.users[u.Name].Name != "":
			fail(w, http.StatusConflict, "user "+u.Name+": already exists")
		case weak(u.Name, u.Password) != "":
			fail(w, http.StatusBadRequest, weak(u.Name, u.Password))
		case !hasRole(u.Role):
			fail(w, http.StatusNotFound, `role "`+u.Role+`": no such role`)
		default:
			s.users[u.Name] = u
			w.WriteHeader(http.StatusCreated)
		}
	})
	mux.HandleFunc("PATCH "+api.PathUsers+"/{name}", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		name := r.PathValue("name")
		u, ok := s.users[name]
		var p api.UserPatch
		json.NewDecoder(r.Body).Decode(&p)
		switch {
		case !ok:
			fail(w, http.StatusNotFound, "user "+name+": no such user")
		case p.Password != nil && weak(name, *p.Password) != "":
			fail(w, http.StatusBadRequest, weak(name, *p.Password))
		case p.Role != nil && !hasRole(*p.Role):
			fail(w, http.StatusNotFound, `role "`+*p.Role+`": no such role`)
		default:
			if p.Password != nil {
				u.Password = *p.Password
			}
			if p.Role != nil {
				u.Role = *p.Role
			}
			s.users[name] = u
			json.NewEncoder(w).Encode(api.User{Name: name, Role: u.Role})
		}
	})
	mux.HandleFunc("DELETE "+api.PathUsers+"/{name}", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		name := r.PathValue("name")
		if _, ok := s.users[name]; !ok {
			fail(w, http.StatusNotFound, "user "+name+": no such user")
			return
		}
		delete(s.users, name)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET "+api.PathRoles, func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		json.NewEncoder(w).Encode(s.roles)
	})
	mux.HandleFunc("POST "+api.PathRoles, func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		var role api.Role
		json.NewDecoder(r.Body).Decode(&role)
		for _, p := range role.Privileges {
			if p != "System.Read" && p != "Host.Config.SNMP" {
				fail(w, http.StatusBadRequest, `unknown privilege "`+p+`"`)
				return
			}
		}
		s.roles = append(s.roles, role)
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("DELETE "+api.PathRoles+"/{name}", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		name := r.PathValue("name")
		i := slices.IndexFunc(s.roles, func(r api.Role) bool { return r.Name == name })
		switch {
		case i < 0:
			fail(w, http.StatusNotFound, `role "`+name+`": no such role`)
		case s.roles[i].BuiltIn:
			fail(w, http.StatusConflict, "role "+name+": built-in roles cannot be removed")
		default:
			s.roles = slices.Delete(s.roles, i, i+1)
			w.WriteHeader(http.StatusNoContent)
		}
	})
	return mux
}

func start(t *testing.T) (*stub, string) {
	t.Helper()
	s := &stub{
		users: map[string]api.NewUser{"root": {Name: "root", Role: "Administrator"}},
		roles: []api.Role{
			{Name: "Administrator", Privileges: []string{"Host.Config.SNMP", "System.Read"}, BuiltIn: true},
			{Name: "ReadOnly", Privileges: []string{"System.Read"}, BuiltIn: true},
			{Name: "NoAccess", Privileges: []string{}, BuiltIn: true},
		},
	}
	return s, vicfgtest.Serve(t, s.handler())
}

func run(server string, args ...string) (code int, stdout, stderr string) {
	return vicfgtest.Run(context.Background(), Command, "vicfg-user", nil, append([]string{"--server", server}, args...)...)
}

// pWarning is what -p adds to stderr.
const pWarning = "vicfg-user: warning: -p/--newpassword on the command line can be read by other local users while the command runs (ps, /proc/PID/cmdline); use --newpassword-file FILE or the prompt instead\n"

func TestRun(t *testing.T) {
	s, server := start(t)
	steps := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"-o", "add", "-n", "alice", "-p", "correct horse", "-r", "ReadOnly"}, 0, "Adding user alice...\nComplete.\n", ""},
		{[]string{"--operation=list"}, 0, "USER   ROLE\nalice  ReadOnly\nroot   Administrator\n", ""},
		{[]string{"-o", "passwd", "-n", "alice", "-p", "battery staple"}, 0, "Changing password for user alice...\nComplete.\n", ""},
		{[]string{"-o", "role", "--name", "alice", "--role", "Administrator"}, 0, "Changing role of user alice to Administrator...\nComplete.\n", ""},
		{[]string{"--addrole", "SNMPAdmin", "--privileges", "Host.Config.SNMP, System.Read"}, 0, "Adding role SNMPAdmin...\nComplete.\n", ""},
		{[]string{"--addrole", "Nobody", "--privileges", ""}, 0, "Adding role Nobody...\nComplete.\n", ""},
		{[]string{"--roles"}, 0, "ROLE           TYPE      PRIVILEGES\n" +
			"Administrator  built-in  Host.Config.SNMP,System.Read\n" +
			"ReadOnly       built-in  System.Read\n" +
			"NoAccess       built-in  none\n" +
			"SNMPAdmin      custom    Host.Config.SNMP,System.Read\n" +
			"Nobody         custom    none\n", ""},
		{[]string{"--removerole", "Nobody"}, 0, "Removing role Nobody...\nComplete.\n", ""},
		{[]string{"-o", "remove", "-n", "alice"}, 0, "Removing user alice...\nComplete.\n", ""},
		{[]string{"-o", "list"}, 0, "USER  ROLE\nroot  Administrator\n", ""},

		// The daemon's refusals, shown as it words them.
		{[]string{"-o", "add", "-n", "bob", "-p", "short", "-r", "ReadOnly"}, 1, "Adding user bob...\n", "vicfg-user: password for bob: must be at least 8 characters\n"},
		{[]string{"-o", "passwd", "-n", "root", "-p", "short"}, 1, "Changing password for user root...\n", "vicfg-user: password for root: must be at least 8 characters\n"},
		{[]string{"-o", "add", "-n", "bob", "-p", "long enough", "-r", "Nope"}, 1, "Adding user bob...\n", "vicfg-user: role \"Nope\": no such role\n"},
		{[]string{"-o", "remove", "-n", "ghost"}, 1, "Removing user ghost...\n", "vicfg-user: user ghost: no such user\n"},
		{[]string{"--removerole", "ReadOnly"}, 1, "Removing role ReadOnly...\n", "vicfg-user: role ReadOnly: built-in roles cannot be removed\n"},
		{[]string{"--addrole", "X", "--privileges", "Bogus"}, 1, "Adding role X...\n", "vicfg-user: unknown privilege \"Bogus\"\n"},

		// Bad command lines: nothing is sent.
		{[]string{"-o", "frobnicate"}, 1, "", "vicfg-user: --operation \"frobnicate\": must be add, remove, passwd, list, role\nsee vicfg-user --help\n"},
		{[]string{"-o", "add", "-p", "long enough", "-r", "ReadOnly"}, 1, "", "vicfg-user: -o add needs -n/--name USER\nsee vicfg-user --help\n"},
		{[]string{"-o", "remove"}, 1, "", "vicfg-user: -o remove needs -n/--name USER\n"},
		{[]string{"-o", "passwd", "-n", " "}, 1, "", "vicfg-user: -o passwd needs -n/--name USER\n"},
		{[]string{"-o", "add", "-n", "bob", "-p", "long enough"}, 1, "", "vicfg-user: -o add needs -r/--role ROLE\n"},
		{[]string{"-o", "role", "-n", "bob"}, 1, "", "vicfg-user: -o role needs -r/--role ROLE\n"},
		{[]string{"-o", "remove", "-n", "root", "-r", "ReadOnly"}, 1, "", "vicfg-user: -r/--role goes with -o add or -o role, not -o remove\n"},
		{[]string{"-o", "role", "-n", "root", "-r", "ReadOnly", "-p", "x"}, 1, "", "vicfg-user: -p/--newpassword goes with -o add or -o passwd, not -o role\n"},
		{[]string{"-o", "list", "-n", "root"}, 1, "", "vicfg-user: --name does not go with -o list\n"},
		{[]string{"-o", "list", "--roles"}, 1, "", "vicfg-user: --operation and --roles cannot be given together: one action at a time\n"},
		{[]string{"--roles", "-n", "root"}, 1, "", "vicfg-user: --name goes with -o/--operation\n"},
		{[]string{"--privileges", "System.Read", "--roles"}, 1, "", "vicfg-user: --privileges goes with --addrole\n"},
		{[]string{"--addrole", "X"}, 1, "", "vicfg-user: --addrole X needs --privileges LIST (\"\" for none)\n"},
		{[]string{"--removerole", ""}, 1, "", "vicfg-user: --removerole needs a role NAME\n"},
		{[]string{"stray"}, 1, "", "vicfg-user: unexpected argument \"stray\"\n"},
		// No -p and no terminal to ask on.
		{[]string{"-o", "add", "-n", "bob", "-r", "ReadOnly"}, 1, "", "vicfg-user: no new password for bob: give --newpassword-file FILE (or -p), or run on a terminal to be asked for it\n"},
		{[]string{"-o", "passwd", "-n", "root"}, 1, "", "vicfg-user: no new password for root: give --newpassword-file FILE (or -p), or run on a terminal to be asked for it\n"},
	}
	for _, st := range steps {
		code, stdout, stderr := run(server, st.args...)
		// -p works, with a warning that ps shows it; the rest of stderr is
		// compared without it.
		warned := strings.Contains(stderr, pWarning)
		stderr = strings.Replace(stderr, pWarning, "", 1)
		if code == 0 && slices.Contains(st.args, "-p") && !warned {
			t.Errorf("vicfg-user %q: no warning that -p shows in ps", st.args)
		}
		if code != st.code || stdout != st.stdout || !strings.HasPrefix(stderr, st.stderr) {
			t.Errorf("vicfg-user %q: exit %d, stdout %q, stderr %q\nwant exit %d, stdout %q, stderr %q",
				st.args, code, stdout, stderr, st.code, st.stdout, st.stderr)
		}
		for _, secret := range []string{"correct horse", "battery staple", "long enough"} {
			if strings.Contains(stdout+stderr, secret) {
				t.Errorf("vicfg-user %q: a password shows: %q %q", st.args, stdout, stderr)
			}
		}
	}
	if u := s.users["bob"]; u.Name != "" {
		t.Errorf("bob was added: %+v", u)
	}
}

func TestUsageAndErrors(t *testing.T) {
	code, out, errb := vicfgtest.Run(context.Background(), Command, "vicfg-user", nil, "--help")
	if code != 0 || errb != "" {
		t.Errorf("--help: exit %d, stderr %q", code, errb)
	}
	for _, want := range []string{"Usage: vicfg-user", "-o, --operation OPERATION", "-n, --name USER", "-p, --newpassword PASSWORD",
		"-r, --role ROLE", "--addrole NAME", "--privileges LIST", "--removerole NAME", "--roles", "Connection options:", "--server unix:PATH|HOST",
		"--username USER", "--thumbprint FP", "-h, --help"} {
		if !strings.Contains(out, want) {
			t.Errorf("--help lacks %q:\n%s", want, out)
		}
	}
	// Nothing to do: the usage, on stderr.
	if code, _, errb := vicfgtest.Run(context.Background(), Command, "vicfg-user", nil); code != 1 || !strings.Contains(errb, "Usage: vicfg-user") {
		t.Errorf("no action: exit %d, stderr %q", code, errb)
	}
	// No daemon.
	missing := "unix:" + filepath.Join(t.TempDir(), "missing.sock")
	if code, _, stderr := run(missing, "-o", "list"); code != 1 || !strings.Contains(stderr, "vicfg-user: cannot connect to hostagentd at unix:") {
		t.Errorf("no daemon: exit %d, stderr %q", code, stderr)
	}
	// A bad --server.
	if code, _, stderr := run("tcp:host:1", "-o", "list"); code != 1 || !strings.Contains(stderr, `vicfg-user: --server "tcp:host:1"`) {
		t.Errorf("bad server: exit %d, stderr %q", code, stderr)
	}
}

// TestNewPasswordPrompt: without -p, the new password is asked for twice
// through the terminal, before anything is sent.
func TestNewPasswordPrompt(t *testing.T) {
	s, server := start(t)
	ask := []string{"Enter new password for bob: ", "Re-enter new password: "}
	for _, tt := range []struct {
		name     string
		args     []string
		secrets  []string
		noTerm   bool
		code     int
		stdout   string
		stderr   string
		password string // bob's afterwards
	}{
		{name: "add", args: []string{"-o", "add", "-n", "bob", "-r", "ReadOnly"}, secrets: []string{"first pass", "first pass"},
			stdout: "Adding user bob...\nComplete.\n", password: "first pass"},
		{name: "passwd", args: []string{"-o", "passwd", "-n", "bob"}, secrets: []string{"second pass", "second pass"},
			stdout: "Changing password for user bob...\nComplete.\n", password: "second pass"},
		{name: "mismatch", args: []string{"-o", "passwd", "-n", "bob"}, secrets: []string{"third pass", "thrid pass"},
			code: 1, stderr: "vicfg-user: the passwords given for bob do not match\n", password: "second pass"},
		{name: "no answer", args: []string{"-o", "passwd", "-n", "bob"}, secrets: []string{"third pass"},
			code: 1, stderr: "vicfg-user: reading the new password: EOF\n", password: "second pass"},
		{name: "no terminal", args: []string{"-o", "passwd", "-n", "bob"}, noTerm: true,
			code: 1, stderr: "vicfg-user: no new password for bob: give --newpassword-file FILE (or -p), or run on a terminal to be asked for it\n", password: "second pass"},
	} {
		var term vicfg.Terminal
		fake := &vicfgtest.Terminal{Secrets: tt.secrets}
		if !tt.noTerm {
			term = fake
		}
		code, stdout, stderr := vicfgtest.Run(context.Background(), Command, "vicfg-user", term, append([]string{"--server", server}, tt.args...)...)
		if code != tt.code || stdout != tt.stdout || stderr != tt.stderr {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want %d, %q, %q", tt.name, code, stdout, stderr, tt.code, tt.stdout, tt.stderr)
		}
		if want := ask[:min(len(ask), len(tt.secrets)+1)]; !tt.noTerm && !slices.Equal(fake.Prompts(), want) {
			t.Errorf("%s: prompts %q, want %q", tt.name, fake.Prompts(), want)
		}
		s.mu.Lock()
		got := s.users["bob"].Password
		s.mu.Unlock()
		if got != tt.password {
			t.Errorf("%s: bob's password %q, want %q", tt.name, got, tt.password)
		}
	}
}

// TestPasswordPrompt: over https without --password, the login's password
// is asked for through the terminal.
func TestPasswordPrompt(t *testing.T) {
	s, _ := start(t)
	if stdout := vicfgtest.CheckLoginPrompt(t, Command, s.handler(), "-o", "list"); stdout != "USER  ROLE\nroot  Administrator\n" {
		t.Errorf("stdout %q", stdout)
	}
}
