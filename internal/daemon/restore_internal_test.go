package daemon

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hostagent/internal/peertest"
)

// TestInstallFileDoesNotFollowLinks: links planted at the target, or at
// the temp name the old code used, are replaced or left alone, never
// written through.
func TestInstallFileDoesNotFollowLinks(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("precious\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "snmp.toml")
	for _, link := range []string{dst, dst + ".restore.tmp"} {
		if err := os.Symlink(victim, link); err != nil {
			t.Fatal(err)
		}
	}
	if err := installFile([]byte("enabled = true\n"), dst, 0o640); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
		t.Errorf("the link's target was written: %q", b)
	}
	fi, err := os.Lstat(dst)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o640 {
		t.Errorf("%s: %v %v", dst, fi.Mode(), err)
	}
}

func recoveryDaemon(t *testing.T) (*Daemon, *peertest.Buffer) {
	t.Helper()
	dir := t.TempDir()
	d := &Daemon{opts: Options{ConfigDir: filepath.Join(dir, "etc"), StateDir: filepath.Join(dir, "state")}}
	for _, p := range []string{d.opts.ConfigDir, d.opts.StateDir} {
		if err := os.MkdirAll(p, 0o750); err != nil {
			t.Fatal(err)
		}
	}
	log := &peertest.Buffer{}
	d.log = slog.New(slog.NewTextHandler(log, nil))
	return d, log
}

// commitFor stages files (name → content; nil removes) and commits a
// journal for them, as commitJournal leaves it just after the commit.
func commitFor(t *testing.T, d *Daemon, files map[string][]byte) *journal {
	t.Helper()
	stage, err := os.MkdirTemp(d.opts.StateDir, stagePrefix)
	if err != nil {
		t.Fatal(err)
	}
	j := &journal{Format: journalFormat, Action: "backup.load", User: "alice", Source: "192.0.2.1:4000", Stage: filepath.Base(stage)}
	for _, f := range backupFiles {
		data, ok := files[f.name]
		switch {
		case !ok:
		case data == nil:
			j.Files = append(j.Files, journalFile{Key: f.key, Remove: true})
		default:
			if err := writeNew(filepath.Join(stage, f.name), data); err != nil {
				t.Fatal(err)
			}
			j.Files = append(j.Files, journalFile{Key: f.key, SHA256: digest(data)})
		}
	}
	b, _ := json.Marshal(j)
	if err := os.WriteFile(d.journalPath(), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return j
}

// TestRecoverReplaysJournal: a journal committed and half applied is
// completed at start, whichever files were already in place; the journal
// and staging go, the audit log says so.
func TestRecoverReplaysJournal(t *testing.T) {
	d, log := recoveryDaemon(t)
	users := filepath.Join(d.opts.StateDir, usersFile)
	if err := os.WriteFile(users, []byte("# old users\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	j := commitFor(t, d, map[string][]byte{SNMPFile: []byte("syscontact = \"new\"\n"), usersFile: nil})
	// snmp.toml applied before the crash, users.toml not yet removed.
	if err := installFile([]byte("syscontact = \"new\"\n"), filepath.Join(d.opts.ConfigDir, SNMPFile), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := d.recoverRestore(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(d.opts.ConfigDir, SNMPFile)); string(b) != "syscontact = \"new\"\n" {
		t.Errorf("snmp.toml: %q", b)
	}
	if _, err := os.Stat(users); !os.IsNotExist(err) {
		t.Errorf("users.toml not removed: %v", err)
	}
	for _, p := range []string{d.journalPath(), filepath.Join(d.opts.StateDir, j.Stage)} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left: %v", p, err)
		}
	}
	trail, _ := os.ReadFile(filepath.Join(d.opts.StateDir, auditFile))
	if !strings.Contains(string(trail), `"user":"alice","source":"192.0.2.1:4000","action":"backup.load","result":"ok","detail":"completed at start (interrupted restore): config/snmp.toml, state/users.toml (removed)"`) {
		t.Errorf("audit log: %s", trail)
	}
	if !strings.Contains(log.String(), "completing a configuration restore") {
		t.Errorf("log: %s", log)
	}
}

// TestRecoverRefusesForeignJournal: a journal naming anything but the
// daemon's own files, or a staged file that does not match its digest,
// stops the start rather than writing where it says.
func TestRecoverRefusesForeignJournal(t *testing.T) {
	d, _ := recoveryDaemon(t)
	j := commitFor(t, d, map[string][]byte{SNMPFile: []byte("x = 1\n")})
	j.Files[0].Key = "config/../../etc/passwd"
	b, _ := json.Marshal(j)
	if err := os.WriteFile(d.journalPath(), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.recoverRestore(); err == nil || !strings.Contains(err.Error(), `unknown file "config/../../etc/passwd"`) {
		t.Errorf("foreign key: %v", err)
	}

	d, _ = recoveryDaemon(t)
	j = commitFor(t, d, map[string][]byte{SNMPFile: []byte("x = 1\n")})
	if err := os.WriteFile(filepath.Join(d.opts.StateDir, j.Stage, SNMPFile), []byte("x = 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.recoverRestore(); err == nil || !strings.Contains(err.Error(), "does not match the journal's digest") {
		t.Errorf("tampered staged file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(d.opts.ConfigDir, SNMPFile)); !os.IsNotExist(err) {
		t.Errorf("a tampered file was put in place: %v", err)
	}
}

// TestRecoverRollsBackUncommitted: a staging folder whose journal was
// never committed is removed, the files stay, the audit log says who.
func TestRecoverRollsBackUncommitted(t *testing.T) {
	d, _ := recoveryDaemon(t)
	j := commitFor(t, d, map[string][]byte{SNMPFile: []byte("x = 1\n")})
	if err := os.Rename(d.journalPath(), filepath.Join(d.opts.StateDir, j.Stage, stageJournal)); err != nil {
		t.Fatal(err)
	}
	if err := d.recoverRestore(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(d.opts.StateDir, j.Stage)); !os.IsNotExist(err) {
		t.Errorf("staging left: %v", err)
	}
	if _, err := os.Stat(filepath.Join(d.opts.ConfigDir, SNMPFile)); !os.IsNotExist(err) {
		t.Errorf("an uncommitted file was put in place: %v", err)
	}
	trail, _ := os.ReadFile(filepath.Join(d.opts.StateDir, auditFile))
	if !strings.Contains(string(trail), `"user":"alice","source":"192.0.2.1:4000","action":"backup.load","result":"rolled back","detail":"rolled back at start`) {
		t.Errorf("audit log: %s", trail)
	}
}
