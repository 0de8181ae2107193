package snmpconfig

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// HiddenCommunity stands for a community wherever one is shown to someone
// who may not read it (the API, a backup taken without every privilege),
// as passwords are never shown: a community grants reading the agent and
// is accepted by the NOC's receivers.
const HiddenCommunity = "****"

// MaskTarget hides the community of a target written
// [kind:]host[@port][/community]: whatever follows the first '/', which no
// host, port or kind prefix holds. An SNMPv3 target,
// host@port/user/level/trap (three '/'), holds no secret and is left as it is.
func MaskTarget(t string) string {
	if strings.Count(t, "/") == 3 && (strings.HasSuffix(t, "/trap") || strings.HasSuffix(t, "/inform")) {
		return t
	}
	if host, _, ok := strings.Cut(t, "/"); ok {
		return host + "/" + HiddenCommunity
	}
	return t
}

// WithoutSecrets is c with every secret replaced by its placeholder: each
// community, and each target's, by HiddenCommunity; each localized key of
// the users and remote users by KeySet. What stays (names, models, engine
// IDs, hosts) is what FillSecrets matches the secrets back by.
func (c Config) WithoutSecrets() Config {
	c = c.Clone()
	for i := range c.Communities {
		c.Communities[i] = HiddenCommunity
	}
	for i, t := range c.Targets {
		c.Targets[i] = MaskTarget(t)
	}
	return c.WithoutKeys()
}

// WithoutKeys is c with every localized key of the users and remote users
// replaced by KeySet, the rest as it is.
func (c Config) WithoutKeys() Config {
	c.Users = maskAll(c.Users, MaskUser)
	c.RemoteUsers = maskAll(c.RemoteUsers, MaskRemoteUser)
	return c
}

// FillSecrets puts back the secrets WithoutSecrets hid, taking each from
// the same entry of from (the configuration in force): the communities
// (all hidden: from's list), a target's community from the target of the
// same kind, host and port, a user's keys from the user of the same name
// and model, a remote user's from the remote user of the same name, model
// and engine ID. An entry from does not have cannot be filled: its secret
// is nowhere, so the whole is refused, naming each such entry, rather
// than restored without it. Keys taken from from are only as valid as
// from's engine ID and protocols: CheckKeysKept, run on every change,
// refuses a c that changes those.
func (c *Config) FillSecrets(from Config) error {
	var errs []error
	// Two copies of one hidden entry would both get its secret, and the
	// check that refuses the repetition would quote it.
	for i, t := range c.Targets {
		if hasPlaceholder(t) && slices.Index(c.Targets, t) != i {
			errs = append(errs, fmt.Errorf("targets: %q is listed twice", t))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	hidden := 0
	for _, s := range c.Communities {
		if s == HiddenCommunity {
			hidden++
		}
	}
	switch {
	case hidden > 0 && hidden < len(c.Communities):
		errs = append(errs, errors.New("communities: some are hidden and some given; a backup hides them all"))
	case hidden > 0:
		c.Communities = slices.Clone(from.Communities)
	}
	filled := map[string]bool{} // "users/NAME", "remoteusers/NAME": keys taken from the host
	fill := func(setting string, list []string, have []string, mask func(string) string, what string) {
		for i, entry := range list {
			if mask(entry) != entry || !hasPlaceholder(entry) {
				continue // holds its own secret, or none
			}
			name, _, _ := strings.Cut(entry, "/")
			filled[setting+"/"+name] = true
			j := slices.IndexFunc(have, func(h string) bool { return mask(h) == entry })
			if j < 0 {
				errs = append(errs, fmt.Errorf("%s: %q: its secret is hidden in this backup (taken without every privilege) and this host has no %s to take it from; "+
					"remove the entry from the backup and set it again with vicfg-snmp after the restore, or restore a backup taken with every privilege", setting, entry, what))
				continue
			}
			list[i] = have[j]
		}
	}
	c.Targets = slices.Clone(c.Targets)
	c.Users = slices.Clone(c.Users)
	c.RemoteUsers = slices.Clone(c.RemoteUsers)
	fill("targets", c.Targets, from.Targets, MaskTarget, "target of the same kind, host and port")
	fill("users", c.Users, from.Users, MaskUser, "user of that name and model")
	fill("remoteusers", c.RemoteUsers, from.RemoteUsers, MaskRemoteUser, "remote user of that name, model and engine ID")

	// A secret taken from the host goes only where it went before: a
	// target added by the backup would send the host's community, or
	// messages authenticated with its keys, to a receiver its holder
	// chose. The v1/v2c targets holding a hidden community were matched
	// to the host's above; a target without one takes the first
	// community.
	newTarget := func(setting, t string, have []string, why string) {
		if !slices.Contains(have, t) {
			errs = append(errs, fmt.Errorf("%s: %q is not a target of this host, and would get %s taken from the host, which this backup hides: "+
				"a restore does not send the host's secrets to a new receiver; add the target with vicfg-snmp after the restore, or restore a backup taken with every privilege", setting, t, why))
		}
	}
	for _, raw := range c.Targets {
		if t, err := ParseTarget(raw); err == nil && t.Community == "" && hidden > 0 {
			newTarget("targets", raw, from.Targets, "the first community")
		}
	}
	for _, raw := range c.V3Targets {
		t, err := ParseV3Target(raw)
		if err != nil {
			continue // refused by Parse
		}
		if t.Kind == InformV3 && filled["remoteusers/"+t.User] {
			newTarget("v3targets", raw, from.V3Targets, "remote user "+strconv.Quote(t.User)+"'s keys")
		} else if t.Kind == TrapV3 && filled["users/"+t.User] {
			newTarget("v3targets", raw, from.V3Targets, "user "+strconv.Quote(t.User)+"'s keys")
		}
	}
	return errors.Join(errs...)
}

// hasPlaceholder tells an entry that WithoutSecrets hid something in.
func hasPlaceholder(entry string) bool {
	return strings.HasSuffix(entry, "/"+HiddenCommunity) || strings.Contains(entry, "/"+KeySet)
}

// HasKeys tells a configuration whose users hold localized keys: they are
// valid for its engine ID and authentication protocol only.
func (c Config) HasKeys() bool {
	for _, u := range c.Users {
		if f := strings.Split(u, "/"); len(f) == 4 && (f[1] != "-" || f[2] != "-") {
			return true
		}
	}
	return false
}
