package hostops

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"hostagent/manage/api"
	"hostagent/manage/apiserver"
	"hostagent/manage/vicfg/vicfgtest"
)

// fingerprint is the stub daemon's certificate fingerprint when HTTPS is on.
const fingerprint = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"

// refusal is the daemon's answer to weakening lockdown over the network.
var refusal = apiserver.Forbidden(errors.New("lockdown mode normal: changing the mode from normal to disabled is refused over the network; only the console (the local socket) weakens lockdown"))

var errStub = errors.New("not implemented by the stub")

// service stands in for hostagentd's remote service: lockdown and identity
// as the daemon has them, the rest refused. remote makes it refuse turning
// lockdown off, as the daemon does for a request from the network.
type service struct {
	mu          sync.Mutex
	lockdown    bool
	mode        string // the mode when lockdown is on: normal (default) or strict
	exceptions  []string
	fingerprint string
	remote      bool
	sets        []string // each change, as "mode" or "mode/exceptions"
}

func (s *service) Login(context.Context, api.Login, string) (api.SessionInfo, error) {
	return api.SessionInfo{}, errStub
}
func (s *service) Logout(context.Context, string) error                   { return errStub }
func (s *service) Users(context.Context) ([]api.User, error)              { return nil, errStub }
func (s *service) AddUser(context.Context, api.NewUser) error             { return errStub }
func (s *service) PatchUser(context.Context, string, api.UserPatch) error { return errStub }
func (s *service) RemoveUser(context.Context, string) error               { return errStub }
func (s *service) Roles(context.Context) ([]api.Role, error)              { return nil, errStub }
func (s *service) AddRole(context.Context, api.Role) error                { return errStub }
func (s *service) RemoveRole(context.Context, string) error               { return errStub }
func (s *service) Denied(*http.Request, apiserver.Principal, error)       {}
func (s *service) Identity() api.Identity                                 { return api.Identity{Fingerprint: s.fingerprint} }
func (s *service) Locks(context.Context) ([]api.Lock, error)              { return nil, errStub }
func (s *service) Unlock(context.Context, string) (int, error)            { return 0, errStub }

func (s *service) Lockdown(context.Context) api.Lockdown {
	s.mu.Lock()
	defer s.mu.Unlock()
	return api.Lockdown{Enabled: s.lockdown, Mode: s.modeNow(), ExceptionUsers: s.exceptions}
}

func (s *service) modeNow() string {
	switch {
	case !s.lockdown:
		return "disabled"
	case s.mode == "":
		return "normal"
	}
	return s.mode
}

// SetLockdown applies a change as the daemon does, refusing to turn
// lockdown off when remote.
func (s *service) SetLockdown(_ context.Context, c api.LockdownChange) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	mode := s.modeNow()
	switch {
	case c.Mode != nil:
		mode = *c.Mode
	case c.Enabled != nil && !*c.Enabled:
		mode = "disabled"
	case c.Enabled != nil && mode == "disabled":
		mode = "normal"
	}
	set := mode
	if c.ExceptionUsers != nil {
		set += "/" + strings.Join(*c.ExceptionUsers, ",")
	}
	s.sets = append(s.sets, set)
	if mode == "disabled" && s.lockdown && s.remote {
		return refusal
	}
	s.lockdown, s.mode = mode != "disabled", mode
	if c.ExceptionUsers != nil {
		s.exceptions = *c.ExceptionUsers
	}
	return nil
}

func (s *service) state() (lockdown bool, sets []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lockdown, append([]string(nil), s.sets...)
}

// start serves the real API handler on a unix socket and returns the
// --server value for it. The SNMP and syslog services are nil: the
// handler leaves syslog's routes out and only dereferences SNMP's when
// they are called, which these tests never do.
func start(t *testing.T, svc *service) string {
	t.Helper()
	return vicfgtest.Serve(t, apiserver.NewGatedHandler(apiserver.ConsoleGate{}, apiserver.Services{Remote: svc}, slog.New(slog.DiscardHandler)))
}

func run(server, prog string, args ...string) (code int, stdout, stderr string) {
	return vicfgtest.Run(context.Background(), Command, prog, nil, append([]string{"--server", server}, args...)...)
}

func TestRun(t *testing.T) {
	tests := []struct {
		name        string
		lockdown    bool   // the daemon's lockdown mode at start
		fingerprint string // the daemon's certificate; "": HTTPS is off
		remote      bool   // the daemon refuses turning lockdown off
		noDaemon    bool   // --server names a missing socket
		args        []string
		code        int
		stdout      string   // exactly
		stderr      []string // each must appear; none at all when empty
		sets        []string // the SetLockdown calls args cause: the mode, /exceptions
		want        bool     // the lockdown mode after (unchanged on failure)
	}{
		// --show.
		{
			name: "show, disabled, fingerprint", fingerprint: fingerprint, args: []string{"--show"},
			stdout: "Lockdown mode     : disabled\nException users   : none\nCertificate SHA-256 fingerprint : " + fingerprint + "\n",
		},
		{
			name: "-s, enabled, fingerprint", lockdown: true, fingerprint: fingerprint, args: []string{"-s"},
			stdout: "Lockdown mode     : normal\nException users   : none\nCertificate SHA-256 fingerprint : " + fingerprint + "\n",
			want:   true,
		},
		{
			name: "show, HTTPS off", args: []string{"-s"},
			stdout: "Lockdown mode     : disabled\nException users   : none\nCertificate SHA-256 fingerprint : none: HTTPS is off\n",
		},
		{
			name: "show, enabled, HTTPS off", lockdown: true, args: []string{"--show"},
			stdout: "Lockdown mode     : normal\nException users   : none\nCertificate SHA-256 fingerprint : none: HTTPS is off\n",
			want:   true,
		},

		// --lockdown.
		{
			name: "enable", args: []string{"--lockdown", "enable"},
			stdout: "Enabling lockdown mode...\nComplete.\n",
			sets:   []string{"normal"}, want: true,
		},
		{
			name: "enable, already enabled", lockdown: true, args: []string{"--lockdown=enable"},
			stdout: "Enabling lockdown mode...\nComplete.\n",
			sets:   []string{"normal"}, want: true,
		},
		{
			name: "disable", lockdown: true, args: []string{"--lockdown", "disable"},
			stdout: "Disabling lockdown mode...\nComplete.\n",
			sets:   []string{"disabled"},
		},
		{
			name: "enable then show", fingerprint: fingerprint, args: []string{"-s", "--lockdown", "enable"},
			stdout: "Enabling lockdown mode...\nComplete.\n" +
				"Lockdown mode     : normal\nException users   : none\nCertificate SHA-256 fingerprint : " + fingerprint + "\n",
			sets: []string{"normal"}, want: true,
		},
		{
			name: "disable refused, message as is", lockdown: true, remote: true, args: []string{"--lockdown", "disable", "-s"},
			code: 1, stdout: "Disabling lockdown mode...\n",
			stderr: []string{"vicfg-hostops: lockdown mode normal: changing the mode from normal to disabled is refused over the network; only the console (the local socket) weakens lockdown\n"},
			sets:   []string{"disabled"}, want: true,
		},
		{
			name: "enable over the network", remote: true, args: []string{"--lockdown", "enable"},
			stdout: "Enabling lockdown mode...\nComplete.\n",
			sets:   []string{"normal"}, want: true,
		},

		{
			name: "strict with exception users, then show", fingerprint: fingerprint,
			args: []string{"--lockdown", "strict", "--exception-users", "svc, ops", "-s"},
			stdout: "Entering strict lockdown mode...\nSetting lockdown exception users to: svc, ops...\nComplete.\n" +
				"Lockdown mode     : strict\nException users   : svc, ops\nCertificate SHA-256 fingerprint : " + fingerprint + "\n",
			sets: []string{"strict/svc,ops"}, want: true,
		},
		{
			name: "exception users cleared", args: []string{"--exception-users", ""},
			stdout: "Setting lockdown exception users to: none...\nComplete.\n",
			sets:   []string{"disabled/"},
		},
		{
			name: "exception users with an empty name", args: []string{"--exception-users", "svc,,ops"}, code: 1,
			stderr: []string{`vicfg-hostops: --exception-users "svc,,ops": an empty user name`},
		},

		// Bad command lines: refused before anything is sent.
		{
			name: "bad value", args: []string{"--lockdown", "maybe"}, code: 1,
			stderr: []string{`vicfg-hostops: --lockdown "maybe": must be enable, disable, normal, strict`, "see vicfg-hostops --help"},
		},
		{
			name: "bad value with show", args: []string{"--lockdown", "Enable", "-s"}, code: 1,
			stderr: []string{`vicfg-hostops: --lockdown "Enable": must be enable, disable, normal, strict`},
		},
		{
			name: "empty value", args: []string{"--lockdown", ""}, code: 1,
			stderr: []string{`vicfg-hostops: --lockdown "": must be enable, disable, normal, strict`},
		},
		{
			name: "missing value", args: []string{"--lockdown"}, code: 1,
			stderr: []string{"vicfg-hostops: flag needs an argument: --lockdown", "see vicfg-hostops --help"},
		},
		{
			name: "unknown flag", args: []string{"--bogus"}, code: 1,
			stderr: []string{"vicfg-hostops: unknown flag: --bogus", "see vicfg-hostops --help"},
		},
		{
			name: "unknown short flag", args: []string{"-x"}, code: 1,
			stderr: []string{"vicfg-hostops: unknown shorthand flag: 'x' in -x", "see vicfg-hostops --help"},
		},
		{
			name: "positional argument", args: []string{"-s", "extra"}, code: 1,
			stderr: []string{`vicfg-hostops: unexpected argument "extra"`},
		},
		{
			name: "no operation", args: nil, code: 1,
			stderr: []string{"Usage: vicfg-hostops [CONNECTION OPTIONS] [--lockdown enable|disable|normal|strict] [--exception-users LIST] [--show]", "--lockdown enable|disable|normal|strict"},
		},

		// No daemon.
		{
			name: "daemon not running, show", noDaemon: true, args: []string{"-s"}, code: 1,
			stderr: []string{"vicfg-hostops: cannot connect to hostagentd at unix:", "missing.sock: is the daemon running?"},
		},
		{
			name: "daemon not running, enable", noDaemon: true, args: []string{"--lockdown", "enable"}, code: 1,
			stdout: "Enabling lockdown mode...\n",
			stderr: []string{"vicfg-hostops: cannot connect to hostagentd at unix:", "missing.sock: is the daemon running?"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &service{lockdown: tt.lockdown, fingerprint: tt.fingerprint, remote: tt.remote}
			server := start(t, svc)
			if tt.noDaemon {
				server = vicfgtest.Missing(t)
			}

			code, stdout, stderr := run(server, "vicfg-hostops", tt.args...)
			vicfgtest.CheckOutput(t, code, stdout, stderr, tt.code, tt.stdout, tt.stderr)
			lockdown, sets := svc.state()
			if !slices.Equal(sets, tt.sets) {
				t.Errorf("lockdown set to %v, want %v", sets, tt.sets)
			}
			if lockdown != tt.want {
				t.Errorf("lockdown %v, want %v", lockdown, tt.want)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, flag := range []string{"--help", "-h"} {
		// No daemon: help must not need one.
		code, out, errb := vicfgtest.Run(context.Background(), Command, "vicfg-hostops", nil, flag)
		if code != 0 || errb != "" {
			t.Errorf("%s: exit %d, stderr %q", flag, code, errb)
		}
		for _, want := range []string{
			"Usage: vicfg-hostops [CONNECTION OPTIONS] [--lockdown enable|disable|normal|strict] [--exception-users LIST] [--show]\n",
			"--lockdown enable|disable|normal|strict", "--exception-users LIST", "-s, --show", "-h, --help",
			"Connection options:", "--server unix:PATH|HOST", "--portnumber N", "--username USER",
			"--password PASSWORD", "--sessionfile FILE", "--thumbprint FP", "console",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%s lacks %q:\n%s", flag, want, out)
			}
		}
	}
}

func TestBadServer(t *testing.T) {
	code, _, errb := vicfgtest.Run(context.Background(), Command, "vicfg-hostops", nil, "--server", "tcp:host:1", "-s")
	if code != 1 ||
		!strings.Contains(errb, `vicfg-hostops: --server "tcp:host:1"`) {
		t.Errorf("exit %d, stderr %q", code, errb)
	}
}

// TestPasswordPrompt: over https without --password, the password is asked
// for through the terminal before the lockdown mode is changed.
func TestPasswordPrompt(t *testing.T) {
	svc := &service{fingerprint: "AB:CD"}
	h := apiserver.NewGatedHandler(apiserver.ConsoleGate{}, apiserver.Services{Remote: svc}, slog.New(slog.DiscardHandler))
	stdout := vicfgtest.CheckLoginPrompt(t, Command, h, "--lockdown", "enable", "-s")
	if want := "Enabling lockdown mode...\nComplete.\nLockdown mode     : normal\nException users   : none\nCertificate SHA-256 fingerprint : AB:CD\n"; stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	if lockdown, sets := svc.state(); !lockdown || len(sets) != 1 {
		t.Errorf("lockdown %v after %v", lockdown, sets)
	}
}
