// Package apiserver routes the management API: it decodes requests, asks
// the gate (console or HTTPS session) for the privilege each route needs,
// calls the daemon's services and writes their answers or errors.
package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	"hostagent/manage/api"
	"hostagent/manage/auth"
	"hostagent/snmpagent/snmpconfig"
)

// SNMPService is what the daemon offers the API for the SNMP agent.
type SNMPService interface {
	SNMPState() api.SNMPState
	// UpdateSNMP applies change to a copy of the stored configuration,
	// validates, stores and applies it, all or nothing.
	UpdateSNMP(ctx context.Context, change func(*snmpconfig.Config)) (api.SNMPState, error)
	// TestSNMP sends warmStart to every target and reports each result.
	TestSNMP(ctx context.Context) ([]snmpconfig.TestResult, error)
}

// SyslogService is what the daemon offers the API for the syslog forwarder.
type SyslogService interface {
	SyslogState() api.SyslogState
	// UpdateSyslog applies a patch as UpdateSNMP does: validated, stored,
	// applied, all or nothing.
	UpdateSyslog(ctx context.Context, p api.SyslogPatch) (api.SyslogState, error)
	// MarkSyslog sends message through the pipeline to every loghost.
	MarkSyslog(ctx context.Context, message string) error
	// ReloadSyslog reads syslog.toml again and reopens the inputs.
	ReloadSyslog(ctx context.Context) (api.SyslogState, error)
}

// StatusError carries the HTTP status a service error maps to.
type StatusError struct {
	Code int
	Err  error
}

func (e *StatusError) Error() string { return e.Err.Error() }
func (e *StatusError) Unwrap() error { return e.Err }

// Invalid marks err as the caller's fault (HTTP 400).
func Invalid(err error) error { return &StatusError{http.StatusBadRequest, err} }

// Conflict marks err as a request the current state refuses (HTTP 409).
func Conflict(err error) error { return &StatusError{http.StatusConflict, err} }

// maxBody bounds request bodies; the largest legitimate one is a few KiB.
const maxBody = 1 << 20

// NewHandler routes the API of the local socket (the console: every
// privilege) to the services; a nil syslog or remote service leaves its
// routes out.
func NewHandler(snmp SNMPService, syslog SyslogService, log *slog.Logger) http.Handler {
	return NewGatedHandler(ConsoleGate{}, Services{SNMP: snmp, Syslog: syslog}, log)
}

// Services are the daemon's services the API routes to.
type Services struct {
	SNMP    SNMPService
	Syslog  SyslogService
	Remote  RemoteService
	Metrics MetricsService
	Backup  BackupService
	Observe ObserveService
}

// BackupService saves, restores and resets the whole configuration.
type BackupService interface {
	SaveBackup(ctx context.Context, certificates bool) (api.Backup, error)
	LoadBackup(ctx context.Context, b api.Backup) error
	ResetConfig(ctx context.Context) error
}

// MetricsService serves the daemon's metrics, in the exposition format the
// scraper negotiates; the route adds the privilege check.
type MetricsService interface {
	MetricsHandler() http.Handler
}

// NewGatedHandler routes the API through gate: each route needs one
// privilege, and a refused request gets an error naming it.
func NewGatedHandler(gate Gate, svc Services, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	g := func(p auth.Privilege, h http.HandlerFunc) http.HandlerFunc { return guard(gate, svc.Remote, p, log, h) }
	if svc.Syslog != nil {
		routeSyslog(mux, g, svc.Syslog, log)
	}
	if svc.Remote != nil {
		routeRemote(mux, gate, svc.Remote, log)
	}
	if svc.Backup != nil {
		mux.HandleFunc("GET "+api.PathBackup, g(auth.HostConfigBackup, func(w http.ResponseWriter, r *http.Request) {
			b, err := svc.Backup.SaveBackup(r.Context(), r.URL.Query().Get("certificates") != "false")
			reply(w, log, b, err)
		}))
		mux.HandleFunc("PUT "+api.PathBackup, g(auth.HostConfigBackup, func(w http.ResponseWriter, r *http.Request) {
			var b api.Backup
			if err := decode(r, &b); err != nil {
				reply(w, log, nil, err)
				return
			}
			reply(w, log, struct{}{}, svc.Backup.LoadBackup(r.Context(), b))
		}))
		mux.HandleFunc("POST "+api.PathBackupReset, g(auth.HostConfigBackup, func(w http.ResponseWriter, r *http.Request) {
			reply(w, log, struct{}{}, svc.Backup.ResetConfig(r.Context()))
		}))
	}
	if svc.Observe != nil {
		routeObserve(mux, g, gate, svc.Observe, log)
	}
	if svc.Metrics != nil {
		mux.HandleFunc("GET "+api.PathMetrics, g(auth.SystemRead, svc.Metrics.MetricsHandler().ServeHTTP))
	}
	snmp := svc.SNMP
	mux.HandleFunc("GET "+api.PathSNMP, g(auth.SystemRead, func(w http.ResponseWriter, r *http.Request) {
		st := snmp.SNMPState()
		// Communities are passwords in all but name: shown only to whom
		// the gate would let set them (the console, Host.Config.SNMP).
		if _, err := gate.Admit(r, auth.HostConfigSNMP); err != nil {
			st = st.WithoutCommunities()
		}
		reply(w, log, st, nil)
	}))
	mux.HandleFunc("PATCH "+api.PathSNMP, g(auth.HostConfigSNMP, func(w http.ResponseWriter, r *http.Request) {
		var p api.SNMPPatch
		if err := decode(r, &p); err != nil {
			reply(w, log, nil, err)
			return
		}
		st, err := snmp.UpdateSNMP(r.Context(), p.Apply)
		reply(w, log, st, err)
	}))
	mux.HandleFunc("POST "+api.PathSNMPTest, g(auth.HostConfigSNMP, func(w http.ResponseWriter, r *http.Request) {
		res, err := snmp.TestSNMP(r.Context())
		reply(w, log, res, err)
	}))
	// Bound every body, decoded or not; over the limit the connection is
	// closed after the answer rather than drained.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		mux.ServeHTTP(w, r)
	})
}

func routeSyslog(mux *http.ServeMux, g func(auth.Privilege, http.HandlerFunc) http.HandlerFunc, svc SyslogService, log *slog.Logger) {
	mux.HandleFunc("GET "+api.PathSyslog, g(auth.SystemRead, func(w http.ResponseWriter, r *http.Request) {
		reply(w, log, svc.SyslogState(), nil)
	}))
	mux.HandleFunc("PATCH "+api.PathSyslog, g(auth.HostConfigSyslog, func(w http.ResponseWriter, r *http.Request) {
		var p api.SyslogPatch
		if err := decode(r, &p); err != nil {
			reply(w, log, nil, err)
			return
		}
		st, err := svc.UpdateSyslog(r.Context(), p)
		reply(w, log, st, err)
	}))
	mux.HandleFunc("POST "+api.PathSyslogMark, g(auth.HostConfigSyslog, func(w http.ResponseWriter, r *http.Request) {
		var m api.SyslogMark
		if err := decode(r, &m); err != nil {
			reply(w, log, nil, err)
			return
		}
		reply(w, log, struct{}{}, svc.MarkSyslog(r.Context(), m.Message))
	}))
	mux.HandleFunc("POST "+api.PathSyslogReload, g(auth.HostConfigSyslog, func(w http.ResponseWriter, r *http.Request) {
		st, err := svc.ReloadSyslog(r.Context())
		reply(w, log, st, err)
	}))
}

// decode reads a JSON body strictly: unknown fields are errors, so a client
// newer than the daemon is told rather than silently ignored. A body over
// maxBody is answered 413 Request Entity Too Large.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &StatusError{http.StatusRequestEntityTooLarge, fmt.Errorf("request body: larger than the limit of %d bytes", tooBig.Limit)}
		}
		return Invalid(fmt.Errorf("request body: %w", err))
	}
	if dec.More() {
		return Invalid(errors.New("request body: more than one JSON value"))
	}
	return nil
}

func reply(w http.ResponseWriter, log *slog.Logger, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	// Answers may hold secrets (communities, a backup's hashes and key):
	// no cache along the way keeps them, and no browser reads them as
	// anything but JSON.
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if err != nil {
		code := http.StatusInternalServerError
		var se *StatusError
		if errors.As(err, &se) {
			code = se.Code
		} else {
			log.Error("api request failed", "err", err)
		}
		w.WriteHeader(code)
		v = api.Error{Error: err.Error()}
	}
	_ = json.NewEncoder(w).Encode(v)
}

// ListenUnix creates the API socket at path with mode 0660, owned by group
// when one is named, so that only root and that group may connect.
func ListenUnix(path, group string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("api socket %s: %w", path, err)
	}
	if st, err := os.Lstat(path); err == nil {
		if st.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("api socket %s: exists and is not a socket; remove it or choose another --api-socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("api socket %s: another hostagentd is listening on it", path)
		}
		_ = os.Remove(path) // left behind by a daemon that was killed
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("api socket %s: %w", path, err)
	}
	gid := -1
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("api socket group %q: %w", group, err)
		}
		gid, _ = strconv.Atoi(g.Gid)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		l.Close()
		return nil, fmt.Errorf("api socket %s: %w", path, err)
	}
	if gid >= 0 {
		if err := os.Chown(path, -1, gid); err != nil {
			l.Close()
			return nil, fmt.Errorf("api socket %s: chown to group %q: %w", path, group, err)
		}
	}
	return l, nil
}
