package usm

import (
	"fmt"
	"time"

	"hostagent/internal/configstore"
)

// Clock is the agent's own snmpEngineBoots and snmpEngineTime (RFC 3414
// 2.2.2): the authoritative values in its traps. Boots counts the starts of
// the agent and is kept in a file; time is the seconds since this start.
// A receiver drops a trap whose boots went down or whose time went back
// within a boot (its replay protection), which is why boots must survive
// restarts.
type Clock struct {
	boots uint32
	start time.Time
}

// bootsFile is the boots file's content: TOML, like the daemon's other files.
type bootsFile struct {
	EngineBoots int64 `toml:"engine_boots"`
}

// StartClock reads the boots counter from path, increments it and writes it
// back atomically before returning, so that no message goes out with a boots
// value a crash could reuse. A missing file starts at 1. At 2147483647 the
// counter is latched (RFC 3414 2.2.2) and StartClock returns an error: the
// users' keys must be changed (a new engine ID) before receivers accept
// authenticated messages again.
func StartClock(path string) (*Clock, error) {
	var f bootsFile
	if _, err := configstore.Load(path, &f); err != nil {
		return nil, fmt.Errorf("engine boots: %w", err)
	}
	if f.EngineBoots < 0 || f.EngineBoots > maxInt32 {
		return nil, fmt.Errorf("engine boots: %s: engine_boots = %d (allowed: 0 to %d)", path, f.EngineBoots, maxInt32)
	}
	if f.EngineBoots == maxInt32 {
		return nil, fmt.Errorf("engine boots: %s: engine_boots reached %d, its maximum; set a new engine ID and new user keys (RFC 3414 2.2.2), then remove the file", path, maxInt32)
	}
	f.EngineBoots++
	if err := configstore.Save(path, &f, 0o600, "snmpEngineBoots of hostagent's SNMPv3 engine (RFC 3414), incremented at each start.\nDo not lower it: receivers would drop the agent's traps."); err != nil {
		return nil, fmt.Errorf("engine boots: %w", err)
	}
	return &Clock{boots: uint32(f.EngineBoots), start: time.Now()}, nil
}

// Boots returns snmpEngineBoots of this start.
func (c *Clock) Boots() uint32 { return c.boots }

// Now returns snmpEngineBoots and snmpEngineTime (seconds since the start,
// by the monotonic clock; held at 2147483647, which takes 68 years).
func (c *Clock) Now() (boots, engineTime uint32) {
	s := int64(time.Since(c.start) / time.Second)
	return c.boots, uint32(min(s, maxInt32))
}
