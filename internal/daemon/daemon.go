// Package daemon wires hostagentd together: it loads the configuration from
// the config directory, applies it to the SNMP agent, the collectors and
// the syslog forwarder, serves the management API, and re-applies hand
// edits picked up by the directory watcher. Every
// change, from the API or from a file, is validated and prepared in full
// before anything is stored or put in force.
package daemon

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"hostagent/collectors"
	"hostagent/internal/buildinfo"
	"hostagent/internal/configstore"
	"hostagent/internal/configwatch"
	"hostagent/manage/api"
	"hostagent/manage/apiserver"
	"hostagent/mibs"
	"hostagent/mibs/resolve"
	"hostagent/snmpagent"
	"hostagent/snmpagent/mibview"
	"hostagent/snmpagent/snmpconfig"
	"hostagent/snmpagent/usm"
	"hostagent/syslogd"
	"hostagent/syslogd/forward"
)

// SNMPFile is the SNMP agent's configuration file in the config directory.
const SNMPFile = "snmp.toml"

const snmpHeader = `hostagent SNMP notification agent. Written by hostagentd (vicfg-snmp);
hand edits are picked up live, and an invalid edit is refused with the
previous configuration kept running. See README.md for every setting.`

// Options are hostagentd's command-line settings.
type Options struct {
	ConfigDir string
	StateDir  string
	APISocket string
	APIGroup  string // group allowed on the API socket besides root; "" keeps the daemon's
	Paths     collectors.Paths
	// HTTPSListen serves the API to named users over TLS on this address
	// (host:port); "" (the default) keeps it on the local socket only.
	HTTPSListen string
	// TLSCert and TLSKey are the HTTPS certificate and key; when not
	// given, a self-signed pair is generated in the state directory.
	TLSCert, TLSKey string
	// LogRoots are the directories a log file glob set over the network
	// (API or restore) may name files under; nil is /var/log. Only the
	// command line sets them: the network cannot widen its own bounds.
	LogRoots []string
	// SessionTimeout ends a session unused for this long (default 30m).
	SessionTimeout time.Duration
	// Clock is the time of sessions and login limits; nil is time.Now.
	// Tests move it to expire sessions.
	Clock func() time.Time
	// Defaults are the factory configurations; the zero value is the
	// production one (FactoryDefaults).
	Defaults Defaults
	// SNMPDBinary is net-snmp's snmpd for polling; "" looks for snmpd in
	// PATH, /usr/sbin and /sbin.
	SNMPDBinary string
	// SampleInterval is how often the console's history is sampled
	// (observe.go); 0 is every 10 s. Tests shorten it.
	SampleInterval time.Duration
}

// Defaults are the factory configuration of each file: what runs while
// the file is missing, and what a reset (vicfg-syslog --reset,
// /api/v1/backup/reset) writes. They name host paths (the syslog socket
// /run/hostagent/syslog.sock, libvirtd's socket), so tests give their own:
// a reset must not reach for the paths of a hostagentd the host runs.
// A nil field takes the production default.
type Defaults struct {
	SNMP       func() snmpconfig.Config
	Collectors func() CollectorsConfig
	Syslog     func() syslogd.Config
}

// FactoryDefaults are the production defaults, for tests to start from.
func FactoryDefaults() Defaults {
	return Defaults{SNMP: snmpconfig.DefaultConfig, Collectors: DefaultCollectorsConfig, Syslog: syslogd.DefaultConfig}
}

// orFactory fills the fields left nil with the production defaults.
func (f Defaults) orFactory() Defaults {
	def := FactoryDefaults()
	if f.SNMP == nil {
		f.SNMP = def.SNMP
	}
	if f.Collectors == nil {
		f.Collectors = def.Collectors
	}
	if f.Syslog == nil {
		f.Syslog = def.Syslog
	}
	return f
}

// Daemon is one running hostagentd.
type Daemon struct {
	opts  Options
	log   *slog.Logger
	agent *snmpagent.Agent
	ready chan struct{}

	mu         sync.Mutex // serializes configuration changes
	resolver   atomic.Pointer[resolve.Resolver]
	collectors *collectorSet
	syslog     *forward.Forwarder
	// forwarder is syslog for the listener's goroutine, which must not
	// wait on mu while a reload restarts the forwarder.
	forwarder forwarderInForce
	listener  *listenerRun
	ownLog    <-chan syslogd.Record // the daemon's log, for the loghosts
	remote    *remote
	metrics   http.Handler // /metrics
	// engineClock is the SNMPv3 engine's boots and time (nil when the
	// engine did not start), raised by a restore (backup.go).
	engineClock *usm.Clock
	// view holds what polls read, published by the collectors; polling
	// serves it through snmpd (polling.go).
	view    *mibview.View
	polling *polling

	// restorePending is the error of a restore committed but not
	// completed (restore.go): until a start completes it, every change
	// is refused, since it would be overwritten or mixed with the
	// restore's files. Guarded by mu.
	restorePending error

	systemd systemdState // readiness, watchdog and reloads (systemd.go)

	observed *observed // what the console watches (observe.go)
}

// New returns a daemon; nothing runs before Run.
func New(opts Options, log *slog.Logger) *Daemon {
	h, q := newOwnLog(log.Handler())
	log = slog.New(h)
	opts.Defaults = opts.Defaults.orFactory()
	d := &Daemon{opts: opts, log: log, agent: snmpagent.New(log), ready: make(chan struct{}), ownLog: q, view: mibview.New(),
		systemd: newSystemdState(), observed: newObserved()}
	d.agent.SetObserver(d.observed.feed.add)
	d.view.Publish(mibview.SystemSection, mibview.SystemObjects(buildinfo.Name, buildinfo.Version(), buildinfo.Build()))
	// Informs not yet acknowledged are kept here and resent after a restart.
	if opts.StateDir != "" {
		d.agent.SetStateDir(filepath.Join(opts.StateDir, "informs"))
	}
	d.metrics = newMetricsHandler(d, log)
	return d
}

// Ready is closed once the configuration is in force and the API accepts
// connections.
func (d *Daemon) Ready() <-chan struct{} { return d.ready }

// Agent is the SNMP agent, for producers of notifications.
func (d *Daemon) Agent() *snmpagent.Agent { return d.agent }

// Run starts the daemon and blocks until ctx is cancelled, then shuts down:
// the API stops, queued notifications get a moment to go out.
func (d *Daemon) Run(ctx context.Context) error {
	if err := d.checkLogRoots(); err != nil {
		return err
	}
	for _, dir := range []string{d.opts.ConfigDir, d.opts.StateDir} {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
	}
	// Before anything reads the files: a restore a crash interrupted is
	// completed, or its uncommitted staging removed (restore.go).
	if err := d.recoverRestore(); err != nil {
		return err
	}
	// Before the SNMP configuration is prepared: v3 targets need it.
	d.startEngine()
	d.polling = newPolling(d.log, d.view, d.opts.StateDir, d.opts.SNMPDBinary, d.engineClock)
	defer d.polling.close()
	// Watch before reading, so that an edit made in between is not missed.
	watcher, err := configwatch.NewWatcher(d.opts.ConfigDir, 200*time.Millisecond)
	if err != nil {
		return fmt.Errorf("watch config dir: %w", err)
	}
	defer watcher.Close()

	// Before the configuration files: a start from a last good copy is audited.
	if err := d.openRemote(); err != nil {
		return fmt.Errorf("remote management: %w", err)
	}
	defer d.remote.audit.Close()
	// Each file, or its last good copy when the file is invalid (lastgood.go).
	collectorsCfg, _, err := startConfig(d, "collectors.start", CollectorsFile, d.loadCollectorsFile,
		func(c CollectorsConfig) (struct{}, error) { return struct{}{}, c.Validate() })
	if err != nil {
		return err
	}
	syslogCfg, syslogPlan, err := startConfig(d, "syslog.start", SyslogFile, d.loadSyslogFile, forward.Prepare)
	if err != nil {
		return err
	}
	cfg, plan, err := startConfig(d, "snmp.start", SNMPFile, d.loadSNMPAtStart,
		func(c snmpconfig.Config) (*snmpagent.Plan, error) {
			if err := d.keysSinceLastGood(c); err != nil {
				return nil, err
			}
			return d.prepare(ctx, c)
		})
	if err != nil {
		return err
	}
	// The socket before the plan: a daemon that cannot serve its API must
	// not have announced itself with coldStart.
	ln, err := apiserver.ListenUnix(d.opts.APISocket, d.opts.APIGroup)
	if err != nil {
		plan.Discard()
		return err
	}
	// What started is stopped again, newest first, if a later part fails.
	undo := []func(){func() { ln.Close() }}
	abort := func(err error) error {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		return err
	}
	d.agent.Apply(plan)
	d.polling.apply(cfg, d.agent.EngineID())
	undo = append(undo, func() { d.agent.Close(context.Background()) })
	if d.collectors, err = d.startCollectors(collectorsCfg); err != nil {
		return abort(fmt.Errorf("%s: %w", d.collectorsPath(), err))
	}
	undo = append(undo, d.collectors.stop)
	if err := d.startSyslog(syslogPlan); err != nil {
		return abort(fmt.Errorf("%s: %w", d.syslogPath(), err))
	}
	undo = append(undo, d.syslog.Stop)
	if err := d.startListener(syslogCfg); err != nil {
		return abort(fmt.Errorf("%s: %w", d.syslogPath(), err))
	}

	// The console: the local socket, every privilege (its permissions check).
	srv := &http.Server{Handler: apiserver.NewGatedHandler(apiserver.ConsoleGate{}, apiserver.Services{SNMP: d, Syslog: d, Remote: d, Metrics: d, Backup: d, Observe: d}, d.log),
		ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 2)
	go func() { serveErr <- srv.Serve(ln) }()
	var remoteSrv *http.Server
	if d.opts.HTTPSListen != "" {
		var tln net.Listener
		if remoteSrv, tln, err = d.serveHTTPS(); err != nil {
			_ = srv.Close()
			return abort(err)
		}
		go func() { serveErr <- remoteSrv.Serve(tln) }()
	}
	// All in force: the last good configurations, should a file turn invalid.
	d.saveSNMPLastGood(cfg)
	d.saveLastGood(CollectorsFile, collectorsCfg.Ptr())
	d.saveLastGood(SyslogFile, syslogCfg)
	d.log.Info("hostagentd ready", "config_dir", d.opts.ConfigDir, "state_dir", d.opts.StateDir, "api_socket", d.opts.APISocket)
	close(d.ready)
	d.notifyReady()
	stopWatchdog := d.startWatchdog()
	stopSampling := d.startSampling()

	ownCtx, stopOwn := context.WithCancel(context.Background())
	defer stopOwn()
	go d.forwardOwnLog(ownCtx, d.ownLog)

	watchErr := make(chan error, 1)
	go func() { watchErr <- watcher.Run(ctx, d.reload) }()

serve:
	for {
		select {
		case <-ctx.Done():
			break serve
		case err = <-serveErr:
			err = fmt.Errorf("api server: %w", err)
			break serve
		case err = <-watchErr:
			if err != nil {
				err = fmt.Errorf("config watcher: %w", err)
			}
			break serve
		case <-d.reloadRequests():
			// Here rather than on a goroutine of its own: a reload
			// never runs once the shutdown below has begun.
			d.reloadOnRequest()
		}
	}
	d.notifyStopping()
	stopWatchdog()
	stopSampling()
	d.log.Info("hostagentd stopping")
	shutdown, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	if remoteSrv != nil {
		_ = remoteSrv.Shutdown(shutdown)
	}
	_ = os.Remove(d.opts.APISocket)
	d.mu.Lock()
	d.collectors.stop() // before the agent: what they notify on the way out still goes
	d.listener.stop()
	d.syslog.Stop()
	d.mu.Unlock()
	d.agent.Close(shutdown)
	return err
}

func (d *Daemon) snmpPath() string { return filepath.Join(d.opts.ConfigDir, SNMPFile) }

// loadSNMP reads snmp.toml over the factory defaults.
func (d *Daemon) loadSNMP() (snmpconfig.Config, error) { return d.loadSNMPFile(d.snmpPath()) }

// noSNMPSettings is what a snmp.toml without settings would do.
const noSNMPSettings = "the agent off, no notification sent to any receiver"

// loadSNMPAtStart reads the SNMP configuration at path for a start; a file
// without settings is refused (requireSettings).
func (d *Daemon) loadSNMPAtStart(path string) (snmpconfig.Config, error) {
	if err := requireSettings(path, noSNMPSettings); err != nil {
		return d.opts.Defaults.SNMP(), err
	}
	return d.loadSNMPFile(path)
}

// loadSNMPFile reads the SNMP configuration at path over the factory
// defaults.
func (d *Daemon) loadSNMPFile(path string) (snmpconfig.Config, error) {
	cfg := d.opts.Defaults.SNMP()
	if _, err := configstore.Load(path, &cfg); err != nil {
		return cfg, err
	}
	cfg.Normalize()
	return cfg, nil
}

// prepare resolves MIB names with the MIB directories cfg names (loading
// them again only when they changed) and prepares the agent's plan.
func (d *Daemon) prepare(ctx context.Context, cfg snmpconfig.Config) (*snmpagent.Plan, error) {
	r := d.resolver.Load()
	if r == nil || !slices.Equal(r.Dirs(), cfg.MIBDirs) {
		r = resolve.NewResolver(cfg.MIBDirs)
		d.resolver.Store(r)
		d.log.Info("MIB modules loaded", "modules", r.Modules(), "dirs", cfg.MIBDirs)
	}
	return d.agent.Prepare(ctx, cfg, r)
}

// Name renders an OID with the names of the MIB modules in use.
func (d *Daemon) Name(oid mibs.OID) string { return d.resolver.Load().Name(oid) }

// reload applies hand edits of the config directory.
func (d *Daemon) reload(names []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.pendingRestore(); err != nil {
		// Files of a half-applied restore: applied now, they would run
		// the new settings with the old users; the next start completes
		// the restore and applies them all.
		d.log.Warn("configuration edit not applied", "files", strings.Join(names, ","), "err", err)
		return
	}
	if slices.Contains(names, CollectorsFile) {
		d.reloadCollectors(d.fileEdit(d.collectorsPath()))
	}
	if slices.Contains(names, SNMPFile) {
		d.reloadSNMP(d.fileEdit(d.snmpPath()))
	}
	if slices.Contains(names, SyslogFile) {
		d.reloadSyslog(d.fileEdit(d.syslogPath()))
	}
}

// auditReload audits a reload for credit, unless credit is nil (see
// reloadSNMP).
func (d *Daemon) auditReload(credit context.Context, action string, old, new any, err error) {
	if credit != nil {
		d.auditChanges(credit, action, old, new, err)
	}
}

// fileEdit is the context of a change read from a configuration file:
// whoever could write it (root, or the config directory's owners).
func (d *Daemon) fileEdit(path string) context.Context {
	return apiserver.WithPrincipal(context.Background(), apiserver.Principal{User: "root", Role: "Administrator", Source: "file " + path, Console: true})
}

// reloadSNMP applies a hand edit of snmp.toml, audited as credit's
// principal; a nil credit is a restore, which audits the change itself
// (as its principal, not as whoever may write the file).
func (d *Daemon) reloadSNMP(credit context.Context) {
	if _, err := os.Stat(d.snmpPath()); errors.Is(err, os.ErrNotExist) {
		d.log.Warn("configuration file removed; the running configuration is kept and will be written again at the next change", "file", d.snmpPath())
		return
	}
	var cfg snmpconfig.Config
	var err error
	if credit != nil {
		// A hand edit that empties the file is refused, even when it
		// changes nothing (defaults running): it is never the daemon's
		// own write, which holds every setting. A restore's files are
		// checked by the restore.
		err = requireSettings(d.snmpPath(), noSNMPSettings)
	}
	if err == nil {
		cfg, err = d.loadSNMP()
	}
	if err == nil && reflect.DeepEqual(cfg, d.agent.Config()) {
		return // our own write, or an edit that changes nothing
	}
	var plan *snmpagent.Plan
	if err == nil {
		plan, err = d.prepare(context.Background(), cfg)
	}
	old := d.agent.Config()
	if err != nil {
		d.log.Error("configuration change refused; the previous configuration keeps running", "file", d.snmpPath(), "err", err)
		d.auditReload(credit, "snmp.reload", old, cfg, err)
		return
	}
	d.agent.Apply(plan)
	d.polling.apply(cfg, d.agent.EngineID())
	d.auditReload(credit, "snmp.reload", old, cfg, nil)
	d.log.Info("configuration reloaded", "file", d.snmpPath())
	d.saveSNMPLastGood(cfg)
}

// SNMPState implements apiserver.SNMPService.
func (d *Daemon) SNMPState() api.SNMPState {
	st := api.SNMPState{Config: d.agent.Config(), Targets: d.agent.Stats()}
	if d.polling != nil {
		st.Polling = d.polling.state()
	}
	if id := d.agent.EngineID(); id != nil {
		st.EngineID = hex.EncodeToString(id)
	}
	return st
}

// UpdateSNMP implements apiserver.SNMPService: the change is validated and
// prepared, then stored, then applied; a failure at any step leaves both
// the file and the running agent as they were.
func (d *Daemon) UpdateSNMP(ctx context.Context, change func(*snmpconfig.Config)) (api.SNMPState, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.pendingRestore(); err != nil {
		return api.SNMPState{}, err
	}
	old := d.agent.Config()
	cfg := old.Clone()
	change(&cfg)
	cfg.Normalize()
	if reflect.DeepEqual(cfg, old) {
		return d.SNMPState(), nil
	}
	// Before prepare, which reads the MIB directories.
	if err := checkSNMPPaths(ctx, old, cfg, d.opts.Defaults.SNMP()); err != nil {
		d.auditChanges(ctx, "snmp.update", old, cfg, err)
		return api.SNMPState{}, apiserver.Forbidden(err)
	}
	plan, err := d.prepare(ctx, cfg)
	if err != nil {
		d.auditChanges(ctx, "snmp.update", old, cfg, err)
		return api.SNMPState{}, apiserver.Invalid(err)
	}
	if err := configstore.Save(d.snmpPath(), cfg, 0o640, snmpHeader); err != nil {
		plan.Discard()
		return api.SNMPState{}, fmt.Errorf("store configuration: %w", err)
	}
	d.agent.Apply(plan)
	d.polling.apply(cfg, d.agent.EngineID())
	d.auditChanges(ctx, "snmp.update", old, cfg, nil)
	d.saveSNMPLastGood(cfg)
	return d.SNMPState(), nil
}

// TestSNMP implements apiserver.SNMPService.
func (d *Daemon) TestSNMP(ctx context.Context) ([]snmpconfig.TestResult, error) {
	res, err := d.agent.Test(ctx)
	if errors.Is(err, snmpagent.ErrDisabled) || errors.Is(err, snmpagent.ErrNoTargets) {
		return nil, apiserver.Conflict(err)
	}
	return res, err
}
