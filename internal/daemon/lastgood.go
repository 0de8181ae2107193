package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"hostagent/internal/configstore"
	"hostagent/manage/audit"
)

// A last-good copy of each configuration file is kept in the state
// directory, written whenever a configuration is put in force (at start,
// by the API, by a hand edit or a restore). A hand edit the running daemon
// refused stays on disk; without the copy the next start (a reboot) would
// refuse it too and exit, leaving the agent and the forwarder down. With
// it the start runs the configuration that ran last, and says so loudly.

const lastGoodSuffix = ".last-good"

const lastGoodHeader = `The configuration hostagentd last put in force from %s. A start
runs it when that file is invalid. Written by hostagentd at every change
in force: edit %s in the configuration directory, not this copy.`

func (d *Daemon) lastGoodPath(file string) string {
	return filepath.Join(d.opts.StateDir, file+lastGoodSuffix)
}

// saveLastGood keeps cfg, just put in force from file, as its last good
// configuration. A failure is logged, not returned: what runs is in force
// either way, only a later start from an invalid file is at stake.
func (d *Daemon) saveLastGood(file string, cfg any) {
	path := d.lastGoodPath(file)
	if err := configstore.Save(path, cfg, 0o600, fmt.Sprintf(lastGoodHeader, file, file)); err != nil {
		d.log.Error("last good configuration not kept: a start with an invalid file would fail", "file", file, "err", err)
	}
}

// startConfig loads and prepares the configuration of file (in the config
// directory) for a start. When the file is invalid it falls back on the
// last good copy of it, logs an ERROR that names the file, its error and
// the copy, and audits it as action; the error is returned only when there
// is no copy, or when the copy cannot run either. The audit log must be
// open.
func startConfig[C, P any](d *Daemon, action, file string, load func(path string) (C, error), prepare func(C) (P, error)) (C, P, error) {
	path := filepath.Join(d.opts.ConfigDir, file)
	cfg, err := load(path)
	var p P
	if err == nil {
		if p, err = prepare(cfg); err == nil {
			return cfg, p, nil
		}
		err = fmt.Errorf("%s: %w", path, err)
	}
	fileErr := err

	lastGood := d.lastGoodPath(file)
	if _, err := os.Stat(lastGood); errors.Is(err, fs.ErrNotExist) {
		return cfg, p, fileErr
	}
	if cfg, err = load(lastGood); err == nil {
		p, err = prepare(cfg)
	}
	if err != nil {
		return cfg, p, fmt.Errorf("%w; the last good configuration %s cannot run either: %v", fileErr, lastGood, err)
	}
	d.log.Error("configuration file invalid: the last good configuration runs instead; fix the file (the running daemon applies it once valid) or change a setting with vicfg-*, which rewrites it",
		"file", path, "err", fileErr, "last_good", lastGood)
	d.record(audit.Entry{User: "root", Source: "file " + path, Action: action, Result: "invalid",
		Detail: fmt.Sprintf("%v; started from the last good configuration %s", fileErr, lastGood)})
	return cfg, p, nil
}

// requireSettings refuses a file at path that holds no setting: empty,
// blank or comments only. Loaded, it would be all defaults, which for
// snmp.toml is the agent off: a truncated or emptied file would silently
// stop every notification. The daemon never writes such a file (it writes
// every setting), so it is a hand edit gone wrong. A missing file is not
// refused here.
func requireSettings(path, what string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	for line := range bytes.Lines(data) {
		line = bytes.TrimSpace(line)
		if len(line) > 0 && line[0] != '#' {
			return nil
		}
	}
	return fmt.Errorf("config %s: the file holds no setting (it is empty, or comments only), which would put every setting at its default: %s. "+
		"Refused: write the settings in it (see README.md), or remove it to run the factory defaults", path, what)
}
