package daemon

import (
	"fmt"
	"path/filepath"

	"hostagent/internal/configstore"
	"hostagent/snmpagent/snmpconfig"
	"hostagent/snmpagent/usm"
)

// The SNMPv3 engine's files in the state directory: engineBoots, which
// usm.StartClock increments at each start, and the engine ID generated at
// the first start (used unless snmp.toml sets engineid). Both must outlive
// the daemon: receivers drop traps whose boots went down, and users' keys
// are localized to the engine ID.
const (
	EngineBootsFile = "snmp-engine.toml"
	EngineIDFile    = "snmp-engineid.toml"
)

// engineIDFile is EngineIDFile's content.
type engineIDFile struct {
	EngineID string `toml:"engine_id"`
}

// startEngine gives the agent its SNMPv3 engine: the generated engine ID
// (made and written at the first start) and the clock, its boots counted
// up. A failure does not stop the daemon: without an engine the agent only
// refuses v3targets (saying why), and a configuration without SNMPv3 runs
// as before; it is logged at ERROR.
func (d *Daemon) startEngine() {
	if d.opts.StateDir == "" {
		return
	}
	id, err := loadEngineID(filepath.Join(d.opts.StateDir, EngineIDFile))
	if err != nil {
		d.log.Error("SNMPv3 engine not started: SNMPv3 targets are refused", "subsystem", "snmp", "err", err)
		return
	}
	clock, err := usm.StartClock(filepath.Join(d.opts.StateDir, EngineBootsFile))
	if err != nil {
		d.log.Error("SNMPv3 engine not started: SNMPv3 targets are refused", "subsystem", "snmp", "err", err)
		return
	}
	d.agent.SetEngine(id, clock)
	d.engineClock = clock
	d.log.Info("SNMPv3 engine", "subsystem", "snmp", "generated_engine_id", usm.FormatEngineID(id), "engine_boots", clock.Boots())
}

// loadEngineID reads the generated engine ID, generating and writing it
// when the file does not exist. A file that exists but does not hold a
// valid engine ID is an error, not a reason to make a new one: that would
// invalidate every user's keys without a word.
func loadEngineID(path string) ([]byte, error) {
	var f engineIDFile
	found, err := configstore.Load(path, &f)
	if err != nil {
		return nil, fmt.Errorf("engine ID: %w", err)
	}
	if found {
		id, err := usm.ParseEngineID(f.EngineID)
		if err != nil {
			return nil, fmt.Errorf("engine ID: %s: engine_id: %w (fix or remove the file; a new engine ID invalidates the SNMPv3 users' keys)", path, err)
		}
		return id, nil
	}
	id, err := usm.NewEngineID()
	if err != nil {
		return nil, err
	}
	f.EngineID = usm.FormatEngineID(id)
	if err := configstore.Save(path, &f, 0o600, "SNMPv3 engine ID hostagentd generated at its first start (RFC 3411), used unless\nsnmp.toml sets engineid. The users' keys are localized to it: do not change it."); err != nil {
		return nil, fmt.Errorf("engine ID: %w", err)
	}
	return id, nil
}

// pinEngine is cfg with the engine ID in force written into it when its
// users hold keys and it leaves the engine ID to the generated one. The
// keys are localized to that engine ID: a copy of cfg kept elsewhere (the
// last good copy, a backup restored on a rebuilt host) must bring it
// along, or the keys would meet another engine ID and every receiver
// would refuse them.
func (d *Daemon) pinEngine(cfg snmpconfig.Config) snmpconfig.Config {
	if cfg.EngineID != "" || !cfg.HasKeys() {
		return cfg
	}
	if id := d.agent.EngineIDFor(cfg); id != nil {
		cfg.EngineID = usm.FormatEngineID(id)
	}
	return cfg
}

// saveSNMPLastGood keeps cfg as snmp.toml's last good copy, its engine ID
// pinned (pinEngine), so that a start can tell keys made for it from an
// engine ID changed while the daemon was stopped (keysSinceLastGood).
func (d *Daemon) saveSNMPLastGood(cfg snmpconfig.Config) {
	d.saveLastGood(SNMPFile, d.pinEngine(cfg))
}

// keysSinceLastGood refuses, at a start, a configuration that keeps the
// users' keys of the last good one while the engine ID in force or the
// authentication protocol changed since (snmp.toml edited, or the
// generated engine ID's file lost, while the daemon was stopped): the
// check a running daemon makes on every change (snmpconfig.CheckKeysKept).
// Refused, the start runs the last good copy instead and says why, rather
// than sending what every receiver would refuse.
func (d *Daemon) keysSinceLastGood(cfg snmpconfig.Config) error {
	prev := d.opts.Defaults.SNMP()
	if found, err := configstore.Load(d.lastGoodPath(SNMPFile), &prev); err != nil || !found {
		return nil // no copy to compare with; a broken copy is reported if it is needed
	}
	prev.Normalize()
	if err := snmpconfig.CheckKeysKept(prev, cfg, d.agent.EngineIDFor(prev), d.agent.EngineIDFor(cfg)); err != nil {
		return fmt.Errorf("%w (changed while hostagentd was stopped: the last good configuration, with the engine ID the keys were made for, runs instead)", err)
	}
	return nil
}
