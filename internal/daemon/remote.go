package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"hostagent/manage/api"
	"hostagent/manage/apiserver"
	"hostagent/manage/audit"
	"hostagent/manage/auth"
	"hostagent/manage/console"
	"hostagent/manage/tlsid"
	"hostagent/syslogd"
)

// remote is what remote management adds to the daemon: users and their
// sessions, the lockdown mode, the audit log, and the TLS identity.
type remote struct {
	users    *auth.Store
	audit    *audit.Log
	identity *tlsid.Identity // nil when HTTPS is off
	addr     string          // where HTTPS listens
}

// HTTPSAddr is the address the HTTPS API listens on ("" when off); valid
// once Ready is closed.
func (d *Daemon) HTTPSAddr() string {
	if d.remote == nil {
		return ""
	}
	return d.remote.addr
}

const (
	usersFile    = "users.toml"
	lockdownFile = "lockdown.toml"
	auditFile    = "audit.log"
)

// openRemote opens the users, the audit log and the lockdown state; with
// HTTPS on, it loads (or generates) the TLS identity too.
func (d *Daemon) openRemote() error {
	users, err := d.openUsers()
	if err != nil {
		return err
	}
	log, err := audit.Open(filepath.Join(d.opts.StateDir, auditFile), d.forwardAudit)
	if err != nil {
		return err
	}
	d.remote = &remote{users: users, audit: log}
	if err := d.loadLockdown(); err != nil {
		log.Close()
		return err
	}
	if d.opts.HTTPSListen != "" {
		id, err := tlsid.Load(d.opts.StateDir, d.opts.TLSCert, d.opts.TLSKey, nil)
		if err != nil {
			log.Close()
			return err
		}
		d.remote.identity = id
	}
	return nil
}

// openUsers opens the users of the state directory, with the sessions'
// idle timeout.
func (d *Daemon) openUsers() (*auth.Store, error) {
	users, err := auth.Open(filepath.Join(d.opts.StateDir, usersFile), d.opts.Clock)
	if err == nil && d.opts.SessionTimeout > 0 {
		users.SetIdleTimeout(d.opts.SessionTimeout)
	}
	return users, err
}

// sessionTimeout is what logins report.
func (d *Daemon) sessionTimeout() time.Duration {
	if d.opts.SessionTimeout > 0 {
		return d.opts.SessionTimeout
	}
	return 30 * time.Minute
}

// forwardAudit hands an audit entry to the forwarder in force.
func (d *Daemon) forwardAudit(r syslogd.Record) {
	if f := d.forwarder.Load(); f != nil {
		f.Submit(r)
	}
}

// serveHTTPS serves the API with users and privileges on addr, and the
// web console at /ui/ (/ redirects there).
func (d *Daemon) serveHTTPS() (*http.Server, net.Listener, error) {
	ln, err := net.Listen("tcp", d.opts.HTTPSListen)
	if err != nil {
		return nil, nil, fmt.Errorf("--https-listen %q: %w", d.opts.HTTPSListen, err)
	}
	h := http.NewServeMux()
	// The web console: static files only, a client of the API below with
	// the same sessions and privileges. Here only, never on the socket.
	h.Handle(console.Prefix, console.Handler())
	h.Handle("GET /{$}", http.RedirectHandler(console.Prefix, http.StatusSeeOther))
	h.Handle("/", apiserver.NewGatedHandler(d, apiserver.Services{SNMP: d, Syslog: d, Remote: d, Metrics: d, Backup: d, Observe: d}, d.log))
	t := httpTimeouts
	srv := &http.Server{
		Handler:           h,
		TLSConfig:         d.remote.identity.TLSConfig(),
		ReadHeaderTimeout: t.header,
		ReadTimeout:       t.read,
		WriteTimeout:      t.write,
		IdleTimeout:       t.idle,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelDebug), // TLS handshake noise from scanners
	}
	d.remote.addr = ln.Addr().String()
	d.log.Info("management API on HTTPS", "listen", d.remote.addr, "fingerprint", d.remote.identity.Fingerprint())
	limited := newLimitListener(ln, maxConns, maxConnsPerSource, d.log)
	return srv, tls.NewListener(limited, srv.TLSConfig), nil
}

// httpTimeouts bound how long an HTTPS connection may hold the daemon's
// resources without finishing a request: a slow header or body, a client
// that does not read the answer, an idle keep-alive. read covers the TLS
// handshake, the header and the body (at most the 1 MiB body limit); write
// the handler and the answer, whose slowest is a backup. A variable so that
// tests can shorten them.
var httpTimeouts = struct{ header, read, write, idle time.Duration }{
	header: 10 * time.Second,
	read:   30 * time.Second,
	write:  60 * time.Second,
	idle:   60 * time.Second,
}

// maxHeaderBytes bounds a request's header (net/http's default is 1 MiB);
// a token and a path need well under 8 KiB.
const maxHeaderBytes = 64 << 10

// Admit implements apiserver.Gate for HTTPS: the session of the request's token
// must hold the privilege.
func (d *Daemon) Admit(r *http.Request, p auth.Privilege) (apiserver.Principal, error) {
	token := apiserver.BearerToken(r)
	var s auth.Session
	var err error
	if p == "" {
		s, err = d.remote.users.Session(token)
	} else {
		s, err = d.remote.users.Authorize(token, p)
	}
	principal := apiserver.Principal{User: s.User, Role: s.Role, Source: r.RemoteAddr}
	var denied *auth.DeniedError
	switch {
	case errors.As(err, &denied):
		return principal, apiserver.Forbidden(err)
	case err != nil:
		return principal, apiserver.Unauthorized(errors.New("not logged in, or the session expired: log in again"))
	}
	return principal, nil
}

// Denied implements apiserver.RemoteService: every refusal is audited.
//
// Requests without a valid session cost the client nothing, so they are
// counted and written once per burst (audit.Log.Refuse) rather than one
// entry each.
func (d *Daemon) Denied(r *http.Request, p apiserver.Principal, err error) {
	e := audit.Entry{User: p.User, Source: r.RemoteAddr, Action: r.Method + " " + r.URL.Path, Result: "denied", Detail: err.Error()}
	if p.User == "" {
		if r.Pattern != "" {
			e.Action = r.Pattern // "GET /api/v1/snmp": the route, not the client's path
		}
		d.remote.audit.Refuse(e)
		return
	}
	d.record(e)
}

func (d *Daemon) record(e audit.Entry) {
	if err := d.remote.audit.Record(e); err != nil {
		d.log.Error("audit entry not written", "err", err)
	}
}

// auditChanges records what a change of settings did, field by field.
func (d *Daemon) auditChanges(ctx context.Context, action string, old, new any, err error) {
	p := apiserver.PrincipalFrom(ctx)
	if err != nil {
		d.record(audit.Entry{User: p.User, Source: p.Source, Action: action, Result: "invalid", Detail: err.Error()})
		return
	}
	for _, e := range audit.Changes(old, new) {
		e.User, e.Source, e.Action, e.Result = p.User, p.Source, action, "ok"
		d.record(e)
	}
}

// Login implements apiserver.RemoteService. In lockdown mode only its
// exception users log in; the store refuses the others after the same
// password check and with the same answer as a wrong password.
func (d *Daemon) Login(_ context.Context, l api.Login, source string) (api.SessionInfo, error) {
	token, err := d.remote.users.Login(l.User, l.Password, source)
	var le *auth.LoginError
	if errors.As(err, &le) {
		e := audit.Entry{User: l.User, Source: source, Action: "login", Result: "denied", Detail: string(le.Reason)}
		switch {
		case errors.Is(err, auth.ErrRateLimited), errors.Is(err, auth.ErrBusy):
			// Refused before hashing, so free for the client: counted and
			// written once per burst, never one entry (or log line) each.
			d.remote.audit.Refuse(e)
			tm := &apiserver.TooManyError{Err: err, RetryAfter: le.RetryAfter}
			if errors.Is(err, auth.ErrBusy) {
				tm.Code = http.StatusServiceUnavailable
			}
			return api.SessionInfo{}, tm
		}
		// Counted too, one entry per burst: each cost a hash, but a
		// guesser with many addresses could still write one entry per
		// check (some 20 a second) and rotate the trail away in hours.
		d.remote.audit.Refuse(e)
		d.log.Warn("login refused", "user", audit.Cut(l.User, 64), "source", source, "reason", le.Reason)
		return api.SessionInfo{}, apiserver.Unauthorized(err)
	}
	if err != nil {
		return api.SessionInfo{}, err
	}
	s, err := d.remote.users.Session(token)
	if err != nil {
		return api.SessionInfo{}, err
	}
	d.record(audit.Entry{User: l.User, Source: source, Action: "login", Result: "ok"})
	return api.SessionInfo{Token: token, User: s.User, Role: s.Role, IdleTimeout: d.sessionTimeout().String()}, nil
}

// Logout implements apiserver.RemoteService: the session's token is revoked.
func (d *Daemon) Logout(ctx context.Context, token string) error {
	p := apiserver.PrincipalFrom(ctx)
	d.record(audit.Entry{User: p.User, Source: p.Source, Action: "logout", Result: "ok"})
	return d.remote.users.Logout(token)
}

// Users implements apiserver.RemoteService.
func (d *Daemon) Users(context.Context) ([]api.User, error) {
	out := []api.User{}
	for _, u := range d.remote.users.Users() {
		out = append(out, api.User{Name: u.Name, Role: u.Role})
	}
	return out, nil
}

// AddUser implements apiserver.RemoteService.
//
// Changes of users and roles hold d.mu, as every change of a file a
// restore replaces: otherwise one landing during a restore would write
// back, from memory, the users the restore just replaced.
func (d *Daemon) AddUser(ctx context.Context, u api.NewUser) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.pendingRestore(); err != nil {
		return err
	}
	return d.userChange(ctx, "user.add", u.Name, "role", "", u.Role, d.remote.users.AddUserAs(actor(ctx), u.Name, u.Password, u.Role))
}

// PatchUser implements apiserver.RemoteService. Users change their own
// password whatever their role (the route admits every session);
// anything else needs Host.Config.Users.
func (d *Daemon) PatchUser(ctx context.Context, name string, p api.UserPatch) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.pendingRestore(); err != nil {
		return err
	}
	if pr := apiserver.PrincipalFrom(ctx); pr.Console || pr.User != name || p.Role != nil || p.Password == nil {
		if err := d.remote.users.Require(actor(ctx), auth.HostConfigUsers); err != nil {
			d.record(audit.Entry{User: pr.User, Source: pr.Source, Action: "PATCH " + api.PathUsers + "/" + name, Result: "denied", Detail: err.Error()})
			return apiserver.Forbidden(err)
		}
	}
	if p.Password != nil {
		if err := d.userChange(ctx, "user.passwd", name, "password", "", "", d.remote.users.SetPasswordAs(actor(ctx), name, p.OldPassword, *p.Password)); err != nil {
			return err
		}
	}
	if p.Role != nil {
		old := ""
		for _, u := range d.remote.users.Users() {
			if u.Name == name {
				old = u.Role
			}
		}
		return d.userChange(ctx, "user.role", name, "role", old, *p.Role, d.remote.users.SetRoleAs(actor(ctx), name, *p.Role))
	}
	return nil
}

// RemoveUser implements apiserver.RemoteService.
func (d *Daemon) RemoveUser(ctx context.Context, name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.pendingRestore(); err != nil {
		return err
	}
	return d.userChange(ctx, "user.remove", name, "", "", "", d.remote.users.RemoveUserAs(actor(ctx), name))
}

// Roles implements apiserver.RemoteService.
func (d *Daemon) Roles(context.Context) ([]api.Role, error) {
	out := []api.Role{}
	for _, r := range d.remote.users.Roles() {
		role := api.Role{Name: r.Name, BuiltIn: r.BuiltIn, Privileges: []string{}}
		for _, p := range r.Privileges {
			role.Privileges = append(role.Privileges, string(p))
		}
		out = append(out, role)
	}
	return out, nil
}

// AddRole implements apiserver.RemoteService.
func (d *Daemon) AddRole(ctx context.Context, r api.Role) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.pendingRestore(); err != nil {
		return err
	}
	var privs []auth.Privilege
	for _, s := range r.Privileges {
		p, err := auth.ParsePrivilege(s)
		if err != nil {
			return d.userChange(ctx, "role.add", r.Name, "", "", "", fmt.Errorf("%w: %v", auth.ErrInvalid, err))
		}
		privs = append(privs, p)
	}
	return d.userChange(ctx, "role.add", r.Name, "privileges", "", fmt.Sprint(r.Privileges), d.remote.users.AddRoleAs(actor(ctx), r.Name, privs))
}

// RemoveRole implements apiserver.RemoteService.
func (d *Daemon) RemoveRole(ctx context.Context, name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.pendingRestore(); err != nil {
		return err
	}
	return d.userChange(ctx, "role.remove", name, "", "", "", d.remote.users.RemoveRole(name))
}

// actor is the principal of ctx as the user store bounds it.
func actor(ctx context.Context) auth.Actor {
	p := apiserver.PrincipalFrom(ctx)
	return auth.Actor{User: p.User, Source: p.Source, Console: p.Console}
}

// holdsAll returns nil if the principal of ctx holds every privilege now
// (the console, the Administrator role or a custom role with all of them),
// and otherwise a 403 naming what needs them and what is lacking.
func (d *Daemon) holdsAll(ctx context.Context, what string) error {
	if err := d.remote.users.RequireAll(actor(ctx), what); err != nil {
		return apiserver.Forbidden(err)
	}
	return nil
}

// userChange audits a change of users or roles and maps its error.
func (d *Daemon) userChange(ctx context.Context, action, name, setting, old, new string, err error) error {
	p := apiserver.PrincipalFrom(ctx)
	e := audit.Entry{User: p.User, Source: p.Source, Action: action + " " + name, Setting: setting, Old: old, New: new, Result: "ok"}
	if err != nil {
		e.Result, e.Detail = "invalid", err.Error()
	}
	var le *auth.LoginError
	if errors.Is(err, auth.ErrForbidden) || errors.As(err, &le) {
		e.Result = "denied"
	}
	d.record(e)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &le) && errors.Is(err, auth.ErrRateLimited):
		return &apiserver.TooManyError{Err: err, RetryAfter: le.RetryAfter}
	case errors.Is(err, auth.ErrForbidden), errors.As(err, &le):
		return apiserver.Forbidden(err)
	case errors.Is(err, auth.ErrNotFound):
		return apiserver.NotFound(err)
	case errors.Is(err, auth.ErrExists), errors.Is(err, auth.ErrLastAdministrator), errors.Is(err, auth.ErrRoleInUse):
		return apiserver.Conflict(err)
	case errors.Is(err, auth.ErrInvalid):
		return apiserver.Invalid(err)
	}
	return err
}

// Identity implements apiserver.RemoteService.
func (d *Daemon) Identity() api.Identity {
	if d.remote.identity == nil {
		return api.Identity{}
	}
	return api.Identity{Fingerprint: d.remote.identity.Fingerprint()}
}
