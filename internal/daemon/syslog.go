package daemon

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"

	"hostagent/internal/api"
	"hostagent/internal/configstore"
	"hostagent/syslogd"
	"hostagent/syslogd/forward"
)

// SyslogFile is the forwarder's configuration file in the config directory.
const SyslogFile = "syslog.toml"

const syslogHeader = `hostagent remote syslog. Written by hostagentd (vicfg-syslog);
hand edits are picked up live, and an invalid edit is refused with the
previous configuration kept running. See README.md for every setting.`

func (d *Daemon) syslogPath() string { return filepath.Join(d.opts.ConfigDir, SyslogFile) }

// loadSyslog reads syslog.toml over the factory defaults.
func (d *Daemon) loadSyslog() (syslogd.Config, error) {
	cfg := syslogd.DefaultConfig()
	_, err := configstore.Load(d.syslogPath(), &cfg)
	return cfg, err
}

// startSyslog starts the forwarder for a prepared plan.
func (d *Daemon) startSyslog(p *forward.Plan) error {
	f, err := forward.Start(p, d.opts.StateDir, d.log)
	if err != nil {
		return err
	}
	d.syslog = f
	return nil
}

// restartSyslog replaces the running forwarder by one for p. The old one
// stops first: the two must not share a loghost's spool and positions.
func (d *Daemon) restartSyslog(p *forward.Plan) error {
	old := d.syslog.Config()
	d.syslog.Stop()
	if err := d.startSyslog(p); err != nil {
		// Back to what ran: it was valid a moment ago.
		if prev, perr := forward.Prepare(old); perr == nil {
			if serr := d.startSyslog(prev); serr != nil {
				d.log.Error("syslog forwarder not restarted", "err", serr)
			}
		}
		return err
	}
	return nil
}

// reloadSyslog applies a hand edit of syslog.toml.
func (d *Daemon) reloadSyslog() {
	cfg, err := d.loadSyslog()
	if err == nil && reflect.DeepEqual(cfg, d.syslog.Config()) {
		return
	}
	var p *forward.Plan
	if err == nil {
		p, err = forward.Prepare(cfg)
	}
	if err == nil {
		err = d.restartSyslog(p)
	}
	if err != nil {
		d.log.Error("configuration change refused; the previous configuration keeps running", "file", d.syslogPath(), "err", err)
		return
	}
	d.log.Info("configuration reloaded", "file", d.syslogPath())
}

// SyslogState implements api.SyslogService.
func (d *Daemon) SyslogState() api.SyslogState {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.syslogStateLocked()
}

func (d *Daemon) syslogStateLocked() api.SyslogState {
	st := api.SyslogState{Config: d.syslog.Config(), Loghosts: []api.LoghostStatus{}}
	for _, s := range d.syslog.Status() {
		st.Loghosts = append(st.Loghosts, api.LoghostStatus{Loghost: s.Loghost, Connected: s.Connected,
			Queued: s.Queued, Sent: s.Sent, Dropped: s.Dropped, LastError: s.LastError})
	}
	return st
}

// UpdateSyslog implements api.SyslogService: validated, stored, applied.
func (d *Daemon) UpdateSyslog(ctx context.Context, patch api.SyslogPatch) (api.SyslogState, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	cfg := d.syslog.Config()
	if patch.Reset {
		cfg = syslogd.DefaultConfig()
	}
	if patch.Loghosts != nil {
		cfg.Loghosts = append([]string{}, (*patch.Loghosts)...)
		for key := range cfg.Options { // options of a loghost no longer listed go with it
			if !contains(cfg.Loghosts, key) {
				delete(cfg.Options, key)
			}
		}
	}
	if reflect.DeepEqual(cfg, d.syslog.Config()) {
		return d.syslogStateLocked(), nil
	}
	p, err := forward.Prepare(cfg)
	if err != nil {
		return api.SyslogState{}, api.Invalid(err)
	}
	if err := configstore.Save(d.syslogPath(), cfg, 0o640, syslogHeader); err != nil {
		return api.SyslogState{}, fmt.Errorf("store configuration: %w", err)
	}
	if err := d.restartSyslog(p); err != nil {
		return api.SyslogState{}, err
	}
	return d.syslogStateLocked(), nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// MarkSyslog implements api.SyslogService.
func (d *Daemon) MarkSyslog(_ context.Context, message string) error {
	if message == "" {
		return api.Invalid(fmt.Errorf("mark: the message is empty"))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.syslog.Mark(message)
	return nil
}

// ReloadSyslog implements api.SyslogService: syslog.toml is read again
// and the forwarder restarted on it, even if it did not change (as ESXi's
// --reload reopens the files).
func (d *Daemon) ReloadSyslog(context.Context) (api.SyslogState, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	cfg, err := d.loadSyslog()
	var p *forward.Plan
	if err == nil {
		p, err = forward.Prepare(cfg)
	}
	if err != nil {
		return api.SyslogState{}, api.Invalid(fmt.Errorf("%s: %w", d.syslogPath(), err))
	}
	if err := d.restartSyslog(p); err != nil {
		return api.SyslogState{}, err
	}
	return d.syslogStateLocked(), nil
}
