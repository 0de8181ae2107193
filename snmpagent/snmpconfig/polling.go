package snmpconfig

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
)

// The polling setting: who answers GET, GETNEXT and GETBULK. hostagent is
// no SNMP engine of its own for polls: net-snmp's snmpd is, and hostagent
// serves what only it knows (the VMware MIBs) as its AgentX subagent.
const (
	// PollingPrivate runs a snmpd of hostagent's own, configured from
	// these settings (port, communities, SNMPv3 users, engine ID,
	// syscontact, syslocation, sysobjectid), as ESXi's agent answers.
	PollingPrivate = "private"
	// PollingSystem attaches to the host's own snmpd, configured by its
	// admin, at agentx_socket.
	PollingSystem = "system"
	// PollingOff answers no poll; notifications still go.
	PollingOff = "off"
)

// ListenAddress (listen_address) is the address the private snmpd answers
// polls on, at port: empty is every address, as ESXi's agent listens.

// DefaultAgentXSocket is net-snmp's default AgentX socket, the one the
// system's snmpd opens with "master agentx".
const DefaultAgentXSocket = "/var/agentx/master"

// maxSocketPath is what a unix socket address holds (sun_path, less the
// terminating NUL).
const maxSocketPath = 107

func (c *Config) checkPolling() error {
	switch c.Polling {
	case PollingPrivate, PollingSystem, PollingOff:
	default:
		return fmt.Errorf("polling %q: must be %s (a snmpd of hostagent's own), %s (the system's snmpd, at agentx_socket) or %s", c.Polling, PollingPrivate, PollingSystem, PollingOff)
	}
	if c.ListenAddress != "" {
		if a, err := netip.ParseAddr(c.ListenAddress); err != nil || a.Zone() != "" || a.IsMulticast() {
			return fmt.Errorf("listen_address %q: must be an IPv4 or IPv6 address of this host (without brackets or zone), or empty for every address", c.ListenAddress)
		}
	}
	p := c.AgentXSocket
	if !filepath.IsAbs(p) || filepath.Clean(p) != p || len(p) > maxSocketPath || strings.ContainsFunc(p, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return fmt.Errorf("agentx_socket %q: must be the absolute, clean path of a unix socket, at most %d bytes, without control characters", p, maxSocketPath)
	}
	return nil
}
