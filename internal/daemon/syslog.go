package daemon

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"sync"
	"time"

	"hostagent/internal/configstore"
	"hostagent/manage/api"
	"hostagent/manage/apiserver"
	"hostagent/syslogd"
	"hostagent/syslogd/forward"
	"hostagent/syslogd/listen"
)

// SyslogFile is the forwarder's configuration file in the config directory.
const SyslogFile = "syslog.toml"

const syslogHeader = `hostagent remote syslog. Written by hostagentd (vicfg-syslog);
hand edits are picked up live, and an invalid edit is refused with the
previous configuration kept running. See README.md for every setting.`

func (d *Daemon) syslogPath() string { return filepath.Join(d.opts.ConfigDir, SyslogFile) }

// loadSyslog reads syslog.toml over the factory defaults.
func (d *Daemon) loadSyslog() (syslogd.Config, error) { return d.loadSyslogFile(d.syslogPath()) }

// loadSyslogFile reads the forwarder's configuration at path over the
// factory defaults.
func (d *Daemon) loadSyslogFile(path string) (syslogd.Config, error) {
	cfg := d.opts.Defaults.Syslog()
	_, err := configstore.Load(path, &cfg)
	return cfg, err
}

// startSyslog starts the forwarder for a prepared plan.
func (d *Daemon) startSyslog(p *forward.Plan) error {
	f, err := forward.Start(p, d.opts.StateDir, d.log)
	if err != nil {
		return err
	}
	d.syslog = f
	d.forwarder.Store(f)
	return nil
}

// submit hands a message of the local socket to the forwarder in force;
// during a restart it waits for the next one rather than drop the message.
func (d *Daemon) submit(rec syslogd.Record) {
	if f := d.forwarder.Load(); f != nil && f.Submit(rec) {
		return // the common case, without a timer
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !d.forwarder.submit(ctx, rec) {
		d.log.Error("local syslog message lost: the forwarder did not come back", "app", rec.AppName)
	}
}

// forwarderInForce is the running forwarder for the goroutines that hand
// it messages without holding mu (a reload holds mu while it restarts the
// forwarder). A forwarder refuses messages once it stops; who holds one
// then waits on changed, closed when the next forwarder is stored.
type forwarderInForce struct {
	mu      sync.Mutex
	f       *forward.Forwarder
	changed chan struct{}
}

// current is the forwarder in force (nil before the first) and the channel
// closed when it is replaced, read together so that no change is missed.
func (s *forwarderInForce) current() (*forward.Forwarder, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.f, s.changed
}

// Load is the forwarder in force, nil before the first starts.
func (s *forwarderInForce) Load() *forward.Forwarder {
	f, _ := s.current()
	return f
}

// Store puts f in force and wakes whoever waits for it.
func (s *forwarderInForce) Store(f *forward.Forwarder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f = f
	if s.changed != nil {
		close(s.changed)
	}
	s.changed = make(chan struct{})
}

// submit hands rec to the forwarder in force, waiting for the next one
// while the one in force refuses it (it is stopping), until ctx is done.
func (s *forwarderInForce) submit(ctx context.Context, rec syslogd.Record) bool {
	for {
		f, changed := s.current()
		if f != nil && f.Submit(rec) {
			return true
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return false
		}
	}
}

// listenerRun is the running local syslog listener.
type listenerRun struct {
	cfg    listen.Config
	l      *listen.Listener
	cancel context.CancelFunc
	done   chan struct{}
}

func (r *listenerRun) stop() {
	if r == nil {
		return
	}
	r.cancel()
	r.l.Close()
	<-r.done
}

func listenConfig(cfg syslogd.Config) listen.Config {
	return listen.Config{Socket: cfg.Socket, UDP: cfg.UDP, Hostname: cfg.Hostname}
}

// startListener opens the local socket and UDP port of cfg, if any, and
// hands what they receive to the current forwarder. A listener whose
// settings did not change keeps running.
func (d *Daemon) startListener(cfg syslogd.Config) error {
	want := listenConfig(cfg)
	if d.listener != nil && d.listener.cfg == want {
		return nil
	}
	old := d.listener
	old.stop()
	d.listener = nil
	if want.Socket == "" && want.UDP == "" {
		return nil
	}
	l, err := listen.Listen(want, d.log.With("subsystem", "syslog"))
	if err != nil {
		if old != nil { // back to what ran
			if back, berr := listen.Listen(old.cfg, d.log.With("subsystem", "syslog")); berr == nil {
				d.runListener(old.cfg, back)
			}
		}
		return err
	}
	d.runListener(want, l)
	return nil
}

func (d *Daemon) runListener(cfg listen.Config, l *listen.Listener) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &listenerRun{cfg: cfg, l: l, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		if err := l.Run(ctx, d.submit); err != nil {
			d.log.Error("local syslog listener stopped", "err", err)
		}
	}()
	d.listener = r
}

// restartSyslog replaces the running forwarder by one for p. The old one
// stops first: the two must not share a loghost's spool and positions.
func (d *Daemon) restartSyslog(p *forward.Plan) error {
	old := d.syslog.Config()
	if err := d.startListener(p.Config()); err != nil {
		return err
	}
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
	d.saveLastGood(SyslogFile, p.Config())
	return nil
}

// reloadSyslog applies a hand edit of syslog.toml; credit is as for
// reloadSNMP.
func (d *Daemon) reloadSyslog(credit context.Context) {
	cfg, err := d.loadSyslog()
	if err == nil && reflect.DeepEqual(cfg, d.syslog.Config()) {
		return
	}
	old := d.syslog.Config()
	var p *forward.Plan
	if err == nil {
		p, err = forward.Prepare(cfg)
	}
	if err == nil {
		err = d.restartSyslog(p)
	}
	if err != nil {
		d.log.Error("configuration change refused; the previous configuration keeps running", "file", d.syslogPath(), "err", err)
		d.auditReload(credit, "syslog.reload", old, cfg, err)
		return
	}
	d.auditReload(credit, "syslog.reload", old, cfg, nil)
	d.log.Info("configuration reloaded", "file", d.syslogPath())
}

// SyslogState implements apiserver.SyslogService.
func (d *Daemon) SyslogState() api.SyslogState {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.syslogStateLocked()
}

func (d *Daemon) syslogStateLocked() api.SyslogState {
	st := api.SyslogState{Config: d.syslog.Config(), Loghosts: []api.LoghostStatus{}}
	for _, s := range d.syslog.Status() {
		st.Loghosts = append(st.Loghosts, api.LoghostStatus{Loghost: s.Loghost, Connected: s.Connected,
			Guarantee: s.Guarantee, Queued: s.Queued, Sent: s.Sent, Confirmed: s.Confirmed, Unconfirmed: s.Unconfirmed,
			Dropped: s.Dropped, SendFailed: s.SendFailures, Lost: s.Lost, Failed: s.Failed, AckLatency: s.AckLatency, LastError: s.LastError,
			LagBytes: s.Queued + s.FilesBehind, OldestUnsent: s.OldestUnsent})
	}
	return st
}

// UpdateSyslog implements apiserver.SyslogService: validated, stored, applied.
func (d *Daemon) UpdateSyslog(ctx context.Context, patch api.SyslogPatch) (api.SyslogState, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.pendingRestore(); err != nil {
		return api.SyslogState{}, err
	}
	cfg := d.syslog.Config()
	if patch.Reset {
		cfg = d.opts.Defaults.Syslog()
	}
	// The map may be the one in force: changed on a copy, so that a
	// refused PATCH leaves the running configuration as it was.
	cfg.Options = maps.Clone(cfg.Options)
	if patch.Loghosts != nil {
		cfg.Loghosts = append([]string{}, (*patch.Loghosts)...)
		for key := range cfg.Options { // options of a loghost no longer listed go with it
			if !contains(cfg.Loghosts, key) {
				delete(cfg.Options, key)
			}
		}
	}
	if patch.Files != nil {
		// A list given replaces the whole list, as a hand edit of [[files]].
		cfg.Files = append([]syslogd.FileInput{}, (*patch.Files)...)
	}
	if patch.Options != nil {
		// The map given replaces the whole map, as a hand edit of
		// [loghost_options].
		cfg.Options = maps.Clone(*patch.Options)
	}
	if len(cfg.Options) == 0 {
		cfg.Options = nil // none, stored as a file without the table loads
	}
	if reflect.DeepEqual(cfg, d.syslog.Config()) {
		return d.syslogStateLocked(), nil
	}
	old := d.syslog.Config()
	if err := d.checkSyslogPaths(ctx, old, cfg, d.opts.Defaults.Syslog()); err != nil {
		d.auditChanges(ctx, "syslog.update", old, cfg, err)
		return api.SyslogState{}, apiserver.Forbidden(err)
	}
	p, err := forward.Prepare(cfg)
	if err != nil {
		d.auditChanges(ctx, "syslog.update", old, cfg, err)
		return api.SyslogState{}, apiserver.Invalid(err)
	}
	if err := configstore.Save(d.syslogPath(), cfg, 0o640, syslogHeader); err != nil {
		return api.SyslogState{}, fmt.Errorf("store configuration: %w", err)
	}
	if err := d.restartSyslog(p); err != nil {
		return api.SyslogState{}, err
	}
	d.auditChanges(ctx, "syslog.update", old, cfg, nil)
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

// MarkSyslog implements apiserver.SyslogService.
func (d *Daemon) MarkSyslog(_ context.Context, message string) error {
	if message == "" {
		return apiserver.Invalid(fmt.Errorf("mark: the message is empty"))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.syslog.Mark(message)
	return nil
}

// ReloadSyslog implements apiserver.SyslogService: syslog.toml is read again
// and the forwarder restarted on it, even if it did not change (as ESXi's
// --reload reopens the files).
func (d *Daemon) ReloadSyslog(context.Context) (api.SyslogState, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.pendingRestore(); err != nil {
		return api.SyslogState{}, err
	}
	cfg, err := d.loadSyslog()
	var p *forward.Plan
	if err == nil {
		p, err = forward.Prepare(cfg)
	}
	if err != nil {
		return api.SyslogState{}, apiserver.Invalid(fmt.Errorf("%s: %w", d.syslogPath(), err))
	}
	if err := d.restartSyslog(p); err != nil {
		return api.SyslogState{}, err
	}
	return d.syslogStateLocked(), nil
}
