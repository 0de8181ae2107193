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
// are the SNMPv3 users' keys (WithoutKeys).
func (s SNMPState) WithoutCommunities() SNMPState {
	s = s.WithoutKeys()
	s.Config.Communities = slices.Clone(s.Config.Communities)
	for i := range s.Config.Communities {
		s.Config.Communities[i] = Masked
	}
	s.Config.Targets = slices.Clone(s.Config.Targets)
	for i, t := range s.Config.Targets {
		s.Config.Targets[i] = MaskTarget(t)
	}
	s.Targets = slices.Clone(s.Targets)
	for i := range s.Targets {
		s.Targets[i].Target = MaskTarget(s.Targets[i].Target)
	}
	return s
}

// WithoutKeys is s with every SNMPv3 user's (and remote user's) localized keys shown as
// snmpconfig.KeySet ("<set>"): a key is a password for the receivers that
// know the user, and like a password is needed by nobody who reads it back.
// The daemon's configuration keeps them; this is only what is shown.
func (s SNMPState) WithoutKeys() SNMPState {
	users := make(snmpconfig.Users, len(s.Config.Users))
	for i, u := range s.Config.Users {
		users[i] = snmpconfig.MaskUser(u)
	}
	s.Config.Users = users
	remote := make(snmpconfig.RemoteUsers, len(s.Config.RemoteUsers))
	for i, u := range s.Config.RemoteUsers {
		remote[i] = snmpconfig.MaskRemoteUser(u)
	}
	s.Config.RemoteUsers = remote
	return s
}

// MaskTarget hides the community of a target (snmpconfig.MaskTarget).
func MaskTarget(t string) string { return snmpconfig.MaskTarget(t) }
