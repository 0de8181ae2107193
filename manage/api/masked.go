package api

import (
	"slices"
	"strings"

	"hostagent/snmpagent/snmpconfig"
)

// Masked replaces a community string shown to someone who may not set it,
// as passwords are never shown: a community grants reading the agent and
// is accepted by the NOC's receivers.
const Masked = "****"

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

// MaskTarget masks the community of a target written
// [kind:]host[@port][/community]: whatever follows the first '/', which no
// host, port or kind prefix holds. An SNMPv3 target,
// host@port/user/level/trap (three '/'), holds no secret and is left as it is.
func MaskTarget(t string) string {
	if strings.Count(t, "/") == 3 && (strings.HasSuffix(t, "/trap") || strings.HasSuffix(t, "/inform")) {
		return t
	}
	if host, _, ok := strings.Cut(t, "/"); ok {
		return host + "/" + Masked
	}
	return t
}
