package daemon

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"time"

	"hostagent/collectors"
	"hostagent/collectors/links"
	"hostagent/collectors/resources"
	"hostagent/collectors/sensors"
	"hostagent/collectors/vms"
	"hostagent/internal/configstore"
)

// CollectorsFile is the collectors' configuration file in the config directory.
const CollectorsFile = "collectors.toml"

// CollectorsConfig is collectors.toml: one section per source.
type CollectorsConfig struct {
	VMs       vms.Config       `toml:"vms"`
	Sensors   sensors.Config   `toml:"sensors"`
	Links     links.Config     `toml:"links"`
	Resources resources.Config `toml:"resources"`
}

// DefaultCollectorsConfig is what a host without collectors.toml runs.
func DefaultCollectorsConfig() CollectorsConfig {
	return CollectorsConfig{
		VMs:       vms.DefaultConfig(),
		Sensors:   sensors.DefaultConfig(),
		Links:     links.DefaultConfig(),
		Resources: resources.DefaultConfig(),
	}
}

// Validate checks every section and reports all problems at once.
func (c CollectorsConfig) Validate() error {
	return errors.Join(c.VMs.Validate(), c.Sensors.Validate(), c.Links.Validate(), c.Resources.Validate())
}

// collectorSet is the running collectors of one configuration.
type collectorSet struct {
	cfg     CollectorsConfig
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	runners map[string]runner // by name, for their statistics
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

// runner is what every collector offers the daemon.
type runner interface {
	Run(ctx context.Context, out collectors.Notifier) error
}

// startCollectors builds every enabled collector of cfg (all or none:
// one that cannot be built fails the whole configuration) and runs each
// in its own goroutine, delivering to the SNMP agent.
func (d *Daemon) startCollectors(cfg CollectorsConfig) (*collectorSet, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := d.log.With("subsystem", "collectors")
	runners := map[string]runner{}
	if cfg.VMs.Enabled {
		v, err := vms.New(cfg.VMs, d.opts.StateDir, log)
		if err != nil {
			return nil, err
		}
		runners["vms"] = v
	}
	if cfg.Sensors.Enabled {
		runners["sensors"] = &collectors.Runner{Name: "sensors", Interval: time.Duration(cfg.Sensors.Interval),
			Poller: sensors.New(cfg.Sensors, d.opts.Paths, log), Log: log}
	}
	if cfg.Links.Enabled {
		runners["links"] = links.New(cfg.Links, d.opts.Paths, log)
	}
	if cfg.Resources.Enabled {
		r, err := resources.New(cfg.Resources, d.opts.Paths, log)
		if err != nil {
			return nil, err
		}
		runners["resources"] = &collectors.Runner{Name: "resources", Interval: r.PollInterval(), Poller: r, Log: log}
	}
	ctx, cancel := context.WithCancel(context.Background())
	set := &collectorSet{cfg: cfg, cancel: cancel, runners: runners}
	for name, r := range runners {
		set.wg.Add(1)
		go func() {
			defer set.wg.Done()
			if err := r.Run(ctx, d.agent); err != nil {
				log.Error("collector stopped", "collector", name, "err", err)
			}
		}()
	}
	log.Info("collectors started", "running", len(runners))
	return set, nil
}

func (d *Daemon) collectorsPath() string { return filepath.Join(d.opts.ConfigDir, CollectorsFile) }

// loadCollectors reads collectors.toml over the defaults.
func (d *Daemon) loadCollectors() (CollectorsConfig, error) {
	cfg := DefaultCollectorsConfig()
	if _, err := configstore.Load(d.collectorsPath(), &cfg); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// reloadCollectors restarts the collectors on a valid edit of
// collectors.toml; an invalid one is refused and the running set stays.
func (d *Daemon) reloadCollectors() {
	cfg, err := d.loadCollectors()
	if err == nil && reflect.DeepEqual(cfg, d.collectors.cfg) {
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
	set, err := d.startCollectors(cfg)
	if err != nil {
		d.log.Error("configuration change refused; the previous configuration keeps running", "file", d.collectorsPath(), "err", err)
		if set, err = d.startCollectors(old.cfg); err != nil {
			d.log.Error("collectors not restarted", "err", fmt.Errorf("previous configuration: %w", err))
			set = &collectorSet{cfg: old.cfg, cancel: func() {}}
		}
	}
	d.collectors = set
	d.auditChanges(d.fileEdit(d.collectorsPath()), "collectors.reload", old.cfg, cfg, nil)
	d.log.Info("configuration reloaded", "file", d.collectorsPath())
}
