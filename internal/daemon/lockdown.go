package daemon

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"hostagent/internal/configstore"
	"hostagent/manage/api"
	"hostagent/manage/apiserver"
	"hostagent/manage/audit"
	"hostagent/manage/auth"
)

// lockdownState is lockdown.toml.
type lockdownState struct {
	// Enabled is how files written before the modes existed say "on".
	Enabled        bool     `toml:"enabled,omitempty"`
	Mode           string   `toml:"mode"`
	ExceptionUsers []string `toml:"exception_users"`
}

const lockdownHeader = "Lockdown mode of remote management. Written by the daemon: change it with vicfg-hostops."

// readLockdown reads a lockdown file (a missing one is disabled) against
// the users it will apply to. A file from before the modes ("enabled =
// true") is normal mode with, as exception users, those the old lockdown
// let in: every user whose role lacks some privilege. migrated says so,
// for the caller to write the file anew and tell the operator.
func readLockdown(path string, users *auth.Store) (l auth.Lockdown, migrated bool, err error) {
	var st lockdownState
	if _, err := configstore.Load(path, &st); err != nil {
		return auth.Lockdown{}, false, err
	}
	if st.Mode == "" && st.Enabled {
		st.Mode = string(auth.LockdownNormal)
		admins := users.Administrators()
		for _, u := range users.Users() {
			if !slices.Contains(admins, u.Name) {
				st.ExceptionUsers = append(st.ExceptionUsers, u.Name)
			}
		}
		migrated = true
	}
	if l, err = auth.NewLockdown(st.Mode, st.ExceptionUsers); err != nil {
		return auth.Lockdown{}, false, fmt.Errorf("config %s: %w", path, err)
	}
	return l, migrated, nil
}

func saveLockdown(path string, l auth.Lockdown) error {
	return configstore.Save(path, lockdownState{Mode: string(l.Mode), ExceptionUsers: l.Exceptions}, 0o640, lockdownHeader)
}

// loadLockdown puts the state directory's lockdown file in force, at start
// and after a restore or reset replaced it.
func (d *Daemon) loadLockdown() error {
	path := filepath.Join(d.opts.StateDir, lockdownFile)
	l, migrated, err := readLockdown(path, d.remote.users)
	if err != nil {
		return err
	}
	if migrated {
		if err := saveLockdown(path, l); err != nil {
			return err
		}
		d.log.Warn("lockdown.toml predates lockdown modes: now normal mode, with the users the old lockdown let in as exception users; change them with vicfg-hostops --exception-users",
			"file", path, "exception_users", strings.Join(l.Exceptions, ","))
	}
	if ended := d.remote.users.LoadLockdown(l); len(ended) > 0 {
		d.log.Info("lockdown: sessions ended", "users", strings.Join(ended, ","))
	}
	return nil
}

// Lockdown implements apiserver.RemoteService.
func (d *Daemon) Lockdown(context.Context) api.Lockdown {
	return lockdownAPI(d.remote.users.Lockdown())
}

func lockdownAPI(l auth.Lockdown) api.Lockdown {
	return api.Lockdown{Enabled: l.On(), Mode: string(l.Mode), ExceptionUsers: append([]string{}, l.Exceptions...)}
}

// SetLockdown implements apiserver.RemoteService. Every change needs every
// privilege. Over the network, lockdown can be entered or made stricter,
// never weakened (a lower mode, or a user added to the exceptions while it
// is on): only the console does that, as only ESXi's DCUI leaves lockdown.
// Entering lockdown ends the sessions it refuses.
func (d *Daemon) SetLockdown(ctx context.Context, c api.LockdownChange) error {
	p := apiserver.PrincipalFrom(ctx)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.pendingRestore(); err != nil {
		return err
	}
	cur := d.remote.users.Lockdown()
	next, err := nextLockdown(cur, c)
	deny := func(err error) error {
		d.record(audit.Entry{User: p.User, Source: p.Source, Action: "lockdown", Setting: "mode", Old: cur.String(), New: next.String(), Result: "denied", Detail: err.Error()})
		return apiserver.Forbidden(err)
	}
	if err != nil {
		d.record(audit.Entry{User: p.User, Source: p.Source, Action: "lockdown", Result: "invalid", Detail: err.Error()})
		return apiserver.Invalid(err)
	}
	// Lockdown decides who manages the host over the network: entering
	// it could lock every Administrator out, the exception users are the
	// ones let in. So any change needs every privilege.
	if err := d.holdsAll(ctx, "changing lockdown"); err != nil {
		return deny(err)
	}
	if weaker := cur.Weakens(next); len(weaker) > 0 && !p.Console {
		return deny(fmt.Errorf("lockdown mode %s: changing %s is refused over the network; only the console (the local socket) weakens lockdown", cur.Mode, strings.Join(weaker, ", ")))
	}
	if next.Equal(cur) {
		return nil
	}
	ended, err := d.remote.users.SetLockdown(next)
	if err != nil {
		d.record(audit.Entry{User: p.User, Source: p.Source, Action: "lockdown", Result: "invalid", Detail: err.Error()})
		return apiserver.NotFound(err)
	}
	if err := saveLockdown(filepath.Join(d.opts.StateDir, lockdownFile), next); err != nil {
		d.remote.users.LoadLockdown(cur) // as it was: the file is what the next start applies
		return err
	}
	e := audit.Entry{User: p.User, Source: p.Source, Action: "lockdown", Result: "ok"}
	if cur.Mode != next.Mode {
		e.Setting, e.Old, e.New = "mode", string(cur.Mode), string(next.Mode)
		d.record(e)
	}
	if !slices.Equal(cur.Exceptions, next.Exceptions) {
		e.Setting, e.Old, e.New = "exception_users", strings.Join(cur.Exceptions, ","), strings.Join(next.Exceptions, ",")
		d.record(e)
	}
	if len(ended) > 0 {
		e.Setting, e.Old, e.New = "", "", ""
		e.Action, e.Detail = "lockdown.sessions", "ended the sessions of "+strings.Join(ended, ", ")
		d.record(e)
	}
	return nil
}

// nextLockdown applies a change to cur: fields left out (or an empty mode,
// as a state read with GET and sent back unchanged has none) keep their
// value; enabled = true is normal mode unless cur is already stricter.
func nextLockdown(cur auth.Lockdown, c api.LockdownChange) (auth.Lockdown, error) {
	mode := string(cur.Mode)
	switch {
	case c.Mode != nil && *c.Mode != "":
		mode = *c.Mode
		if m, err := auth.ParseLockdownMode(mode); err == nil && c.Enabled != nil && *c.Enabled != (m != auth.LockdownDisabled) {
			return auth.Lockdown{}, fmt.Errorf("lockdown: enabled %v contradicts mode %s", *c.Enabled, mode)
		}
	case c.Enabled != nil && !*c.Enabled:
		mode = string(auth.LockdownDisabled)
	case c.Enabled != nil && !cur.On():
		mode = string(auth.LockdownNormal)
	}
	exceptions := cur.Exceptions
	if c.ExceptionUsers != nil {
		exceptions = *c.ExceptionUsers
		if len(exceptions) > auth.MaxExceptionUsers {
			return auth.Lockdown{}, fmt.Errorf("lockdown exception users: %d given, at most %d allowed", len(exceptions), auth.MaxExceptionUsers)
		}
	}
	return auth.NewLockdown(mode, exceptions)
}

// Locks implements apiserver.RemoteService: who is being guessed at, and
// from where, is for those who hold every privilege (or the console).
func (d *Daemon) Locks(ctx context.Context) ([]api.Lock, error) {
	if err := d.holdsAll(ctx, "listing login locks"); err != nil {
		return nil, err
	}
	out := []api.Lock{}
	for _, l := range d.remote.users.Locks() {
		lk := api.Lock{User: l.User, Source: l.Source, Failures: l.Failures}
		if !l.LockedUntil.IsZero() {
			lk.LockedUntil = l.LockedUntil.UTC().Format(time.RFC3339)
		}
		out = append(out, lk)
	}
	return out, nil
}

// Unlock implements apiserver.RemoteService.
func (d *Daemon) Unlock(ctx context.Context, target string) (int, error) {
	p := apiserver.PrincipalFrom(ctx)
	e := audit.Entry{User: p.User, Source: p.Source, Action: "login.unlock", Setting: audit.Cut(target, 64)}
	if err := d.holdsAll(ctx, "clearing login locks"); err != nil {
		e.Result, e.Detail = "denied", err.Error()
		d.record(e)
		return 0, err
	}
	n, err := d.remote.users.Unlock(target)
	if err != nil {
		e.Result, e.Detail = "invalid", err.Error()
		d.record(e)
		return 0, apiserver.NotFound(err)
	}
	e.Result, e.Detail = "ok", fmt.Sprintf("%d cleared", n)
	d.record(e)
	return n, nil
}
