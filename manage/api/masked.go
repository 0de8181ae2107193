package api

import (
	"slices"

	"hostagent/snmpagent/snmpconfig"
)

// Masked replaces a community string shown to someone who may not set it
// (snmpconfig.HiddenCommunity).
const Masked = snmpconfig.HiddenCommunity

// WithoutCommunities is s as a principal without Host.Config.SNMP sees it:
// every community, and the community of every target, is Masked, and so
// are the SNMPv3 users' keys (snmpconfig.Config.WithoutSecrets).
func (s SNMPState) WithoutCommunities() SNMPState {
	s.Config = s.Config.WithoutSecrets()
	s.Targets = slices.Clone(s.Targets)
	for i := range s.Targets {
		s.Targets[i].Target = MaskTarget(s.Targets[i].Target)
	}
	return s
}

// WithoutKeys is s with every SNMPv3 user's (and remote user's) localized
// keys shown as snmpconfig.KeySet ("<set>"): a key is a password for the
// receivers that know the user, and like a password is needed by nobody
// who reads it back. The daemon's configuration keeps them; this is only
// what is shown.
func (s SNMPState) WithoutKeys() SNMPState {
	s.Config = s.Config.WithoutKeys()
	return s
}

// MaskTarget hides the community of a target (snmpconfig.MaskTarget).
func MaskTarget(t string) string { return snmpconfig.MaskTarget(t) }
