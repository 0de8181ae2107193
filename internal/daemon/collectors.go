package daemon

import (
	"context"
	"fmt"
	"hostagent/snmpagent/mibview"
	"path/filepath"
	"sync"

	"hostagent/collectors"
	"hostagent/internal/configstore"
)

// CollectorsFile is the collectors' configuration file in the config directory.
const CollectorsFile = "collectors.toml"

// CollectorsConfig is collectors.toml: one section per source registered
// with collectors.Register. The daemon names no source: the command links
// the built-in ones (hostagent/collectors/all), a test its own.
type CollectorsConfig = collectors.Settings

// DefaultCollectorsConfig is what a host without collectors.toml runs.
func DefaultCollectorsConfig() CollectorsConfig { return collectors.DefaultSettings() }

// collectorSet is the running collectors of one configuration.
type collectorSet struct {
	cfg     CollectorsConfig
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	sources map[string]collectors.Source // by name, for their statistics
}

// stop ends every collector and waits for them (the VM collector writes
// its registry on the way out).
func (s *collectorSet) stop() {
	if s == nil {
		return
	}
	s.cancel()
	s.wg.Wait()
}

// startCollectors builds every enabled collector of cfg (all or none:
// one that cannot be built fails the whole configuration) and runs each
// in its own goroutine, delivering to the SNMP agent.
func (d *Daemon) startCollectors(cfg CollectorsConfig) (*collectorSet, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := d.log.With("subsystem", "collectors")
	// What the previous collectors published is theirs to keep up to
	// date no more.
	d.view.Retain(mibview.SystemSection)
	sources, err := cfg.Build(collectors.Env{Paths: d.opts.Paths, StateDir: d.opts.StateDir, Log: log, Publisher: d.view})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	set := &collectorSet{cfg: cfg, cancel: cancel, sources: sources}
	for name, src := range sources {
		set.wg.Add(1)
		go func() {
			defer set.wg.Done()
			if err := src.Run(ctx, d.agent); err != nil {
				log.Error("collector stopped", "collector", name, "err", err)
			}
		}()
	}
	log.Info("collectors started", "running", len(sources))
	return set, nil
}

func (d *Daemon) collectorsPath() string { return filepath.Join(d.opts.ConfigDir, CollectorsFile) }

// loadCollectors reads collectors.toml over the defaults.
func (d *Daemon) loadCollectors() (CollectorsConfig, error) {
	return d.loadCollectorsFile(d.collectorsPath())
}

// loadCollectorsFile reads the collectors' configuration at path over the
// defaults.
func (d *Daemon) loadCollectorsFile(path string) (CollectorsConfig, error) {
	cfg := d.opts.Defaults.Collectors()
	if _, err := configstore.Load(path, cfg.Ptr()); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// reloadCollectors restarts the collectors on a valid edit of
// collectors.toml; an invalid one is refused and the running set stays.
// credit is as for reloadSNMP.
func (d *Daemon) reloadCollectors(credit context.Context) {
	cfg, err := d.loadCollectors()
	if err == nil && cfg.Equal(d.collectors.cfg) {
		return
	}
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		d.log.Error("configuration change refused; the previous configuration keeps running", "file", d.collectorsPath(), "err", err)
		return
	}
	old := d.collectors
	old.stop() // before the new set: two VM collectors must not share the registry
	set, buildErr := d.startCollectors(cfg)
	if buildErr != nil {
		// A valid edit whose source cannot be built (a damaged state
		// file, a source's own check) is refused like an invalid one:
		// audited as such, and the previous set started again.
		d.auditReload(credit, "collectors.reload", old.cfg.Ptr(), cfg.Ptr(), buildErr)
		d.log.Error("configuration change refused; the previous configuration keeps running", "file", d.collectorsPath(), "err", buildErr)
		if set, err = d.startCollectors(old.cfg); err != nil {
			d.log.Error("the previous configuration could not start again: no collector runs",
				"file", d.collectorsPath(), "err", fmt.Errorf("previous configuration: %w", err))
			set = &collectorSet{cfg: old.cfg, cancel: func() {}}
		}
		d.collectors = set
		return
	}
	d.collectors = set
	d.auditReload(credit, "collectors.reload", old.cfg.Ptr(), cfg.Ptr(), nil)
	d.log.Info("configuration reloaded", "file", d.collectorsPath())
	d.saveLastGood(CollectorsFile, cfg.Ptr())
}

// collectorStats are the running collectors' counters, by name.
func (d *Daemon) collectorStats() map[string]collectors.Stats {
	d.mu.Lock()
	var sources map[string]collectors.Source
	if d.collectors != nil {
		sources = d.collectors.sources
	}
	d.mu.Unlock()
	stats := make(map[string]collectors.Stats, len(sources))
	for name, src := range sources {
		stats[name] = src.Stats()
	}
	return stats
}
