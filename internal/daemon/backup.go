package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"hostagent/internal/configstore"
	"hostagent/manage/api"
	"hostagent/manage/apiserver"
	"hostagent/manage/audit"
	"hostagent/manage/auth"
	"hostagent/manage/tlsid"
	"hostagent/syslogd/forward"
)

// backupFile is one file a backup holds, by its key in Backup.Files.
type backupFile struct {
	key   string
	state bool // in the state directory (else the config directory)
	name  string
	cert  bool // part of the TLS identity: left out on request
	// guarded: it decides who manages the host (users and roles, lockdown,
	// the TLS identity), so restoring it needs every privilege, and the
	// console while lockdown is on.
	guarded bool
	// secret: it holds what only Administrators may download (password
	// hashes, the TLS private key, which goes with its certificate).
	secret bool
}

var backupFiles = []backupFile{
	{key: "config/" + SNMPFile, name: SNMPFile},
	{key: "config/" + CollectorsFile, name: CollectorsFile},
	{key: "config/" + SyslogFile, name: SyslogFile},
	{key: "state/" + usersFile, state: true, name: usersFile, guarded: true, secret: true},
	{key: "state/" + lockdownFile, state: true, name: lockdownFile, guarded: true},
	{key: "state/" + tlsid.CertName, state: true, name: tlsid.CertName, cert: true, guarded: true, secret: true},
	{key: "state/" + tlsid.KeyName, state: true, name: tlsid.KeyName, cert: true, guarded: true, secret: true},
}

func (d *Daemon) backupPath(f backupFile) string {
	if f.state {
		return filepath.Join(d.opts.StateDir, f.name)
	}
	return filepath.Join(d.opts.ConfigDir, f.name)
}

// SaveBackup implements apiserver.BackupService: every file that exists; one
// that does not means its defaults, and is left out.
func (d *Daemon) SaveBackup(ctx context.Context, certificates bool) (api.Backup, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	host, _ := os.Hostname()
	b := api.Backup{Format: api.BackupFormat, Version: api.BackupVersion, Created: time.Now().UTC().Format(time.RFC3339), Host: host, Files: map[string]string{}}
	// Password hashes and the TLS key are for those who hold every
	// privilege: a Host.Config.Backup holder could otherwise attack the
	// hashes offline or impersonate the host.
	secrets := d.remote.users.RequireAll(actor(ctx), "") == nil
	for _, f := range backupFiles {
		if f.cert && !certificates {
			continue
		}
		if f.secret && !secrets {
			b.Omitted = append(b.Omitted, f.key)
			continue
		}
		data, err := os.ReadFile(d.backupPath(f))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return api.Backup{}, fmt.Errorf("backup: %w", err)
		}
		b.Files[f.key] = string(data)
	}
	p := apiserver.PrincipalFrom(ctx)
	detail := fmt.Sprintf("%d files", len(b.Files))
	if len(b.Omitted) > 0 {
		detail += ", secrets omitted: " + strings.Join(b.Omitted, ", ")
	}
	d.record(audit.Entry{User: p.User, Source: p.Source, Action: "backup.save", Result: "ok", Detail: detail})
	return b, nil
}

// LoadBackup implements apiserver.BackupService. Every file is written to a
// staging folder and checked as the daemon would load it (configurations
// validated and prepared, users opened, the TLS pair loaded) before any is
// put in place; then the subsystems reload. Files the backup does not hold
// go back to their defaults, except the TLS identity, which stays.
func (d *Daemon) LoadBackup(ctx context.Context, b api.Backup) error {
	p := apiserver.PrincipalFrom(ctx)
	d.mu.Lock()
	defer d.mu.Unlock()
	err := d.restore(ctx, b)
	result := "ok"
	var se *apiserver.StatusError
	switch {
	case errors.As(err, &se) && se.Code == http.StatusForbidden:
		result = "denied"
	case err != nil:
		result = "invalid"
	}
	e := audit.Entry{User: p.User, Source: p.Source, Action: "backup.load", Result: result, Detail: "from " + b.Host + " (" + b.Created + ")"}
	if err != nil {
		e.Detail += ": " + err.Error()
	}
	d.record(e)
	return err
}

func (d *Daemon) restore(ctx context.Context, b api.Backup) error {
	if b.Format != api.BackupFormat {
		return apiserver.Invalid(fmt.Errorf("backup: format %q is not a hostagent configuration backup (%s)", b.Format, api.BackupFormat))
	}
	if b.Version < 1 || b.Version > api.BackupVersion {
		return apiserver.Invalid(fmt.Errorf("backup: version %d: this daemon reads versions 1 to %d", b.Version, api.BackupVersion))
	}
	known := map[string]backupFile{}
	for _, f := range backupFiles {
		known[f.key] = f
	}
	var unknown []string
	for key := range b.Files {
		if _, ok := known[key]; !ok {
			unknown = append(unknown, key)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return apiserver.Invalid(fmt.Errorf("backup: unknown files %s", strings.Join(unknown, ", ")))
	}
	omitted := map[string]bool{}
	for _, key := range b.Omitted {
		if _, ok := known[key]; !ok {
			return apiserver.Invalid(fmt.Errorf("backup: omitted: unknown file %q", key))
		}
		if _, ok := b.Files[key]; ok {
			return apiserver.Invalid(fmt.Errorf("backup: %s is both held and listed as omitted", key))
		}
		omitted[key] = true
	}
	_, hasCert := b.Files["state/"+tlsid.CertName]
	_, hasKey := b.Files["state/"+tlsid.KeyName]
	if hasCert != hasKey {
		return apiserver.Invalid(errors.New("backup: the TLS certificate and key go together"))
	}

	stage, err := os.MkdirTemp(d.opts.StateDir, ".restore-")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer os.RemoveAll(stage)
	for key, text := range b.Files {
		if err := os.WriteFile(filepath.Join(stage, known[key].name), []byte(text), 0o600); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
	}
	if err := d.checkRestoredPaths(ctx, stage); err != nil {
		return err
	}
	if err := d.checkStaged(ctx, stage, hasCert); err != nil {
		return apiserver.Invalid(fmt.Errorf("backup: %w", err))
	}
	if err := d.mayRestore(ctx, b, omitted, stage); err != nil {
		return err
	}
	// Valid: in place, each file by an atomic rename (or removed, for its
	// defaults), then every subsystem reloads.
	for _, f := range backupFiles {
		dst := d.backupPath(f)
		if _, ok := b.Files[f.key]; ok {
			if err := installFile(filepath.Join(stage, f.name), dst); err != nil {
				return fmt.Errorf("backup: %w", err)
			}
		} else if !f.cert && !omitted[f.key] {
			if err := d.setDefault(f); err != nil {
				return fmt.Errorf("backup: %w", err)
			}
		}
	}
	return d.reloadAll()
}

// mayRestore refuses, before anything is put in place, a restore that
// would change a guarded file (users and roles, lockdown, the TLS
// identity) unless the principal holds every privilege, and over the
// network while lockdown is on. A guarded file the restore leaves as it is
// (the same bytes, the same lockdown mode, omitted, or the TLS pair
// absent) needs nothing more than Host.Config.Backup, so a backup
// downloaded without secrets restores. Called with d.mu held, the backup's
// files checked in stage.
func (d *Daemon) mayRestore(ctx context.Context, b api.Backup, omitted map[string]bool, stage string) error {
	var changed []string
	for _, f := range backupFiles {
		if !f.guarded || omitted[f.key] {
			continue
		}
		if f.name == lockdownFile { // by its effect: a missing file is "off"
			var next lockdownState
			if _, err := configstore.Load(filepath.Join(stage, lockdownFile), &next); err != nil {
				return apiserver.Invalid(fmt.Errorf("backup: %w", err))
			}
			if next.Enabled != d.remote.lockdown {
				changed = append(changed, f.key)
			}
			continue
		}
		text, held := b.Files[f.key]
		cur, err := os.ReadFile(d.backupPath(f))
		exists := err == nil
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("backup: %w", err)
		}
		switch {
		case held && (!exists || string(cur) != text):
			changed = append(changed, f.key)
		case !held && !f.cert && exists: // back to its default
			changed = append(changed, f.key)
		}
	}
	if len(changed) == 0 {
		return nil
	}
	what := "restoring " + strings.Join(changed, ", ")
	if err := d.holdsAll(ctx, what); err != nil {
		return err
	}
	if d.remote.lockdown && !apiserver.PrincipalFrom(ctx).Console {
		return apiserver.Forbidden(fmt.Errorf("lockdown mode: %s is refused over the network; use the console (the local socket)", what))
	}
	return nil
}

// checkStaged loads each staged file as the daemon would.
func (d *Daemon) checkStaged(ctx context.Context, stage string, cert bool) error {
	snmp := d.opts.Defaults.SNMP()
	if _, err := configstore.Load(filepath.Join(stage, SNMPFile), &snmp); err != nil {
		return err
	}
	snmp.Normalize()
	plan, err := d.prepare(ctx, snmp)
	if err != nil {
		return fmt.Errorf("%s: %w", SNMPFile, err)
	}
	plan.Discard()
	col := d.opts.Defaults.Collectors()
	if _, err := configstore.Load(filepath.Join(stage, CollectorsFile), col.Ptr()); err != nil {
		return err
	}
	if err := col.Validate(); err != nil {
		return fmt.Errorf("%s: %w", CollectorsFile, err)
	}
	syslog := d.opts.Defaults.Syslog()
	if _, err := configstore.Load(filepath.Join(stage, SyslogFile), &syslog); err != nil {
		return err
	}
	if _, err := forward.Prepare(syslog); err != nil {
		return fmt.Errorf("%s: %w", SyslogFile, err)
	}
	if _, err := auth.Open(filepath.Join(stage, usersFile), nil); err != nil {
		return err
	}
	var ld lockdownState
	if _, err := configstore.Load(filepath.Join(stage, lockdownFile), &ld); err != nil {
		return err
	}
	if cert {
		if _, err := tlsid.Load(stage, filepath.Join(stage, tlsid.CertName), filepath.Join(stage, tlsid.KeyName), nil); err != nil {
			return err
		}
	}
	return nil
}

// installFile moves src over dst: a rename within one file system is
// atomic; across file systems (the staging folder is in the state dir)
// the content is written atomically instead.
func installFile(src, dst string) error {
	if err := os.Rename(src, dst); err == nil {
		return nil
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	tmp := dst + ".restore.tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// reloadAll applies the files now in place to every subsystem; the
// sessions end (users may have changed), the TLS identity restored takes
// effect at the next start.
func (d *Daemon) reloadAll() error {
	d.reloadSNMP()
	d.reloadCollectors()
	d.reloadSyslog()
	users, err := d.openUsers()
	if err != nil {
		return err
	}
	var ld lockdownState
	if _, err := configstore.Load(filepath.Join(d.opts.StateDir, lockdownFile), &ld); err != nil {
		return err
	}
	d.remote.users, d.remote.lockdown = users, ld.Enabled
	return nil
}

// ResetConfig implements apiserver.BackupService: every setting back to the
// factory default (the agent off, no loghost, no user, lockdown off); the
// TLS identity stays, as clients pinned it.
func (d *Daemon) ResetConfig(ctx context.Context) error {
	p := apiserver.PrincipalFrom(ctx)
	d.mu.Lock()
	defer d.mu.Unlock()
	// A reset removes every user and turns lockdown off: as much as a
	// restore of users and lockdown, so it needs as much.
	err := d.holdsAll(ctx, "a factory reset")
	if err == nil && d.remote.lockdown && !p.Console {
		err = apiserver.Forbidden(errors.New("lockdown mode: a factory reset is refused over the network; use the console (the local socket)"))
	}
	if err != nil {
		d.record(audit.Entry{User: p.User, Source: p.Source, Action: "backup.reset", Result: "denied", Detail: err.Error()})
		return err
	}
	for _, f := range backupFiles {
		if f.cert {
			continue
		}
		if err := d.setDefault(f); err != nil {
			return err
		}
	}
	err = d.reloadAll()
	result := "ok"
	if err != nil {
		result = "failed"
	}
	d.record(audit.Entry{User: p.User, Source: p.Source, Action: "backup.reset", Result: result})
	return err
}

// setDefault returns f to its factory default: a configuration file is
// written with the defaults (a removed one would be ignored by the
// reload, which keeps what runs), a state file is removed.
func (d *Daemon) setDefault(f backupFile) error {
	var v any
	switch f.name {
	case SNMPFile:
		v = d.opts.Defaults.SNMP()
	case CollectorsFile:
		v = d.opts.Defaults.Collectors().Ptr()
	case SyslogFile:
		v = d.opts.Defaults.Syslog()
	default:
		if err := os.Remove(d.backupPath(f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	return configstore.Save(d.backupPath(f), v, 0o640, "hostagent factory defaults.")
}
