package daemon

import (
	"fmt"
	"path/filepath"

	"hostagent/internal/configstore"
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
