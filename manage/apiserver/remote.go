package apiserver

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"hostagent/manage/api"
	"hostagent/manage/auth"
)

// Principal is who makes a request: the console (the local socket, which
// only root and the socket's group can open) or a logged-in user.
type Principal struct {
	User    string
	Role    string
	Source  string // "unix", or the client's address
	Console bool
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p, for changes that come from
// elsewhere than a request (a hand edit of a configuration file).
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns who makes the request of ctx (the console when the
// request did not come through a gate).
func PrincipalFrom(ctx context.Context) Principal {
	if p, ok := ctx.Value(principalKey{}).(Principal); ok {
		return p
	}
	return Console
}

// Console is the principal of the local socket: all privileges, as ESXi's
// console has them.
var Console = Principal{User: "root", Role: auth.RoleAdministrator, Source: "unix", Console: true}

// Gate admits a request needing a privilege, or says why not.
type Gate interface {
	Admit(r *http.Request, privilege auth.Privilege) (Principal, error)
}

// ConsoleGate admits everything: the socket's permissions did the checking.
type ConsoleGate struct{}

// Admit implements Gate.
func (ConsoleGate) Admit(*http.Request, auth.Privilege) (Principal, error) { return Console, nil }

// RemoteService is what the daemon offers for users, sessions and lockdown.
type RemoteService interface {
	Login(ctx context.Context, l api.Login, source string) (api.SessionInfo, error)
	Logout(ctx context.Context, token string) error
	Users(ctx context.Context) ([]api.User, error)
	AddUser(ctx context.Context, u api.NewUser) error
	PatchUser(ctx context.Context, name string, p api.UserPatch) error
	RemoveUser(ctx context.Context, name string) error
	Roles(ctx context.Context) ([]api.Role, error)
	AddRole(ctx context.Context, r api.Role) error
	RemoveRole(ctx context.Context, name string) error
	Lockdown(ctx context.Context) api.Lockdown
	SetLockdown(ctx context.Context, c api.LockdownChange) error
	// Locks lists the login limiter's locks; Unlock clears those of a
	// user name or a source address, and says how many.
	Locks(ctx context.Context) ([]api.Lock, error)
	Unlock(ctx context.Context, target string) (int, error)
	Identity() api.Identity
	// Denied is told of every refused request, for the audit log.
	Denied(r *http.Request, p Principal, err error)
}

// AuditService reads the audit trail; a RemoteService that implements it
// gets the route of api.PathAudit.
type AuditService interface {
	// QueryAudit answers an audit query; q is valid (api.ParseAuditQuery).
	QueryAudit(ctx context.Context, q api.AuditQuery) (api.AuditPage, error)
}

// RolePrivilegesService says what a role grants; a RemoteService that
// implements it has sessions report their privileges (the console shows
// or hides its forms by them).
type RolePrivilegesService interface {
	// RolePrivileges lists the privileges role grants now, sorted; none
	// for an unknown role.
	RolePrivileges(role string) []string
}

// More errors services return, with their HTTP statuses.
func Unauthorized(err error) error { return &StatusError{http.StatusUnauthorized, err} }
func Forbidden(err error) error    { return &StatusError{http.StatusForbidden, err} }
func NotFound(err error) error     { return &StatusError{http.StatusNotFound, err} }

// TooManyError is a refusal to try again before RetryAfter: 429 Too Many
// Requests (this client's limit), or Code, e.g. 503 Service Unavailable
// (the host's limit).
type TooManyError struct {
	Err        error
	RetryAfter time.Duration
	Code       int // 0: 429
}

func (e *TooManyError) Error() string { return e.Err.Error() }
func (e *TooManyError) Unwrap() error { return e.Err }

// guard wraps a handler: the gate admits the request for privilege (the
// principal goes into the request's context) or it is refused.
func guard(gate Gate, remote RemoteService, privilege auth.Privilege, log *slog.Logger, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := gate.Admit(r, privilege)
		if err != nil {
			if remote != nil {
				remote.Denied(r, p, err)
			}
			reply(w, log, nil, err)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	}
}

// tooMany answers err with its status (429 unless it says otherwise) and
// Retry-After if it is a *TooManyError, and reports whether it did.
func tooMany(w http.ResponseWriter, err error) bool {
	var tm *TooManyError
	if !errors.As(err, &tm) {
		return false
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(tm.RetryAfter.Seconds()+0.5)))
	w.Header().Set("Content-Type", "application/json")
	code := http.StatusTooManyRequests
	if tm.Code != 0 {
		code = tm.Code
	}
	w.WriteHeader(code)
	_, _ = w.Write([]byte(`{"error":` + strconv.Quote(err.Error()) + "}\n"))
	return true
}

// BearerToken is the token of "Authorization: Bearer TOKEN".
func BearerToken(r *http.Request) string {
	t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return ""
	}
	return strings.TrimSpace(t)
}

// routeRemote adds the routes of users, roles, sessions, lockdown and
// identity; open is a guard that needs no privilege (login, identity).
func routeRemote(mux *http.ServeMux, gate Gate, svc RemoteService, log *slog.Logger) {
	g := func(p auth.Privilege, h http.HandlerFunc) http.HandlerFunc { return guard(gate, svc, p, log, h) }
	mux.HandleFunc("POST "+api.PathSession, func(w http.ResponseWriter, r *http.Request) {
		var l api.Login
		if err := decode(r, &l); err != nil {
			reply(w, log, nil, err)
			return
		}
		s, err := svc.Login(r.Context(), l, r.RemoteAddr)
		if tooMany(w, err) {
			return
		}
		if err == nil && s.Privileges == nil {
			s.Privileges = privileges(svc, Principal{User: s.User, Role: s.Role})
		}
		reply(w, log, s, err)
	})
	// Who the session is (no token): vicfg-user asks for the current
	// password only when users change their own; the console shows the
	// forms the privileges allow.
	mux.HandleFunc("GET "+api.PathSession, g(auth.Privilege(""), func(w http.ResponseWriter, r *http.Request) {
		p := PrincipalFrom(r.Context())
		reply(w, log, api.SessionInfo{User: p.User, Role: p.Role, Privileges: privileges(svc, p)}, nil)
	}))
	if a, ok := svc.(AuditService); ok {
		mux.HandleFunc("GET "+api.PathAudit, g(auth.HostConfigUsers, func(w http.ResponseWriter, r *http.Request) {
			q, err := api.ParseAuditQuery(r.URL.Query())
			if err != nil {
				reply(w, log, nil, Invalid(err))
				return
			}
			page, err := a.QueryAudit(r.Context(), q)
			if _, denied := gate.Admit(r, auth.HostConfigSNMP); err == nil && denied != nil {
				page = page.WithoutSNMPDetails()
			}
			reply(w, log, page, err)
		}))
	}
	mux.HandleFunc("DELETE "+api.PathSession, g(auth.Privilege(""), func(w http.ResponseWriter, r *http.Request) {
		reply(w, log, struct{}{}, svc.Logout(r.Context(), BearerToken(r)))
	}))
	mux.HandleFunc("GET "+api.PathIdentity, func(w http.ResponseWriter, r *http.Request) {
		reply(w, log, svc.Identity(), nil)
	})
	mux.HandleFunc("GET "+api.PathUsers, g(auth.HostConfigUsers, func(w http.ResponseWriter, r *http.Request) {
		us, err := svc.Users(r.Context())
		reply(w, log, us, err)
	}))
	mux.HandleFunc("POST "+api.PathUsers, g(auth.HostConfigUsers, func(w http.ResponseWriter, r *http.Request) {
		var u api.NewUser
		if err := decode(r, &u); err != nil {
			reply(w, log, nil, err)
			return
		}
		reply(w, log, struct{}{}, svc.AddUser(r.Context(), u))
	}))
	// Every session is admitted: users change their own password (giving
	// the current one) whatever their role; the service requires
	// Host.Config.Users for anything else.
	mux.HandleFunc("PATCH "+api.PathUsers+"/{name}", g(auth.Privilege(""), func(w http.ResponseWriter, r *http.Request) {
		var p api.UserPatch
		if err := decode(r, &p); err != nil {
			reply(w, log, nil, err)
			return
		}
		// A wrong current password counts as a failed login: 429 once
		// the limiter refuses.
		if err := svc.PatchUser(r.Context(), r.PathValue("name"), p); !tooMany(w, err) {
			reply(w, log, struct{}{}, err)
		}
	}))
	mux.HandleFunc("DELETE "+api.PathUsers+"/{name}", g(auth.HostConfigUsers, func(w http.ResponseWriter, r *http.Request) {
		reply(w, log, struct{}{}, svc.RemoveUser(r.Context(), r.PathValue("name")))
	}))
	mux.HandleFunc("GET "+api.PathRoles, g(auth.HostConfigUsers, func(w http.ResponseWriter, r *http.Request) {
		rs, err := svc.Roles(r.Context())
		reply(w, log, rs, err)
	}))
	mux.HandleFunc("POST "+api.PathRoles, g(auth.HostConfigUsers, func(w http.ResponseWriter, r *http.Request) {
		var role api.Role
		if err := decode(r, &role); err != nil {
			reply(w, log, nil, err)
			return
		}
		reply(w, log, struct{}{}, svc.AddRole(r.Context(), role))
	}))
	mux.HandleFunc("DELETE "+api.PathRoles+"/{name}", g(auth.HostConfigUsers, func(w http.ResponseWriter, r *http.Request) {
		reply(w, log, struct{}{}, svc.RemoveRole(r.Context(), r.PathValue("name")))
	}))
	mux.HandleFunc("GET "+api.PathLockdown, g(auth.SystemRead, func(w http.ResponseWriter, r *http.Request) {
		reply(w, log, svc.Lockdown(r.Context()), nil)
	}))
	mux.HandleFunc("PUT "+api.PathLockdown, g(auth.HostConfigUsers, func(w http.ResponseWriter, r *http.Request) {
		var c api.LockdownChange
		if err := decode(r, &c); err != nil {
			reply(w, log, nil, err)
			return
		}
		err := svc.SetLockdown(r.Context(), c) // before reading the state it answers with
		reply(w, log, svc.Lockdown(r.Context()), err)
	}))
	// Locks: the daemon asks for every privilege beyond the route's.
	mux.HandleFunc("GET "+api.PathLocks, g(auth.HostConfigUsers, func(w http.ResponseWriter, r *http.Request) {
		locks, err := svc.Locks(r.Context())
		reply(w, log, locks, err)
	}))
	mux.HandleFunc("DELETE "+api.PathLocks+"/{target}", g(auth.HostConfigUsers, func(w http.ResponseWriter, r *http.Request) {
		n, err := svc.Unlock(r.Context(), r.PathValue("target"))
		reply(w, log, api.Unlocked{Cleared: n}, err)
	}))
	mux.HandleFunc("GET "+api.PathHealth, g(auth.SystemRead, func(w http.ResponseWriter, r *http.Request) {
		reply(w, log, map[string]string{"status": "ok"}, nil)
	}))
}

// privileges lists what p holds: every privilege for the console, else
// what its role grants (nil when svc cannot say).
func privileges(svc RemoteService, p Principal) []string {
	if p.Console {
		var out []string
		for _, priv := range auth.Privileges() {
			out = append(out, string(priv))
		}
		return out
	}
	if rp, ok := svc.(RolePrivilegesService); ok {
		return rp.RolePrivileges(p.Role)
	}
	return nil
}
