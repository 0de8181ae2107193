// Package api is the daemon's management API: JSON over HTTP, served on the
// local unix socket (and, being plain net/http, ready to be served over TLS).
// It holds the request and response types, the server's routing and the
// client the vicfg-* commands use.
package api

import "hostagent/snmpagent"

// Paths of the API, versioned so that clients and daemons can evolve apart.
const (
	PathSNMP     = "/api/v1/snmp"
	PathSNMPTest = "/api/v1/snmp/test"
)

// SNMPState is the agent's stored configuration and its live counters.
type SNMPState struct {
	Config  snmpagent.Config        `json:"config"`
	Targets []snmpagent.TargetStats `json:"targets"`
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
}

// Apply writes the patch's settings into c.
func (p SNMPPatch) Apply(c *snmpagent.Config) {
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
}

// Error is the body of every failed request.
type Error struct {
	Error string `json:"error"`
}
