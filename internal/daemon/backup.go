package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"hostagent/internal/configstore"
	"hostagent/manage/api"
	"hostagent/manage/apiserver"
	"hostagent/manage/audit"
	"hostagent/manage/auth"
	"hostagent/manage/tlsid"
	"hostagent/snmpagent/snmpconfig"
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
	mode   os.FileMode // as the daemon writes it
}

// backupFiles in the order a restore puts them in place.
var backupFiles = []backupFile{
	{key: "config/" + SNMPFile, name: SNMPFile, mode: 0o640},
	{key: "config/" + CollectorsFile, name: CollectorsFile, mode: 0o640},
	{key: "config/" + SyslogFile, name: SyslogFile, mode: 0o640},
	{key: "state/" + usersFile, state: true, name: usersFile, guarded: true, secret: true, mode: 0o600},
	{key: "state/" + lockdownFile, state: true, name: lockdownFile, guarded: true, mode: 0o640},
	{key: "state/" + tlsid.CertName, state: true, name: tlsid.CertName, cert: true, guarded: true, secret: true, mode: 0o644},
	{key: "state/" + tlsid.KeyName, state: true, name: tlsid.KeyName, cert: true, guarded: true, secret: true, mode: 0o600},
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
	var notes []string
	if d.engineClock != nil {
		b.EngineBoots = d.engineClock.Boots()
	}
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
		if err == nil && f.name == SNMPFile {
			var hidden bool
			data, hidden, err = d.backupSNMP(data, secrets, &notes)
			if hidden {
				b.Hidden = append(b.Hidden, f.key)
			}
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
	if len(b.Hidden) > 0 {
		detail += ", secrets hidden: " + strings.Join(b.Hidden, ", ")
	}
	for _, n := range notes {
		detail += "; " + n
	}
	d.record(audit.Entry{User: p.User, Source: p.Source, Action: "backup.save", Result: "ok", Detail: detail})
	return b, nil
}

// backupSNMP is snmp.toml as a backup holds it: the file itself, unless
// it must be written again. Without every privilege its secrets (the
// communities, the SNMPv3 keys) are hidden, as the API hides them (hidden
// is then true); and when its users hold keys made for the generated
// engine ID, that engine ID is written into it (pinEngine), so that a
// restore on a rebuilt host keeps the keys valid. Rewritten, the file
// loses its comments, not its settings.
//
// A file that is not the configuration in force (a hand edit refused, or
// not yet applied) is not backed up: the configuration in force is, as a
// restore must give back what ran, and the note says so. The file's own
// error is not quoted: it may show a secret to a principal without them.
func (d *Daemon) backupSNMP(data []byte, secrets bool, notes *[]string) (out []byte, hidden bool, err error) {
	cfg := d.opts.Defaults.SNMP()
	inForce := d.agent.Config()
	if err := configstore.Decode(SNMPFile, data, &cfg); err != nil || !reflect.DeepEqual(normalizedSNMP(cfg), inForce) {
		*notes = append(*notes, SNMPFile+" on disk differs from the configuration in force (an edit refused or not yet applied): the configuration in force is backed up")
		cfg, data = inForce, nil
	}
	cfg.Normalize()
	pinned := d.pinEngine(cfg)
	if secrets && data != nil && pinned.EngineID == cfg.EngineID {
		return data, false, nil
	}
	header := "hostagent SNMP configuration, from a configuration backup."
	if !secrets {
		pinned = pinned.WithoutSecrets()
		header += "\nIts secrets are hidden (" + snmpconfig.HiddenCommunity + ", " + snmpconfig.KeySet + "): a restore takes them from the host."
	}
	out, err = configstore.Encode(pinned, header)
	return out, !secrets, err
}

func normalizedSNMP(cfg snmpconfig.Config) snmpconfig.Config {
	cfg.Normalize()
	return cfg
}

// LoadBackup implements apiserver.BackupService. Every file is staged and
// checked as the daemon would load it (configurations validated and
// prepared, users opened, the TLS pair loaded) before any is put in place;
// then they are put in place through a journal (restore.go), so that a
// crash leaves the old files or the new ones, never a mix; then the
// subsystems reload. Files the backup does not hold go back to their
// defaults, except the TLS identity and the files it lists as omitted,
// which stay.
func (d *Daemon) LoadBackup(ctx context.Context, b api.Backup) error {
	p := apiserver.PrincipalFrom(ctx)
	d.mu.Lock()
	defer d.mu.Unlock()
	// The backup's own words, cut: a refused backup must not fill the
	// audit log with them.
	origin := "from " + audit.Cut(b.Host, 64) + " (" + audit.Cut(b.Created, 40) + ")"
	err := d.pendingRestore()
	if err == nil {
		err = d.restore(ctx, b, origin)
	}
	if err != nil && len(b.Hidden) > 0 {
		// The restore filled in the host's secrets before its checks,
		// whose messages may quote one (a target listed twice, a host
		// name that does not resolve): not to the one they were hidden
		// from, nor to the audit log.
		err = hideSecrets(err, d.agent.Config())
	}
	d.record(finalEntry(p, "backup.load", origin, err))
	return err
}

// hiddenError is an error whose text had secrets replaced; Unwrap keeps
// its status for the API.
type hiddenError struct {
	text string
	err  error
}

func (e *hiddenError) Error() string { return e.text }
func (e *hiddenError) Unwrap() error { return e.err }

// hideSecrets replaces in err's text every community and localized key of
// cfg by its placeholder, longest first (a secret inside another is
// replaced with it).
func hideSecrets(err error, cfg snmpconfig.Config) error {
	var pairs [][2]string // secret, placeholder
	hide := func(s, by string) {
		if s != "" && s != "-" {
			pairs = append(pairs, [2]string{s, by}, [2]string{strings.ToLower(s), by}, [2]string{strings.ToUpper(s), by})
		}
	}
	for _, c := range cfg.Communities {
		hide(c, snmpconfig.HiddenCommunity)
	}
	for _, t := range cfg.Targets {
		if _, c, ok := strings.Cut(t, "/"); ok {
			hide(c, snmpconfig.HiddenCommunity)
		}
	}
	for _, u := range slices.Concat([]string(cfg.Users), []string(cfg.RemoteUsers)) {
		if f := strings.Split(u, "/"); len(f) >= 3 {
			hide(f[1], snmpconfig.KeySet)
			hide(f[2], snmpconfig.KeySet)
		}
	}
	// strings.NewReplacer takes the first match at each position: longest first.
	slices.SortStableFunc(pairs, func(a, b [2]string) int { return len(b[0]) - len(a[0]) })
	var flat []string
	for _, p := range pairs {
		flat = append(flat, p[0], p[1])
	}
	text := err.Error()
	if len(flat) > 0 {
		text = strings.NewReplacer(flat...).Replace(text)
	}
	return &hiddenError{text: text, err: err}
}

// finalEntry is the last audit entry of a restore or reset.
func finalEntry(p apiserver.Principal, action, detail string, err error) audit.Entry {
	e := audit.Entry{User: p.User, Source: p.Source, Action: action, Result: "ok", Detail: detail}
	var se *apiserver.StatusError
	switch {
	case err == nil:
		return e
	case errors.As(err, &se) && (se.Code == http.StatusForbidden || se.Code == http.StatusConflict):
		e.Result = "denied"
	case errors.As(err, &se) && se.Code == http.StatusBadRequest:
		e.Result = "invalid"
	default:
		e.Result = "failed"
	}
	e.Detail = strings.TrimPrefix(e.Detail+": "+err.Error(), ": ")
	return e
}

func (d *Daemon) restore(ctx context.Context, b api.Backup, origin string) error {
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
	hidden := map[string]bool{}
	for _, key := range b.Hidden {
		if _, ok := b.Files[key]; !ok || key != "config/"+SNMPFile {
			return apiserver.Invalid(fmt.Errorf("backup: hidden: %q is not a held file whose secrets a backup hides (only config/%s)", key, SNMPFile))
		}
		hidden[key] = true
	}
	_, hasCert := b.Files["state/"+tlsid.CertName]
	_, hasKey := b.Files["state/"+tlsid.KeyName]
	if hasCert != hasKey {
		return apiserver.Invalid(errors.New("backup: the TLS certificate and key go together"))
	}

	st, err := d.newStaging()
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer st.discard()
	for _, f := range backupFiles {
		text, held := b.Files[f.key]
		switch {
		case held && hidden[f.key]:
			err = d.stageFilled(filepath.Join(st.dir, f.name), text, f.mode)
		case held:
			err = writeNew(filepath.Join(st.dir, f.name), []byte(text))
		case f.cert || omitted[f.key]: // stays as it is
		default:
			err = st.toDefault(d, f)
		}
		if err != nil {
			return fmt.Errorf("backup: stage %s: %w", f.key, err)
		}
	}
	if err := syncDir(st.dir); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := d.checkRestoredPaths(ctx, st.dir); err != nil {
		return err
	}
	staged, err := d.checkStaged(ctx, st.dir, hasCert)
	if err != nil {
		return apiserver.Invalid(fmt.Errorf("backup: %w", err))
	}
	if err := d.mayRestore(ctx, b, omitted, st.dir); err != nil {
		return err
	}
	st.users = d.remote.users
	if !omitted["state/"+usersFile] {
		st.users = staged
	}
	targets, err := d.targets(st)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := d.raiseBoots(b, st); err != nil {
		return err
	}
	if hasFile(targets, usersFile) && !apiserver.PrincipalFrom(ctx).Console && len(st.users.Administrators()) == 0 {
		return apiserver.Conflict(errors.New("backup: the restored users.toml leaves no user with every privilege (Administrator), so nobody could manage the host over the network again: refused over the network. " +
			"Restore it from the console (vicfg-cfgbackup -l on the host), then create an administrator there with vicfg-user -o add -r Administrator"))
	}
	return d.switchStaged(ctx, "backup.load", origin, st, targets)
}

// maxBackupBoots bounds the engineBoots a backup may carry: far below
// RFC 3414's latch at 2147483647, so that no backup can bring the engine
// near it (it would need a new engine ID and new keys), far above what
// any engine counts (a start a minute for a thousand years).
const maxBackupBoots = 1 << 30

// raiseBoots raises the engine's boots above the backup's when the
// restore brings an engine ID other than the one in force (it ran on the
// backup's host): the receivers that knew it there would drop every
// message whose boots went down. Raised before anything is put in place:
// raised boots harm nothing should the restore fail after.
func (d *Daemon) raiseBoots(b api.Backup, st *staging) error {
	if d.engineClock == nil || b.EngineBoots == 0 {
		return nil
	}
	if b.EngineBoots > maxBackupBoots {
		return apiserver.Invalid(fmt.Errorf("backup: engine_boots %d: more than an SNMPv3 engine counts (allowed: up to %d)", b.EngineBoots, maxBackupBoots))
	}
	cfg, err := d.loadSNMPFile(filepath.Join(st.dir, SNMPFile))
	if err != nil || bytes.Equal(d.agent.EngineIDFor(cfg), d.agent.EngineID()) {
		return nil // not staged (stays), or the same engine
	}
	raised, err := d.engineClock.Raise(b.EngineBoots + 1)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if raised {
		d.log.Info("SNMPv3 engineBoots raised above the backup's, so that receivers of its engine ID accept this host's messages",
			"subsystem", "snmp", "engine_boots", d.engineClock.Boots(), "backup_host", audit.Cut(b.Host, 64))
	}
	return nil
}

// stageFilled stages a snmp.toml whose secrets the backup hides, each
// taken from the same entry of the configuration in force
// (snmpconfig.FillSecrets); one it cannot take refuses the restore.
func (d *Daemon) stageFilled(path, text string, mode os.FileMode) error {
	cfg := d.opts.Defaults.SNMP()
	if err := configstore.Decode("backup's "+SNMPFile, []byte(text), &cfg); err != nil {
		return apiserver.Invalid(err)
	}
	cfg.Normalize()
	if err := cfg.FillSecrets(d.agent.Config()); err != nil {
		return apiserver.Invalid(err)
	}
	data, err := configstore.Encode(cfg, "hostagent SNMP configuration, restored from a backup, its hidden secrets taken from the host.")
	if err != nil {
		return err
	}
	return writeNew(path, data)
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
		if f.name == lockdownFile { // by its effect: a missing file is "disabled"
			next, _, err := readLockdown(filepath.Join(stage, lockdownFile), d.remote.users)
			if err != nil {
				return apiserver.Invalid(fmt.Errorf("backup: %w", err))
			}
			if !next.Equal(d.remote.users.Lockdown()) {
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
	if d.remote.users.Lockdown().On() && !apiserver.PrincipalFrom(ctx).Console {
		return apiserver.Forbidden(fmt.Errorf("lockdown mode: %s is refused over the network; use the console (the local socket)", what))
	}
	return nil
}

// checkStaged loads each staged file as the daemon would, and returns the
// staged users.
func (d *Daemon) checkStaged(ctx context.Context, stage string, cert bool) (*auth.Store, error) {
	snmp := d.opts.Defaults.SNMP()
	if _, err := configstore.Load(filepath.Join(stage, SNMPFile), &snmp); err != nil {
		return nil, err
	}
	snmp.Normalize()
	plan, err := d.prepare(ctx, snmp)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", SNMPFile, err)
	}
	plan.Discard()
	col := d.opts.Defaults.Collectors()
	if _, err := configstore.Load(filepath.Join(stage, CollectorsFile), col.Ptr()); err != nil {
		return nil, err
	}
	if err := col.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", CollectorsFile, err)
	}
	syslog := d.opts.Defaults.Syslog()
	if _, err := configstore.Load(filepath.Join(stage, SyslogFile), &syslog); err != nil {
		return nil, err
	}
	if _, err := forward.Prepare(syslog); err != nil {
		return nil, fmt.Errorf("%s: %w", SyslogFile, err)
	}
	staged, err := auth.Open(filepath.Join(stage, usersFile), nil)
	if err != nil {
		return nil, err
	}
	if _, _, err := readLockdown(filepath.Join(stage, lockdownFile), staged); err != nil {
		return nil, err
	}
	if cert {
		if _, err := tlsid.Load(stage, filepath.Join(stage, tlsid.CertName), filepath.Join(stage, tlsid.KeyName), nil); err != nil {
			return nil, err
		}
	}
	return staged, nil
}

// staging is a restore's or reset's staging folder: the new content of
// each target, under its own name, or its removal.
type staging struct {
	dir       string
	remove    map[string]bool // keys of the files to remove
	users     *auth.Store     // the users once the files are in place
	committed bool            // the journal is committed: the folder is the restore's now
}

func (d *Daemon) newStaging() (*staging, error) {
	dir, err := os.MkdirTemp(d.opts.StateDir, stagePrefix)
	if err != nil {
		return nil, err
	}
	return &staging{dir: dir, remove: map[string]bool{}}, nil
}

// discard removes the folder of a restore refused or failed before its
// commit.
func (st *staging) discard() {
	if !st.committed {
		os.RemoveAll(st.dir)
	}
}

// toDefault stages f's factory default: a configuration file written with
// the defaults (a removed one would be ignored by the reload, which keeps
// what runs), a state file removed.
func (st *staging) toDefault(d *Daemon, f backupFile) error {
	var v any
	switch f.name {
	case SNMPFile:
		v = d.opts.Defaults.SNMP()
	case CollectorsFile:
		v = d.opts.Defaults.Collectors().Ptr()
	case SyslogFile:
		v = d.opts.Defaults.Syslog()
	default:
		st.remove[f.key] = true
		return nil
	}
	return configstore.Save(filepath.Join(st.dir, f.name), v, f.mode, "hostagent factory defaults.")
}

// targets are the staged files that differ from those in place, and the
// files to remove that exist, in backupFiles order.
func (d *Daemon) targets(st *staging) ([]journalFile, error) {
	var out []journalFile
	for _, f := range backupFiles {
		dst := d.backupPath(f)
		if st.remove[f.key] {
			if _, err := os.Lstat(dst); err == nil {
				out = append(out, journalFile{Key: f.key, Remove: true})
			}
			continue
		}
		data, err := readNoFollow(filepath.Join(st.dir, f.name))
		if errors.Is(err, os.ErrNotExist) {
			continue // not staged: stays as it is
		}
		if err != nil {
			return nil, err
		}
		if cur, err := readNoFollow(dst); err == nil && bytes.Equal(cur, data) {
			continue
		}
		out = append(out, journalFile{Key: f.key, SHA256: digest(data)})
	}
	return out, nil
}

func hasFile(targets []journalFile, name string) bool {
	for _, t := range targets {
		if f, _ := fileByKey(t.Key); f.name == name {
			return true
		}
	}
	return false
}

// pendingRestore refuses a change while a restore committed but not
// completed waits for the next start. Called with d.mu held.
func (d *Daemon) pendingRestore() error {
	if d.restorePending == nil {
		return nil
	}
	return apiserver.Conflict(fmt.Errorf("an interrupted restore is pending (%v): no change is accepted until it completes; fix the cause and restart hostagentd, whose start completes it", d.restorePending))
}

// switchStaged puts the staged targets in place through the journal, then
// every subsystem reloads. Called with d.mu held.
func (d *Daemon) switchStaged(ctx context.Context, action, detail string, st *staging, targets []journalFile) error {
	if len(targets) > 0 {
		p := apiserver.PrincipalFrom(ctx)
		j := &journal{Format: journalFormat, Action: action, User: p.User, Source: p.Source, Detail: detail,
			Stage: filepath.Base(st.dir), Files: targets}
		var err error
		if j.Changes, err = d.stagedChanges(p, action, st, targets); err != nil {
			return fmt.Errorf("%s: %w", action, err)
		}
		committed, err := d.commitJournal(j)
		st.committed = committed
		if err != nil && committed {
			d.restorePending = fmt.Errorf("%s by %s: %w", action, p.User, err)
			d.log.Error("configuration restore committed but not complete: changes are refused until the next start completes it", "err", err)
			return fmt.Errorf("%s: committed but not yet complete (%w); the next start of the daemon completes it, and until then every change is refused", action, err)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", action, err)
		}
	}
	return d.reloadAll()
}

// stagedChanges are the audit entries of what the targets change, from
// the daemon's own view: each configuration as the daemon loads it, in
// force now and staged, compared setting by setting; the users and roles,
// the lockdown state and the TLS certificate's fingerprint compared the
// same way. Nothing is taken from the backup's own fields.
func (d *Daemon) stagedChanges(p apiserver.Principal, action string, st *staging, targets []journalFile) ([]audit.Entry, error) {
	var out []audit.Entry
	add := func(file string, es []audit.Entry) {
		for _, e := range es {
			if e.Setting != "" {
				e.Setting = file + ":" + e.Setting
			}
			e.User, e.Source, e.Action, e.Result = p.User, p.Source, action, "ok"
			out = append(out, e)
		}
	}
	staged := func(name string) string { return filepath.Join(st.dir, name) } // absent when removed
	if hasFile(targets, SNMPFile) {
		cfg := d.opts.Defaults.SNMP()
		if _, err := configstore.Load(staged(SNMPFile), &cfg); err != nil {
			return nil, err
		}
		cfg.Normalize()
		add(SNMPFile, audit.Changes(d.agent.Config(), cfg))
	}
	if hasFile(targets, CollectorsFile) {
		cfg := d.opts.Defaults.Collectors()
		if _, err := configstore.Load(staged(CollectorsFile), cfg.Ptr()); err != nil {
			return nil, err
		}
		add(CollectorsFile, audit.Changes(d.collectors.cfg.Ptr(), cfg.Ptr()))
	}
	if hasFile(targets, SyslogFile) {
		cfg := d.opts.Defaults.Syslog()
		if _, err := configstore.Load(staged(SyslogFile), &cfg); err != nil {
			return nil, err
		}
		add(SyslogFile, audit.Changes(d.syslog.Config(), cfg))
	}
	if hasFile(targets, usersFile) {
		var es []audit.Entry
		for _, line := range auth.DiffUsers(d.remote.users, st.users) {
			es = append(es, audit.Entry{Detail: usersFile + ": " + line})
		}
		add(usersFile, es)
	}
	if hasFile(targets, lockdownFile) {
		next, _, err := readLockdown(staged(lockdownFile), st.users)
		if err != nil {
			return nil, err
		}
		if cur := d.remote.users.Lockdown(); !cur.Equal(next) {
			add(lockdownFile, []audit.Entry{{Setting: "mode", Old: cur.String(), New: next.String()}})
		}
	}
	if hasFile(targets, tlsid.CertName) {
		cur, _ := readNoFollow(filepath.Join(d.opts.StateDir, tlsid.CertName))
		next, _ := readNoFollow(staged(tlsid.CertName))
		add(tlsid.CertName, []audit.Entry{{Setting: "fingerprint", Old: certFingerprint(cur), New: certFingerprint(next),
			Detail: "takes effect at the next start"}})
	}
	return out, nil
}

// reloadAll applies the files now in place to every subsystem; the
// sessions end (users may have changed), the TLS identity restored takes
// effect at the next start.
func (d *Daemon) reloadAll() error {
	// nil: the restore or reset has audited each change as its principal.
	d.reloadSNMP(nil)
	d.reloadCollectors(nil)
	d.reloadSyslog(nil)
	if err := d.remote.users.Reload(); err != nil {
		return err
	}
	return d.loadLockdown()
}

// ResetConfig implements apiserver.BackupService: every setting back to the
// factory default (the agent off, no loghost, no user, lockdown off),
// through the journal as a restore; the TLS identity stays, as clients
// pinned it.
func (d *Daemon) ResetConfig(ctx context.Context) error {
	p := apiserver.PrincipalFrom(ctx)
	d.mu.Lock()
	defer d.mu.Unlock()
	err := d.pendingRestore()
	if err == nil {
		err = d.reset(ctx)
	}
	d.record(finalEntry(p, "backup.reset", "", err))
	return err
}

func (d *Daemon) reset(ctx context.Context) error {
	// A reset removes every user and turns lockdown off: as much as a
	// restore of users and lockdown, so it needs as much.
	if err := d.holdsAll(ctx, "a factory reset"); err != nil {
		return err
	}
	p := apiserver.PrincipalFrom(ctx)
	if d.remote.users.Lockdown().On() && !p.Console {
		return apiserver.Forbidden(errors.New("lockdown mode: a factory reset is refused over the network; use the console (the local socket)"))
	}
	// It leaves no user at all, so nobody could log in over the network
	// again: only the console, where the first administrator is created.
	if !p.Console {
		return apiserver.Conflict(errors.New("a factory reset removes every user, leaving none with every privilege (Administrator): refused over the network. " +
			"Run it from the console (vicfg-cfgbackup -r on the host), then create the first administrator there with vicfg-user -o add -r Administrator"))
	}
	st, err := d.newStaging()
	if err != nil {
		return fmt.Errorf("backup.reset: %w", err)
	}
	defer st.discard()
	for _, f := range backupFiles {
		if f.cert {
			continue
		}
		if err := st.toDefault(d, f); err != nil {
			return fmt.Errorf("backup.reset: stage %s: %w", f.key, err)
		}
	}
	if err := syncDir(st.dir); err != nil {
		return fmt.Errorf("backup.reset: %w", err)
	}
	if st.users, err = auth.Open(filepath.Join(st.dir, usersFile), nil); err != nil { // none
		return fmt.Errorf("backup.reset: %w", err)
	}
	targets, err := d.targets(st)
	if err != nil {
		return fmt.Errorf("backup.reset: %w", err)
	}
	return d.switchStaged(ctx, "backup.reset", "", st, targets)
}
