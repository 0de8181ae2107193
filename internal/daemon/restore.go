package daemon

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"hostagent/internal/configstore"
	"hostagent/manage/audit"
	"hostagent/manage/tlsid"
)

// A restore or factory reset replaces files in two directories (the config
// and the state directory, possibly on different file systems), so no
// single rename switches them all. It goes through a journal instead:
//
//  1. every target's new content is staged in a folder of the state
//     directory (stagePrefix), each file fsynced, then the folder; the
//     journal (which targets, each staged file's digest or its removal,
//     who, and the changes to audit) is written there too;
//  2. the "started" audit entry is written;
//  3. commit: the journal is renamed out of the staging folder to
//     journalName in the state directory, and the directory fsynced. From
//     here on the restore happens, now or at the next start;
//  4. each target is put in place: copied through a temp file in its own
//     directory (created exclusively, so a link planted there is not
//     followed), fsynced, renamed, the directory fsynced; or removed.
//     Doing it again does no harm;
//  5. the journal is removed, then the staging folder.
//
// At start (recoverRestore), before anything reads those files, a journal
// found is replayed from step 4 (the new state); a staging folder without
// one is removed (the old state: it was never committed). So a crash at
// any point leaves either the old files or the new ones, never a mix, and
// no copy of the key lingers in a forgotten folder.
const (
	journalName   = ".restore-journal"
	stagePrefix   = ".restore-stage-"
	stageJournal  = "journal" // in the staging folder until the commit moves it
	stageAudited  = "audited" // in the staging folder: the changes are in the audit log
	journalFormat = "hostagent-restore-journal/1"
)

// journal is a committed restore or reset.
type journal struct {
	Format string        `json:"format"`
	Action string        `json:"action"` // backup.load or backup.reset
	User   string        `json:"user"`
	Source string        `json:"source"`
	Detail string        `json:"detail,omitempty"` // the backup's origin
	Stage  string        `json:"stage"`            // the staging folder's name in the state directory
	Files  []journalFile `json:"files"`
	// Changes are the per-setting audit entries, computed before the
	// commit from the files in place and those staged; written at once,
	// or at the start that completes an interrupted restore.
	Changes []audit.Entry `json:"changes,omitempty"`
}

// journalFile is one target: the staged file of the same name, whose
// SHA-256 is checked before it is put in place, or its removal.
type journalFile struct {
	Key    string `json:"key"` // as in backupFiles
	Remove bool   `json:"remove,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
}

func (d *Daemon) journalPath() string { return filepath.Join(d.opts.StateDir, journalName) }

// fileNames lists the journal's targets, for the audit log.
func (j *journal) fileNames() string {
	var names []string
	for _, f := range j.Files {
		n := f.Key
		if f.Remove {
			n += " (removed)"
		}
		names = append(names, n)
	}
	return strings.Join(names, ", ")
}

// fileByKey is the backupFile of a journal's key.
func fileByKey(key string) (backupFile, bool) {
	for _, f := range backupFiles {
		if f.key == key {
			return f, true
		}
	}
	return backupFile{}, false
}

// check refuses a journal that names anything but the daemon's own files
// and a staging folder of the state directory: it decides what is written
// as root.
func (j *journal) check() error {
	if j.Format != journalFormat {
		return fmt.Errorf("format %q, not %s", j.Format, journalFormat)
	}
	if !strings.HasPrefix(j.Stage, stagePrefix) || filepath.Base(j.Stage) != j.Stage {
		return fmt.Errorf("staging folder %q is not a %s* folder of the state directory", j.Stage, stagePrefix)
	}
	seen := map[string]bool{}
	for _, f := range j.Files {
		bf, ok := fileByKey(f.Key)
		switch {
		case !ok:
			return fmt.Errorf("unknown file %q", f.Key)
		case seen[f.Key]:
			return fmt.Errorf("file %s listed twice", f.Key)
		case f.Remove && !bf.state:
			return fmt.Errorf("file %s: only state files are removed", f.Key)
		case !f.Remove && len(f.SHA256) != sha256.Size*2:
			return fmt.Errorf("file %s: no digest", f.Key)
		}
		seen[f.Key] = true
	}
	return nil
}

// writeNew creates path (which must not exist: a link planted there is not
// followed) with data, mode 0600, and fsyncs it.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readNoFollow reads a regular file without following a link at path.
func readNoFollow(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%s)", path, fi.Mode().Type())
	}
	return io.ReadAll(f)
}

// syncDir makes the entries of dir (created, renamed, removed) durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

func digest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// certFingerprint is the fingerprint of the first certificate of a PEM
// file, "" when there is none, for the audit log.
func certFingerprint(data []byte) string {
	b, _ := pem.Decode(data)
	if b == nil {
		return ""
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return ""
	}
	return tlsid.FingerprintOf(c)
}

// commitJournal performs steps 1 (its end) to 5 for a journal whose files
// are staged: the journal staged, the "started" entry, the commit, the
// changes audited, every file in place, the journal and the staging
// folder removed. After an error past the commit, the journal stays: the
// next start completes the restore. committed says whether it was reached.
func (d *Daemon) commitJournal(j *journal) (committed bool, err error) {
	stage := filepath.Join(d.opts.StateDir, j.Stage)
	// Never over another journal: that restore is committed, and only a
	// start completes it (pendingRestore refuses earlier; this holds even
	// if the flag was lost).
	if _, err := os.Lstat(d.journalPath()); !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("a committed restore is pending (%s): restart the daemon to complete it", d.journalPath())
	}
	data, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return false, err
	}
	if err := writeNew(filepath.Join(stage, stageJournal), data); err != nil {
		return false, fmt.Errorf("stage the journal: %w", err)
	}
	if err := syncDir(stage); err != nil {
		return false, err
	}
	// Before the commit, so that a restore killed midway leaves an entry;
	// the audit log fsyncs each entry.
	d.record(audit.Entry{User: j.User, Source: j.Source, Action: j.Action, Result: "started", Detail: "changing " + j.fileNames() + detailSuffix(j.Detail)})
	faultHook("staged")
	if err := os.Rename(filepath.Join(stage, stageJournal), d.journalPath()); err != nil {
		return false, fmt.Errorf("commit the journal: %w", err)
	}
	if err := syncDir(d.opts.StateDir); err != nil {
		return true, fmt.Errorf("commit the journal: %w", err)
	}
	faultHook("journal")
	d.recordChanges(j, d.record, "")
	if err := d.applyJournal(j); err != nil {
		return true, err
	}
	faultHook("cleanup")
	return true, d.endJournal(j)
}

func detailSuffix(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// recordChanges writes the journal's per-setting entries, once: a marker
// in the staging folder says they are written, so that replaying the
// journal at start does not write them again.
func (d *Daemon) recordChanges(j *journal, record func(audit.Entry), detail string) {
	marker := filepath.Join(d.opts.StateDir, j.Stage, stageAudited)
	if _, err := os.Lstat(marker); err == nil {
		return
	}
	for _, e := range j.Changes {
		if detail != "" {
			e.Detail = strings.TrimPrefix(e.Detail+"; "+detail, "; ")
		}
		record(e)
	}
	if err := writeNew(marker, nil); err != nil && !errors.Is(err, os.ErrExist) {
		d.log.Warn("restore: audit marker not written; a replay may audit the changes twice", "err", err)
	}
}

// applyJournal puts every target of j in place (step 4); idempotent.
func (d *Daemon) applyJournal(j *journal) error {
	stage := filepath.Join(d.opts.StateDir, j.Stage)
	for _, f := range j.Files {
		bf, _ := fileByKey(f.Key) // checked
		dst := d.backupPath(bf)
		if f.Remove {
			if err := os.Remove(dst); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("remove %s: %w", dst, err)
			}
			if err := syncDir(filepath.Dir(dst)); err != nil {
				return err
			}
		} else {
			data, err := readNoFollow(filepath.Join(stage, bf.name))
			if err != nil {
				return fmt.Errorf("staged %s: %w", f.Key, err)
			}
			if digest(data) != f.SHA256 {
				return fmt.Errorf("staged %s does not match the journal's digest", f.Key)
			}
			if err := installFile(data, dst, bf.mode); err != nil {
				return err
			}
		}
		faultHook("applied:" + bf.name)
	}
	return nil
}

// installFile puts data at dst atomically (configstore.WriteFile): a temp
// file in dst's own directory, created exclusively (O_CREATE|O_EXCL does
// not follow a link planted at its name, and the name is random), written,
// fsynced, chmodded, renamed over dst (which replaces a link at dst rather
// than writing through it), then the directory fsynced.
func installFile(data []byte, dst string, mode os.FileMode) error {
	return configstore.WriteFile(dst, data, mode)
}

// endJournal is step 5: the journal removed (the restore is complete), then
// the staging folder.
func (d *Daemon) endJournal(j *journal) error {
	if err := os.Remove(d.journalPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove the journal: %w", err)
	}
	if err := syncDir(d.opts.StateDir); err != nil {
		return err
	}
	return os.RemoveAll(filepath.Join(d.opts.StateDir, j.Stage))
}

// recoverRestore runs at start, before anything reads the configuration
// or state files: a committed restore or reset that a crash interrupted is
// completed (its journal replayed), a staging folder left without a
// journal is removed, as are temp files left by installFile. Each is
// logged and audited. A journal that cannot be replayed stops the start:
// the files may be half old, half new, which the daemon must not run on.
func (d *Daemon) recoverRestore() error {
	var trail *audit.Log
	record := func(e audit.Entry) {
		if trail == nil {
			var err error
			if trail, err = audit.Open(filepath.Join(d.opts.StateDir, auditFile), nil); err != nil {
				d.log.Error("audit entry not written", "err", err)
				return
			}
		}
		if err := trail.Record(e); err != nil {
			d.log.Error("audit entry not written", "err", err)
		}
	}
	defer func() {
		if trail != nil {
			trail.Close()
		}
	}()

	data, err := readNoFollow(d.journalPath())
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("restore journal %s: %w", d.journalPath(), err)
	default:
		var j journal
		err := json.Unmarshal(data, &j)
		if err == nil {
			err = j.check()
		}
		if err == nil {
			d.log.Warn("completing a configuration restore interrupted before it finished", "action", j.Action, "files", j.fileNames(), "by", j.User, "from", j.Source)
			d.recordChanges(&j, record, "completed at start")
			if err = d.applyJournal(&j); err == nil {
				err = d.endJournal(&j)
			}
		}
		if err != nil {
			record(audit.Entry{User: j.User, Source: j.Source, Action: orAction(j.Action), Result: "failed",
				Detail: "interrupted restore not completed at start: " + err.Error()})
			return fmt.Errorf("restore journal %s: the interrupted restore cannot be completed: %w; the files it lists may be partly restored: restore the backup again from the console, or remove the journal and the %s* folders of the state directory to start with the files as they are", d.journalPath(), err, stagePrefix)
		}
		record(audit.Entry{User: j.User, Source: j.Source, Action: j.Action, Result: "ok",
			Detail: "completed at start (interrupted restore): " + j.fileNames() + detailSuffix(j.Detail)})
		d.log.Info("interrupted configuration restore completed", "files", j.fileNames())
	}

	entries, err := os.ReadDir(d.opts.StateDir)
	if err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), stagePrefix) {
			continue
		}
		dir := filepath.Join(d.opts.StateDir, e.Name())
		// Its staged journal, if any, says who: it is moved out at the
		// commit, so a folder that still has it was never committed.
		var j journal
		staged, jerr := readNoFollow(filepath.Join(dir, stageJournal))
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("remove the staging folder of an interrupted restore: %w", err)
		}
		if jerr == nil && json.Unmarshal(staged, &j) == nil {
			d.log.Warn("configuration restore interrupted before its commit: rolled back, nothing was changed", "staging", dir, "by", j.User, "from", j.Source)
			record(audit.Entry{User: audit.Cut(j.User, 64), Source: j.Source, Action: orAction(j.Action), Result: "rolled back",
				Detail: "rolled back at start (interrupted restore, not committed; nothing changed): " + j.fileNames()})
			continue
		}
		// Interrupted while staging, or after it completed (the journal
		// removed): either way the files in place are whole.
		d.log.Warn("staging folder of an earlier restore removed", "staging", dir)
		record(audit.Entry{User: "root", Source: "start", Action: "backup.load", Result: "rolled back",
			Detail: "rolled back at start: staging folder " + e.Name() + " removed (a restore interrupted before its commit, or after it completed)"})
	}
	// Temp files of an installFile a crash cut short (they may hold a
	// copy of the key).
	for _, f := range backupFiles {
		dir := filepath.Dir(d.backupPath(f))
		tmps, _ := filepath.Glob(filepath.Join(dir, "."+f.name+".*.tmp"))
		for _, tmp := range tmps {
			if err := os.Remove(tmp); err == nil {
				d.log.Info("temp file of an interrupted write removed", "file", tmp)
			}
		}
	}
	return nil
}

func orAction(a string) string {
	if slices.Contains([]string{"backup.load", "backup.reset"}, a) {
		return a
	}
	return "backup.load"
}
