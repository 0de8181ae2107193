// Package api is the management API's wire: its paths and the JSON bodies
// the daemon and its clients exchange, over the local unix socket (the
// console) or HTTPS. It holds types only, so that a client links nothing of
// the server, the agent or the forwarder.
package api

import (
	"time"

	"hostagent/snmpagent/snmpconfig"
	"hostagent/syslogd"
)

// DefaultSocket is where hostagentd serves the API to the console unless
// told otherwise.
const DefaultSocket = "/run/hostagent/api.sock"

// Paths of the API, versioned so that clients and daemons can evolve apart.
const (
	PathSNMP         = "/api/v1/snmp"
	PathSNMPTest     = "/api/v1/snmp/test"
	PathSyslog       = "/api/v1/syslog"
	PathSyslogMark   = "/api/v1/syslog/mark"
	PathSyslogReload = "/api/v1/syslog/reload"
)

// SNMPState is the agent's stored configuration and its live counters.
type SNMPState struct {
	Config  snmpconfig.Config        `json:"config"`
	Targets []snmpconfig.TargetStats `json:"targets"`
	// EngineID is the SNMPv3 engine ID in force (hex): engineid, or the
	// one the daemon generated; vicfg-snmp --hash localizes keys to it.
	EngineID string `json:"engine_id,omitempty"`
	// Polling is who answers GET, GETNEXT and GETBULK, and how it goes.
	Polling PollingState `json:"polling"`
}

// PollingState is the state of polling: snmpd (hostagent's own, or the
// system's) as master agent, hostagent's AgentX subagent serving the
// VMware MIBs.
type PollingState struct {
	Mode string `json:"mode"` // private, system or off
	// On is true while polls are answered: the private snmpd runs and
	// answered, or (system) the subagent is attached to the system's.
	On     bool   `json:"on"`
	Reason string `json:"reason,omitempty"` // why not, when not On
	// Cause is Reason as one word, for /metrics' label: agent_disabled,
	// polling_off, not_installed, config_refused, not_running,
	// waiting_for_master.
	Cause  string `json:"cause,omitempty"`
	Listen string `json:"listen,omitempty"` // the private snmpd's agentAddress
	PID    int    `json:"pid,omitempty"`    // the private snmpd's
	// Restarts counts the private snmpd's starts after it died or failed.
	Restarts int `json:"restarts,omitempty"`
	// Master is the AgentX socket the subagent attaches to.
	Master            string `json:"master,omitempty"`
	SubagentConnected bool   `json:"subagent_connected"`
	SubagentError     string `json:"subagent_error,omitempty"`
	// Objects counts the VMware MIB objects the subagent serves.
	Objects int `json:"objects"`
}

// SNMPPatch changes some settings and leaves the others alone; a list given
// replaces the whole previous list, as on ESXi.
type SNMPPatch struct {
	Enabled     *bool     `json:"enabled,omitempty"`
	Port        *int      `json:"port,omitempty"`
	Communities *[]string `json:"communities,omitempty"`
	Targets     *[]string `json:"targets,omitempty"`
	Notraps     *[]string `json:"notraps,omitempty"`
	Syscontact  *string   `json:"syscontact,omitempty"`
	Syslocation *string   `json:"syslocation,omitempty"`
	Loglevel    *string   `json:"loglevel,omitempty"`

	EngineID       *string   `json:"engineid,omitempty"`
	Authentication *string   `json:"authentication,omitempty"`
	Privacy        *string   `json:"privacy,omitempty"`
	Users          *[]string `json:"users,omitempty"`
	V3Targets      *[]string `json:"v3targets,omitempty"`
	RemoteUsers    *[]string `json:"remoteusers,omitempty"`
}

// Apply writes the patch's settings into c.
func (p SNMPPatch) Apply(c *snmpconfig.Config) {
	set := func(dst *[]string, src *[]string) {
		if src != nil {
			*dst = append([]string{}, (*src)...)
		}
	}
	if p.Enabled != nil {
		c.Enabled = *p.Enabled
	}
	if p.Port != nil {
		c.Port = *p.Port
	}
	set(&c.Communities, p.Communities)
	set(&c.Targets, p.Targets)
	set(&c.Notraps, p.Notraps)
	if p.Syscontact != nil {
		c.Syscontact = *p.Syscontact
	}
	if p.Syslocation != nil {
		c.Syslocation = *p.Syslocation
	}
	if p.Loglevel != nil {
		c.Loglevel = *p.Loglevel
	}
	if p.EngineID != nil {
		c.EngineID = *p.EngineID
	}
	if p.Authentication != nil {
		c.Authentication = *p.Authentication
	}
	if p.Privacy != nil {
		c.Privacy = *p.Privacy
	}
	if p.Users != nil {
		c.Users = append(snmpconfig.Users{}, (*p.Users)...)
	}
	set(&c.V3Targets, p.V3Targets)
	if p.RemoteUsers != nil {
		c.RemoteUsers = append(snmpconfig.RemoteUsers{}, (*p.RemoteUsers)...)
	}
}

// Error is the body of every failed request.
type Error struct {
	Error string `json:"error"`
}

// SyslogState is the forwarder's stored configuration and each loghost's
// state.
type SyslogState struct {
	Config   syslogd.Config  `json:"config"`
	Loghosts []LoghostStatus `json:"loghosts"`
}

// LoghostStatus is what vicfg-syslog --show prints of one loghost.
type LoghostStatus struct {
	Loghost   string `json:"loghost"`
	Connected bool   `json:"connected"`
	// Guarantee says what "confirmed" means on this loghost's transport,
	// and that UDP confirms nothing.
	Guarantee   string `json:"guarantee"`
	Queued      int64  `json:"queued"`      // bytes of socket messages in the spool not yet delivered; lines not yet read from files are not counted
	Sent        uint64 `json:"sent"`        // messages written (TCP, TLS, RELP) or sent (UDP)
	Confirmed   uint64 `json:"confirmed"`   // messages with evidence of delivery (0 on UDP)
	Unconfirmed int    `json:"unconfirmed"` // written, kept until confirmed, written again after a reconnection
	Dropped     uint64 `json:"dropped"`     // socket messages the spool could not take (full, or the disk)
	SendFailed  uint64 `json:"send_failed"` // UDP datagrams the local kernel refused
	Lost        uint64 `json:"lost"`        // parts of log files deleted or truncated before they were read
	// LagBytes is what this loghost has not confirmed yet: Queued, plus
	// the bytes of the followed files past its positions (read and
	// unconfirmed, or not read yet; generations rotated away not counted).
	LagBytes int64 `json:"lag_bytes"`
	// OldestUnsent is when the oldest line read and not yet confirmed by
	// this loghost was read; omitted when none waits.
	OldestUnsent time.Time `json:"oldest_unsent,omitzero"`
	// A log bus's: records whose publication failed and were published
	// again, and the sum of publish-to-acknowledgement times of the
	// confirmed ones (divide by Confirmed for the mean).
	Failed     uint64        `json:"failed,omitempty"`
	AckLatency time.Duration `json:"ack_latency_sum_ns,omitempty"`
	LastError  string        `json:"last_error,omitempty"`
}

// SyslogPatch changes the loghosts and the log files; nil leaves them, a
// list given replaces the whole list.
type SyslogPatch struct {
	Loghosts *[]string `json:"loghosts,omitempty"`
	// Files are syslog.toml's [[files]]. Over the network a glob not in
	// force must name files under the daemon's log roots (--log-root).
	Files *[]syslogd.FileInput `json:"files,omitempty"`
	// Options are syslog.toml's [loghost_options."<uri>"], keyed by the
	// loghost as written in the loghosts; the map given replaces the whole
	// map (a loghost left out takes its scheme's defaults). They hold no
	// secret, only the files secrets are read from: over the network such
	// a path (ca_file, cert_file, key_file, a bus's secret files) may not
	// change (see internal/daemon/paths.go).
	Options *map[string]syslogd.LoghostOptions `json:"loghost_options,omitempty"`
	// Reset returns every setting to the factory default first (loghosts
	// none), as esxcli system syslog config set --reset.
	Reset bool `json:"reset,omitempty"`
}

// SyslogMark is the body of POST /api/v1/syslog/mark.
type SyslogMark struct {
	Message string `json:"message"`
}

// Paths of remote management.
const (
	PathSession  = "/api/v1/session"  // POST: log in; GET: who is logged in; DELETE: log out
	PathUsers    = "/api/v1/users"    // GET, POST; /{name}: PATCH, DELETE
	PathRoles    = "/api/v1/roles"    // GET, POST; /{name}: DELETE
	PathLockdown = "/api/v1/lockdown" // GET, PUT
	PathLocks    = "/api/v1/locks"    // GET; DELETE .../{user or address}
	PathIdentity = "/api/v1/identity" // GET: the certificate's fingerprint
	PathHealth   = "/healthz"
	PathMetrics  = "/metrics"
)

// Login is the body of POST /api/v1/session.
type Login struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

// SessionInfo answers a login: the token goes in "Authorization: Bearer".
type SessionInfo struct {
	Token       string `json:"token"`
	User        string `json:"user"`
	Role        string `json:"role"`
	IdleTimeout string `json:"idle_timeout"` // e.g. "30m0s"
	// Privileges are those the session's role grants (every one for the
	// console), sorted: a client shows only what they allow to change.
	Privileges []string `json:"privileges,omitempty"`
}

// User is one local user as the API shows it (never a password or hash).
type User struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// NewUser is the body of POST /api/v1/users.
type NewUser struct {
	Name     string `json:"name"`
	Password string `json:"password"`
	Role     string `json:"role"`
}

// UserPatch is the body of PATCH /api/v1/users/{name}.
type UserPatch struct {
	Password *string `json:"password,omitempty"`
	// OldPassword is the current password, needed when users change their
	// own password over the network (not from the console).
	OldPassword string  `json:"old_password,omitempty"`
	Role        *string `json:"role,omitempty"`
}

// Role is a role with its privileges.
type Role struct {
	Name       string   `json:"name"`
	Privileges []string `json:"privileges"`
	BuiltIn    bool     `json:"built_in,omitempty"`
}

// Lockdown is the lockdown state, as ESXi has it: in normal and strict
// mode only the exception users log in over the network, and entering
// either ends the other sessions (strict mode every session); only the
// local socket weakens or leaves it.
type Lockdown struct {
	Enabled        bool     `json:"enabled"` // mode is normal or strict
	Mode           string   `json:"mode"`    // disabled, normal or strict
	ExceptionUsers []string `json:"exception_users"`
}

// LockdownChange is the body of PUT /api/v1/lockdown: fields left out keep
// their value. Enabled true is normal mode unless the mode is stricter
// already; false is disabled. Mode and Enabled do not go together.
type LockdownChange struct {
	Enabled        *bool     `json:"enabled,omitempty"`
	Mode           *string   `json:"mode,omitempty"`
	ExceptionUsers *[]string `json:"exception_users,omitempty"`
}

// Lock is a lock of the login limiter, or failures on the way to one: the
// user name guessed at from a source address, or (User empty) the address
// itself, whatever names it tried.
type Lock struct {
	User        string `json:"user,omitempty"`
	Source      string `json:"source"`                 // an address, or an IPv6 /64
	Failures    int    `json:"failures"`               // in the last 5 minutes
	LockedUntil string `json:"locked_until,omitempty"` // RFC 3339; empty when not locked now
}

// Unlocked answers DELETE /api/v1/locks/{target}.
type Unlocked struct {
	Cleared int `json:"cleared"`
}

// Identity is the daemon's TLS certificate, for clients to pin.
type Identity struct {
	Fingerprint string `json:"fingerprint"` // SHA-256, AA:BB:...
}

// Paths of configuration backup.
const (
	PathBackup      = "/api/v1/backup"       // GET: take one; PUT: restore one
	PathBackupReset = "/api/v1/backup/reset" // POST: factory defaults
)

// BackupFormat and BackupVersion identify a backup file; a file of another
// format or a newer version is refused.
// Version 2 added Omitted: a version 1 reader would take an omitted
// users.toml for "no users" and delete them, so it must refuse these.
// Version 3 added Hidden: a version 2 reader would restore the
// placeholders as the secrets themselves.
const (
	BackupFormat  = "hostagent-config-backup"
	BackupVersion = 3
)

// Backup is every setting of a daemon in one file: its configuration
// files, its users and roles, its lockdown mode and (unless excluded) its
// TLS identity, each as the text of its file.
type Backup struct {
	Format  string            `json:"format"`
	Version int               `json:"version"`
	Created string            `json:"created"` // RFC 3339
	Host    string            `json:"host"`
	Files   map[string]string `json:"files"` // e.g. "config/snmp.toml", "state/users.toml", "state/server.key"
	// Omitted lists the files (keys as in Files) left out because they hold
	// secrets the downloader may not have: the users' password hashes and
	// the TLS private key are given to Administrators only. A restore keeps
	// the host's own copy of an omitted file, rather than its default.
	Omitted []string `json:"omitted,omitempty"`
	// Hidden lists the files (keys as in Files) held with their secrets
	// replaced by placeholders, for the same reason: snmp.toml's
	// communities and SNMPv3 keys. A restore takes each hidden secret from
	// the same entry of the host's configuration in force.
	Hidden []string `json:"hidden,omitempty"`
	// EngineBoots is the SNMPv3 engine's snmpEngineBoots when the backup
	// was taken. A restore elsewhere of the engine ID snmp.toml carries
	// raises that host's boots above it: receivers drop messages whose
	// boots went down.
	EngineBoots uint32 `json:"engine_boots,omitempty"`
}
