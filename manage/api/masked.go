package api

import (
	"slices"
	"strings"
)

// Masked replaces a community string shown to someone who may not set it,
// as passwords are never shown: a community grants reading the agent and
// is accepted by the NOC's receivers.
const Masked = "****"

// WithoutCommunities is s as a principal without Host.Config.SNMP sees it:
// every community, and the community of every target, is Masked.
func (s SNMPState) WithoutCommunities() SNMPState {
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

// MaskTarget masks the community of a target written
// [kind:]host[@port][/community]: whatever follows the first '/', which no
// host, port or kind prefix holds.
func MaskTarget(t string) string {
	if host, _, ok := strings.Cut(t, "/"); ok {
		return host + "/" + Masked
	}
	return t
}
