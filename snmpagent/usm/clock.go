package usm

import (
	"fmt"
	"sync"
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
	path  string
	mu    sync.Mutex // Raise against Now
	boots uint32
	start time.Time
}

const bootsHeader = "snmpEngineBoots of hostagent's SNMPv3 engine (RFC 3414), incremented at each start.\nDo not lower it: receivers would drop the agent's traps."

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
	if err := configstore.Save(path, &f, 0o600, bootsHeader); err != nil {
		return nil, fmt.Errorf("engine boots: %w", err)
	}
	return &Clock{path: path, boots: uint32(f.EngineBoots), start: time.Now()}, nil
}

// Boots returns snmpEngineBoots in force.
func (c *Clock) Boots() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.boots
}

// Now returns snmpEngineBoots and snmpEngineTime (seconds since the start,
// by the monotonic clock; held at 2147483647, which takes 68 years).
func (c *Clock) Now() (boots, engineTime uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := int64(time.Since(c.start) / time.Second)
	return c.boots, uint32(min(s, maxInt32))
}

// NextBoot starts a new boot (boots + 1, time 0), written to the file
// before it is in force, and returns it: for an engine that restarts
// within this process (a snmpd sharing the engine ID), in one step, so
// that no concurrent Raise can make it reuse a boots value.
func (c *Clock) NextBoot() (uint32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	next := c.boots + 1
	if next >= maxInt32 {
		return 0, fmt.Errorf("engine boots: %d would reach the maximum, %d; set a new engine ID and new user keys (RFC 3414 2.2.2)", next, maxInt32)
	}
	f := bootsFile{EngineBoots: int64(next)}
	if err := configstore.Save(c.path, &f, 0o600, bootsHeader); err != nil {
		return 0, fmt.Errorf("engine boots: %w", err)
	}
	c.boots, c.start = next, time.Now()
	return next, nil
}

// Raise puts boots at least at least, written to the file before it is in
// force, with the time starting again at 0 (a new boot, RFC 3414 2.2.2): for an
// engine ID that ran elsewhere with more boots than this clock counted (a
// configuration restored from another host), whose receivers would
// otherwise drop every message as a replay. It reports whether it raised.
func (c *Clock) Raise(atLeast uint32) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if atLeast <= c.boots {
		return false, nil
	}
	if atLeast >= maxInt32 {
		return false, fmt.Errorf("engine boots: %d would reach the maximum, %d; set a new engine ID and new user keys (RFC 3414 2.2.2)", atLeast, maxInt32)
	}
	f := bootsFile{EngineBoots: int64(atLeast)}
	if err := configstore.Save(c.path, &f, 0o600, bootsHeader); err != nil {
		return false, fmt.Errorf("engine boots: %w", err)
	}
	c.boots, c.start = atLeast, time.Now()
	return true, nil
}
