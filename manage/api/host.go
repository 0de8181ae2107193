package api

// Paths of what the web console watches (System.Read).
const (
	PathHost          = "/api/v1/host"          // GET: HostState
	PathHistory       = "/api/v1/history"       // GET: History
	PathNotifications = "/api/v1/notifications" // GET ?after=SEQ: NotificationFeed
)

// HostState is the host as the agent sees it now: who it is, how each
// collector fares, the VMs and the sensors.
type HostState struct {
	Hostname   string           `json:"hostname"`
	Product    string           `json:"product"`
	Version    string           `json:"version"`
	Build      string           `json:"build"`
	Started    string           `json:"started"` // RFC 3339: the daemon's start
	Collectors []CollectorState `json:"collectors"`
	VMs        []VMState        `json:"vms"`
	Sensors    []SensorState    `json:"sensors"`
}

// CollectorState is one registered collector.
type CollectorState struct {
	Name    string `json:"name"`
	Enabled bool   `json:"enabled"`
	// State is running (its last run went well), absent (the host has no
	// such source), stopped (not enabled) or failing (its last run failed).
	State     string `json:"state"`
	LastRun   string `json:"last_run,omitempty"` // RFC 3339; omitted before the first run
	LastError string `json:"last_error,omitempty"`
	Detail    string `json:"detail,omitempty"` // runs and failures so far, the last run's duration
}

// VMState is one VM (VMWARE-VMINFO-MIB's vmwVmTable row).
type VMState struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	State      string `json:"state"` // poweredOn, poweredOff, suspended or unknown
	ConfigPath string `json:"config_path"`
}

// SensorState is one hardware sensor.
type SensorState struct {
	Name      string `json:"name"`
	Subsystem string `json:"subsystem"` // temperatureSensor, fan, voltage, powerSupply, battery
	Status    string `json:"status"`    // normal, marginal, critical, failed or unknown
	Reading   string `json:"reading"`   // e.g. "45.0 C"
}

// History is the last hour of throughput, sampled every IntervalSeconds,
// oldest first; every series has one point per entry of Times.
type History struct {
	IntervalSeconds int             `json:"interval_seconds"`
	Times           []string        `json:"times"` // RFC 3339
	Loghosts        []LoghostSeries `json:"loghosts"`
	Targets         []TargetSeries  `json:"targets"`
}

// LoghostSeries is a loghost's lines confirmed (sent, on UDP) per second
// in each interval.
type LoghostSeries struct {
	Loghost        string    `json:"loghost"`
	LinesPerSecond []float64 `json:"lines_per_second"`
}

// TargetSeries is an SNMP target's notifications sent per minute in each
// interval.
type TargetSeries struct {
	Target                 string    `json:"target"` // as SNMPState.Targets[].Target
	NotificationsPerMinute []float64 `json:"notifications_per_minute"`
}

// WithoutCommunities is h as a principal without Host.Config.SNMP sees it:
// each target's community Masked, as SNMPState.WithoutCommunities.
func (h History) WithoutCommunities() History {
	targets := make([]TargetSeries, len(h.Targets))
	for i, t := range h.Targets {
		t.Target = MaskTarget(t.Target)
		targets[i] = t
	}
	h.Targets = targets
	return h
}

// NotificationFeed is the notifications the agent sent, oldest first.
type NotificationFeed struct {
	Latest        uint64         `json:"latest"` // the newest sequence number sent so far (0: none)
	Notifications []Notification `json:"notifications"`
}

// Notification is one notification sent, decoded with MIB names.
type Notification struct {
	Seq      uint64       `json:"seq"`
	Time     string       `json:"time"` // RFC 3339
	Name     string       `json:"name"` // e.g. SNMPv2-MIB::warmStart
	OID      string       `json:"oid"`
	VarBinds []NamedValue `json:"varbinds"`
	Targets  []string     `json:"targets"`
}

// NamedValue is a varbind as name=value.
type NamedValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// WithoutCommunities is f with each target's community Masked.
func (f NotificationFeed) WithoutCommunities() NotificationFeed {
	out := make([]Notification, len(f.Notifications))
	for i, n := range f.Notifications {
		targets := make([]string, len(n.Targets))
		for j, t := range n.Targets {
			targets[j] = MaskTarget(t)
		}
		n.Targets = targets
		out[i] = n
	}
	f.Notifications = out
	return f
}
