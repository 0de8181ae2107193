// Package snmpconfig is the SNMP agent's configuration as snmp.toml holds
// it and the management API carries it: the settings, how each is
// validated, the target syntax, and the per-target counters the API
// reports. It links no SNMP library (only the project's own usm, for the
// SNMPv3 settings' syntax), so the vicfg commands can share it.
package snmpconfig

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"hostagent/internal/configstore"
	"hostagent/mibs"
	"hostagent/snmpagent/usm"
)

// Config is the agent's configuration as stored in snmp.toml and exchanged
// over the management API. Validate checks it; Prepare turns it into a plan.
type Config struct {
	Enabled       bool                 `toml:"enabled" json:"enabled"`
	Port          int                  `toml:"port" json:"port"`
	Communities   []string             `toml:"communities" json:"communities"`
	Targets       []string             `toml:"targets" json:"targets"`
	Notraps       []string             `toml:"notraps" json:"notraps"`
	Syscontact    string               `toml:"syscontact" json:"syscontact"`
	Syslocation   string               `toml:"syslocation" json:"syslocation"`
	Loglevel      string               `toml:"loglevel" json:"loglevel"`
	SysObjectID   string               `toml:"sysobjectid" json:"sysobjectid"`
	InformTimeout configstore.Duration `toml:"inform_timeout" json:"inform_timeout"`
	InformRetries int                  `toml:"inform_retries" json:"inform_retries"`
	QueueSize     int                  `toml:"queue_size" json:"queue_size"`
	MIBDirs       []string             `toml:"mib_dirs" json:"mib_dirs"`

	// SNMPv3 (USM), with esxcli's names; see v3.go. EngineID "" is the
	// engine ID the daemon generated at its first start.
	EngineID       string   `toml:"engineid" json:"engineid"`
	Authentication string   `toml:"authentication" json:"authentication"`
	Privacy        string   `toml:"privacy" json:"privacy"`
	Users          Users    `toml:"users" json:"users"`
	V3Targets      []string `toml:"v3targets" json:"v3targets"`
	// RemoteUsers are the users of inform receivers (v3targets .../inform).
	RemoteUsers RemoteUsers `toml:"remoteusers" json:"remoteusers"`

	// Polling (GET, GETNEXT, GETBULK) through net-snmp's snmpd, while the
	// agent is enabled; see polling.go.
	Polling       string `toml:"polling" json:"polling"`
	ListenAddress string `toml:"listen_address" json:"listen_address"`
	AgentXSocket  string `toml:"agentx_socket" json:"agentx_socket"`
	LargeStorage  bool   `toml:"largestorage" json:"largestorage"`
}

// Limits of the settings, as on ESXi where ESXi has one.
const (
	MaxCommunities = 10
	MaxTargets     = 32
	maxDisplayLen  = 255
)

// DefaultSysObjectID is vmwESX, the sysObjectID ESXi sends.
var DefaultSysObjectID = mibs.VmwESX.OID.String()

// DefaultMIBDirs are the directories net-snmp searches on Debian, then the
// folder for MIB modules hostagent ships itself.
var DefaultMIBDirs = []string{
	"/usr/share/snmp/mibs",
	"/usr/share/snmp/mibs/iana",
	"/usr/share/snmp/mibs/ietf",
	"/usr/share/mibs/site",
	"/usr/share/mibs/iana",
	"/usr/share/mibs/ietf",
	"/usr/share/mibs/netsnmp",
	"/usr/share/hostagent/mibs",
}

// Loglevels are the values loglevel accepts, as esxcli accepts them.
var Loglevels = []string{"debug", "info", "warning", "error"}

// DefaultConfig is the factory configuration: the agent off, as on ESXi.
func DefaultConfig() Config {
	return Config{
		Port:          161,
		Communities:   []string{},
		Targets:       []string{},
		Notraps:       []string{},
		Loglevel:      "info",
		SysObjectID:   DefaultSysObjectID,
		InformTimeout: configstore.Duration(5 * time.Second),
		InformRetries: 3,
		QueueSize:     1024,
		MIBDirs:       slices.Clone(DefaultMIBDirs),

		Authentication: "none",
		Privacy:        "none",
		Users:          Users{},
		V3Targets:      []string{},
		RemoteUsers:    RemoteUsers{},

		Polling:      PollingPrivate,
		AgentXSocket: DefaultAgentXSocket,
		LargeStorage: true,
	}
}

// Resolver turns notraps entries (numeric OIDs, catalogue names or
// MODULE::name) into OIDs.
type Resolver interface {
	OID(name string) (mibs.OID, error)
}

// Validate checks every setting and returns all problems at once, each
// naming the setting, the value and what is allowed.
func (c *Config) Validate(r Resolver) error {
	_, err := c.Parse(r)
	return err
}

// Settings is the validated, parsed form of a Config.
type Settings struct {
	Targets     []Target
	Notraps     []mibs.OID
	SysObjectID mibs.OID
	Level       slog.Level
	V3          V3
}

// Parse validates c and returns its parsed form.
func (c *Config) Parse(r Resolver) (Settings, error) {
	var s Settings
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	add(CheckPort(c.Port))
	add(CheckCommunities(c.Communities))
	add(CheckTargets(c.Targets))
	for _, raw := range c.Targets {
		t, err := ParseTarget(raw)
		if err != nil {
			continue // reported by CheckTargets
		}
		if t.Community == "" && len(c.Communities) == 0 && c.Enabled {
			bad("targets: %q names no community and no communities are configured; write host@port/community or set communities", raw)
		}
		s.Targets = append(s.Targets, t)
	}
	for _, name := range c.Notraps {
		oid, err := r.OID(name)
		if err != nil {
			bad("notraps: %q: %w", name, err)
			continue
		}
		s.Notraps = append(s.Notraps, oid)
	}
	add(CheckText("syscontact", c.Syscontact))
	add(CheckText("syslocation", c.Syslocation))
	level, err := CheckLoglevel(c.Loglevel)
	add(err)
	s.Level = level
	oid, err := mibs.ParseOID(c.SysObjectID)
	if err != nil {
		bad("sysobjectid: %w", err)
	}
	s.SysObjectID = oid
	if d := time.Duration(c.InformTimeout); d < 10*time.Millisecond || d > time.Minute {
		bad("inform_timeout %q: must be from 10ms to 1m", d)
	}
	if c.InformRetries < 0 || c.InformRetries > 10 {
		bad("inform_retries %d: must be from 0 to 10", c.InformRetries)
	}
	if c.QueueSize < 1 || c.QueueSize > 1_000_000 {
		bad("queue_size %d: must be from 1 to 1000000", c.QueueSize)
	}
	v3, err := c.parseV3()
	add(err)
	s.V3 = v3
	add(c.checkPolling())
	return s, errors.Join(errs...)
}

// The checks of one setting each, as Parse applies them. vicfg-snmp applies
// them to the values of its command line too, so that a value is refused
// with the daemon's own message before the change is announced or sent.
// Each error names the setting, the value and what is allowed.

// CheckPort checks the port the agent listens on.
func CheckPort(port int) error {
	if port < 1 || port > 65535 {
		return fmt.Errorf("port %d: must be from 1 to 65535", port)
	}
	return nil
}

// CheckCommunities checks a list of communities: at most MaxCommunities,
// each valid, none twice.
func CheckCommunities(communities []string) error {
	var errs []error
	if len(communities) > MaxCommunities {
		errs = append(errs, fmt.Errorf("communities: %d given, at most %d are allowed", len(communities), MaxCommunities))
	}
	for i, comm := range communities {
		if err := checkCommunity(comm); err != nil {
			errs = append(errs, fmt.Errorf("communities: %w", err))
		} else if slices.Index(communities, comm) != i {
			errs = append(errs, fmt.Errorf("communities: %q is listed twice", comm))
		}
	}
	return errors.Join(errs...)
}

// CheckTargets checks a list of targets: at most MaxTargets, each valid,
// none twice (in canonical form). Whether a target without a community has
// one to fall back on depends on the other settings: Parse checks that.
func CheckTargets(targets []string) error {
	var errs []error
	if len(targets) > MaxTargets {
		errs = append(errs, fmt.Errorf("targets: %d given, at most %d are allowed", len(targets), MaxTargets))
	}
	seen := map[string]bool{}
	for _, raw := range targets {
		t, err := ParseTarget(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("targets: %w", err))
			continue
		}
		if seen[t.String()] {
			errs = append(errs, fmt.Errorf("targets: %q is listed twice", MaskTarget(raw)))
		}
		seen[t.String()] = true
	}
	return errors.Join(errs...)
}

// CheckText checks a display string setting (syscontact, syslocation).
func CheckText(key, v string) error {
	if len(v) > maxDisplayLen || !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return fmt.Errorf("%s %q: must be at most %d characters of UTF-8 text without control characters", key, v, maxDisplayLen)
	}
	return nil
}

// CheckLoglevel checks the agent's log level and returns it.
func CheckLoglevel(level string) (slog.Level, error) {
	switch level {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return slog.LevelInfo, fmt.Errorf("loglevel %q: must be one of %s", level, strings.Join(Loglevels, ", "))
}

// Clone returns a copy that shares no slices with c.
func (c Config) Clone() Config {
	c.Communities = slices.Clone(c.Communities)
	c.Targets = slices.Clone(c.Targets)
	c.Notraps = slices.Clone(c.Notraps)
	c.MIBDirs = slices.Clone(c.MIBDirs)
	c.Users = slices.Clone(c.Users)
	c.V3Targets = slices.Clone(c.V3Targets)
	c.RemoteUsers = slices.Clone(c.RemoteUsers)
	return c
}

// Normalize rewrites the targets that parse in their canonical form
// (host@port[/community] with the kind prefix when not the default), so that
// what is stored and shown is what is in force.
func (c *Config) Normalize() {
	for i, raw := range c.Targets {
		if t, err := ParseTarget(raw); err == nil {
			c.Targets[i] = t.String()
		}
	}
	for i, raw := range c.V3Targets {
		if t, err := ParseV3Target(raw); err == nil {
			c.V3Targets[i] = t.String()
		}
	}
	// The protocols as esxcli names them, so that "sha256" and "SHA256"
	// are one setting.
	if a, err := usm.ParseAuthProtocol(c.Authentication); err == nil {
		c.Authentication = a.String()
	}
	if p, err := usm.ParsePrivProtocol(c.Privacy); err == nil {
		c.Privacy = p.String()
	}
	if id, err := usm.ParseEngineID(c.EngineID); err == nil {
		c.EngineID = usm.FormatEngineID(id)
	}
	// Receivers' engine IDs too, so that "0x80:00:1F..." and "80001f..."
	// are one setting.
	for i, raw := range c.RemoteUsers {
		if f := strings.Split(raw, "/"); len(f) == 5 {
			if id, err := usm.ParseEngineID(f[4]); err == nil {
				f[4] = usm.FormatEngineID(id)
				c.RemoteUsers[i] = strings.Join(f, "/")
			}
		}
	}
}
