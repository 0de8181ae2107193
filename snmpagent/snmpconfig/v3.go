package snmpconfig

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"hostagent/snmpagent/usm"
)

// The SNMPv3 settings follow esxcli system snmp set: engineid,
// authentication, privacy, users and v3targets, with ESXi's limits.
const (
	MaxUsers     = 5
	MaxV3Targets = 3
)

// Users is the users setting: name/authhash/privhash/model entries, the
// hashes being localized keys as vicfg-snmp --hash prints them ("-" for
// none). It is a type of its own so that printing it (logs, the audit
// trail's written values) never shows a key: see String.
type Users []string

// String writes the users with every key replaced by <set>, so that no log
// line or audit entry carries one.
func (u Users) String() string { return strings.Join(maskAll(u, MaskUser), ",") }

// KeySet replaces a localized key wherever users are shown.
const KeySet = "<set>"

// RemoteUsers is the remoteusers setting: name/authhash/privhash/model/engineid
// entries, the users of the receivers of SNMPv3 informs (each receiver is
// the authoritative engine of the informs it gets, so the keys are
// localized to its engine ID, the entry's last part). Like Users, its
// String never shows a key.
type RemoteUsers []string

// String writes the remote users with every key replaced by <set>.
func (u RemoteUsers) String() string { return strings.Join(maskAll(u, MaskRemoteUser), ",") }

// maskAll is a copy of list with mask applied to each entry.
func maskAll[L ~[]string](list L, mask func(string) string) L {
	out := make(L, len(list))
	for i, raw := range list {
		out[i] = mask(raw)
	}
	return out
}

// MaskRemoteUser is a remoteusers entry with its keys replaced by KeySet;
// the engine ID stays (it is no secret: the receiver announces it to
// anyone who asks).
func MaskRemoteUser(raw string) string {
	f := strings.Split(raw, "/")
	if len(f) != 5 {
		return maskWhole(raw)
	}
	return MaskUser(strings.Join(f[:4], "/")) + "/" + f[4]
}

// maskWhole keeps only the name of an entry that does not have its shape.
func maskWhole(raw string) string {
	if name, _, ok := strings.Cut(raw, "/"); ok {
		return name + "/" + KeySet
	}
	return raw
}

// MaskUser is a users entry with its keys replaced by KeySet ("-" stays
// "-"); anything after the name that does not have the entry's shape is
// masked whole, since it may hold a key.
func MaskUser(raw string) string {
	f := strings.Split(raw, "/")
	if len(f) != 4 {
		return maskWhole(raw)
	}
	for i := 1; i <= 2; i++ {
		if f[i] != "-" {
			f[i] = KeySet
		}
	}
	return strings.Join(f, "/")
}

// V3 is the parsed form of the SNMPv3 settings.
type V3 struct {
	EngineID []byte // nil: the daemon's generated engine ID
	Auth     usm.AuthProtocol
	Priv     usm.PrivProtocol
	Users    []usm.User // Level is the user's model; keys localized to the engine ID
	// RemoteUsers are the users of inform receivers, keys localized to
	// each receiver's engine ID.
	RemoteUsers []RemoteUser
	Targets     []Target // Kind TrapV3 or InformV3
}

// RemoteUser is a user of an inform receiver: its keys are localized to
// the receiver's engine ID, EngineID. EngineID is nil only for a
// noAuthNoPriv user, whose receiver's engine ID is then discovered.
type RemoteUser struct {
	usm.User
	EngineID []byte
}

// RemoteUser returns the remote user named name, and whether there is one.
func (v *V3) RemoteUser(name string) (RemoteUser, bool) {
	for _, u := range v.RemoteUsers {
		if u.Name == name {
			return u, true
		}
	}
	return RemoteUser{}, false
}

// User returns the user named name, and whether there is one.
func (v *V3) User(name string) (usm.User, bool) {
	for _, u := range v.Users {
		if u.Name == name {
			return u, true
		}
	}
	return usm.User{}, false
}

// parseV3 checks the SNMPv3 settings together (a user's keys depend on the
// authentication protocol, a target's level on its user's model).
func (c *Config) parseV3() (V3, error) {
	var v V3
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if c.EngineID != "" {
		id, err := usm.ParseEngineID(c.EngineID)
		if err != nil {
			add(fmt.Errorf("engineid: %w", err))
		}
		v.EngineID = id
	}
	var authErr, privErr error
	v.Auth, authErr = usm.ParseAuthProtocol(c.Authentication)
	if authErr != nil {
		add(fmt.Errorf("authentication: %w", authErr))
	}
	v.Priv, privErr = usm.ParsePrivProtocol(c.Privacy)
	if privErr != nil {
		add(fmt.Errorf("privacy: %w", privErr))
	}
	if v.Priv != usm.PrivNone && v.Auth == usm.AuthNone && authErr == nil {
		add(fmt.Errorf("privacy %q needs authentication, but authentication is none (allowed with privacy: SHA1, SHA224, SHA256, SHA384, SHA512)", c.Privacy))
	}
	if len(c.Users) > MaxUsers {
		add(fmt.Errorf("users: %d given, at most %d are allowed", len(c.Users), MaxUsers))
	}
	for _, raw := range c.Users {
		if authErr != nil || privErr != nil {
			break // the keys cannot be checked against an unknown protocol
		}
		u, err := ParseUser(raw, v.Auth, v.Priv)
		if err != nil {
			add(err)
			continue
		}
		if _, dup := v.User(u.Name); dup {
			add(fmt.Errorf("users: user %q is listed twice", u.Name))
			continue
		}
		v.Users = append(v.Users, u)
	}
	if len(c.RemoteUsers) > MaxUsers {
		add(fmt.Errorf("remoteusers: %d given, at most %d are allowed", len(c.RemoteUsers), MaxUsers))
	}
	for _, raw := range c.RemoteUsers {
		if authErr != nil || privErr != nil {
			break
		}
		u, err := ParseRemoteUser(raw, v.Auth, v.Priv)
		if err != nil {
			add(err)
			continue
		}
		if _, dup := v.RemoteUser(u.Name); dup {
			add(fmt.Errorf("remoteusers: user %q is listed twice", u.Name))
			continue
		}
		v.RemoteUsers = append(v.RemoteUsers, u)
	}
	add(CheckV3Targets(c.V3Targets))
	for _, raw := range c.V3Targets {
		t, err := ParseV3Target(raw)
		if err != nil {
			continue // reported by CheckV3Targets
		}
		var u usm.User
		var ok bool
		setting, names := "users", userNames(v.Users)
		if t.Kind == InformV3 {
			// The receiver of an inform is the authoritative engine: its
			// user, keys localized to its engine ID, is a remote user.
			var ru RemoteUser
			ru, ok = v.RemoteUser(t.User)
			u = ru.User
			setting, names = "remoteusers", remoteUserNames(v.RemoteUsers)
		} else {
			u, ok = v.User(t.User)
		}
		switch {
		case authErr != nil || privErr != nil:
		case !ok:
			add(fmt.Errorf("v3targets: %q names user %q, which %s does not list (%s: %s)", raw, t.User, setting, setting, names))
		case t.Level > u.Level:
			add(fmt.Errorf("v3targets: %q asks for security level %s, but user %q has model %s (allowed: a level up to the user's model)", raw, t.Level, t.User, u.Level))
		}
		v.Targets = append(v.Targets, t)
	}
	return v, errors.Join(errs...)
}

func userNames(us []usm.User) string {
	if len(us) == 0 {
		return "none"
	}
	names := make([]string, len(us))
	for i, u := range us {
		names[i] = u.Name
	}
	return strings.Join(names, ", ")
}

func remoteUserNames(us []RemoteUser) string {
	if len(us) == 0 {
		return "none"
	}
	names := make([]string, len(us))
	for i, u := range us {
		names[i] = u.Name
	}
	return strings.Join(names, ", ")
}

// ParseRemoteUser reads one remoteusers entry,
// name/authhash/privhash/model/engineid: a users entry for the receiver of
// informs, plus the receiver's engine ID (hex), to which its keys are
// localized. Errors name the user but never a key.
//
// The engine ID is required for a user with keys: a localized key is only
// valid for one engine ID, and it has to be known to compute the key:
// vicfg-snmp --hash --remote-target finds it by engine discovery (RFC 3414
// §4) and prints it with the keys, --hash --remote-engineid takes it. Only
// a noAuthNoPriv user may leave it out (- or empty): the agent then takes
// the one engine discovery finds when it sends.
func ParseRemoteUser(raw string, a usm.AuthProtocol, p usm.PrivProtocol) (RemoteUser, error) {
	const syntax = "want name/authhash/privhash/model/engineid, the engine ID being the receiver's, in hex"
	f := strings.Split(raw, "/")
	if len(f) != 5 {
		return RemoteUser{}, fmt.Errorf("remoteusers: entry %q has %d parts separated by '/' (%s)", MaskRemoteUser(raw), len(f), syntax)
	}
	u, err := ParseUser(strings.Join(f[:4], "/"), a, p)
	if err != nil {
		return RemoteUser{}, fmt.Errorf("remote%w", err) // "remoteusers: ..."
	}
	ru := RemoteUser{User: u}
	if f[4] == "" || f[4] == "-" {
		if u.Level != usm.NoAuthNoPriv {
			return ru, fmt.Errorf("remoteusers: user %q has model %s but no engine ID: its keys must be localized to the receiver's engine ID, so the engine ID must be given (allowed: hex, 5 to 32 octets; vicfg-snmp --hash --remote-target HOST[@PORT] finds it by engine discovery and prints it with the keys); only a user with model none may leave it out", u.Name, u.Level)
		}
		return ru, nil
	}
	if ru.EngineID, err = usm.ParseEngineID(f[4]); err != nil {
		return ru, fmt.Errorf("remoteusers: user %q engine ID: %w", u.Name, err)
	}
	return ru, nil
}

// CheckRemoteUsers checks a remoteusers list as far as it can be without
// the protocols (vicfg-snmp): at most MaxUsers, each with five parts, a
// valid name, model and engine ID, no name twice.
func CheckRemoteUsers(users []string) error {
	return checkUserList("remoteusers", "name/authhash/privhash/model/engineid", users, MaskRemoteUser, func(f []string, level usm.Level, levelOK bool) error {
		if f[4] == "" || f[4] == "-" {
			if levelOK && level != usm.NoAuthNoPriv {
				return fmt.Errorf("remoteusers: user %q has model %s but no engine ID (the receiver's engine ID, in hex, is needed to localize its keys: vicfg-snmp --hash --remote-target HOST[@PORT] finds it by engine discovery; only model none may leave it out)", f[0], level)
			}
		} else if _, err := usm.ParseEngineID(f[4]); err != nil {
			return fmt.Errorf("remoteusers: user %q engine ID: %w", f[0], err)
		}
		return nil
	})
}

// checkUserList is what CheckUsers and CheckRemoteUsers share: at most
// MaxUsers entries of syntax's parts, each with a valid name and model,
// no name twice, and what extra (if not nil) checks of each. Entries are
// shown through mask: they may hold keys.
func checkUserList(setting, syntax string, users []string, mask func(string) string, extra func(f []string, level usm.Level, levelOK bool) error) error {
	var errs []error
	if len(users) > MaxUsers {
		errs = append(errs, fmt.Errorf("%s: %d given, at most %d are allowed", setting, len(users), MaxUsers))
	}
	parts := strings.Count(syntax, "/") + 1
	seen := map[string]bool{}
	for _, raw := range users {
		f := strings.Split(raw, "/")
		if len(f) != parts {
			errs = append(errs, fmt.Errorf("%s: entry %q has %d parts separated by '/': want %s", setting, mask(raw), len(f), syntax))
			continue
		}
		if err := checkUserName(f[0]); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", setting, err))
			continue
		}
		level, err := usm.ParseLevel(f[3])
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: user %q model: %w", setting, f[0], err))
		}
		if extra != nil {
			if err := extra(f, level, err == nil); err != nil {
				errs = append(errs, err)
			}
		}
		if seen[f[0]] {
			errs = append(errs, fmt.Errorf("%s: user %q is listed twice", setting, f[0]))
		}
		seen[f[0]] = true
	}
	return errors.Join(errs...)
}

// ParseUser reads one users entry, name/authhash/privhash/model, checking
// its keys against the authentication and privacy protocols. Errors name
// the user but never a key.
func ParseUser(raw string, a usm.AuthProtocol, p usm.PrivProtocol) (usm.User, error) {
	const syntax = "want name/authhash/privhash/model, model none, auth or priv, a hash as vicfg-snmp --hash prints it or - for none"
	f := strings.Split(raw, "/")
	if len(f) != 4 {
		// The entry is not echoed: it may hold a key.
		return usm.User{}, fmt.Errorf("users: entry %q has %d parts separated by '/' (%s)", MaskUser(raw), len(f), syntax)
	}
	name := f[0]
	if err := checkUserName(name); err != nil {
		return usm.User{}, fmt.Errorf("users: %w", err)
	}
	level, err := usm.ParseLevel(f[3])
	if err != nil {
		return usm.User{}, fmt.Errorf("users: user %q model: %w", name, err)
	}
	u := usm.User{Name: name, Level: level, Auth: a, Priv: p}
	if level == usm.NoAuthNoPriv {
		if f[1] != "-" || f[2] != "-" {
			return u, fmt.Errorf("users: user %q has model none, so authhash and privhash must be - (%s)", name, syntax)
		}
		return u, nil
	}
	if a == usm.AuthNone {
		return u, fmt.Errorf("users: user %q has model %s, but authentication is none (set --authentication, or give the user model none)", name, level)
	}
	if u.AuthKey, err = usm.ParseKey(fmt.Sprintf("users: user %q authhash", name), a, f[1]); err != nil {
		return u, err
	}
	if level == usm.AuthNoPriv {
		if f[2] != "-" {
			return u, fmt.Errorf("users: user %q has model auth, so privhash must be - (%s)", name, syntax)
		}
		return u, nil
	}
	if p == usm.PrivNone {
		return u, fmt.Errorf("users: user %q has model priv, but privacy is none (set --privacy, or give the user model auth)", name)
	}
	if u.PrivKey, err = usm.ParseKey(fmt.Sprintf("users: user %q privhash", name), a, f[2]); err != nil {
		return u, err
	}
	return u, nil
}

// checkUserName allows 1 to 32 printable ASCII characters without the
// separators of the users and v3targets syntax (/ and ,) or blanks.
func checkUserName(name string) error {
	if name == "" || len(name) > usm.MaxUserNameLen {
		return fmt.Errorf("user name %q must be 1 to %d characters long", name, usm.MaxUserNameLen)
	}
	for _, r := range name {
		if r <= ' ' || r > '~' || r == ',' || r == '/' || r == '"' || r == '\'' || r == '\\' {
			return fmt.Errorf("user name %q: character %q is not allowed (printable ASCII without blanks, quotes, backslashes, ',' or '/')", name, r)
		}
	}
	return nil
}

// ParseV3Target reads one v3targets entry,
// host[@port]/user/secLevel/trap|inform, as esxcli writes it. A trap
// target's user is one of users, an inform target's one of remoteusers.
func ParseV3Target(s string) (Target, error) {
	const syntax = "want host[@port]/user/secLevel/trap|inform, secLevel none, auth or priv"
	f := strings.Split(strings.TrimSpace(s), "/")
	if len(f) != 4 {
		return Target{}, fmt.Errorf("v3 target %q: %d parts separated by '/' (%s)", s, len(f), syntax)
	}
	t, err := ParseTarget(f[0])
	if err != nil || t.Kind != TrapV2c || strings.Contains(f[0], "/") {
		if err == nil {
			err = errors.New("a kind prefix is not allowed: the last part says trap")
		}
		return Target{}, fmt.Errorf("v3 target %q: %w", s, err)
	}
	t.Kind = TrapV3
	if err := checkUserName(f[1]); err != nil {
		return Target{}, fmt.Errorf("v3 target %q: %w", s, err)
	}
	t.User = f[1]
	if t.Level, err = usm.ParseLevel(f[2]); err != nil {
		return Target{}, fmt.Errorf("v3 target %q: %w", s, err)
	}
	switch strings.ToLower(f[3]) {
	case "trap":
	case "inform":
		t.Kind = InformV3
	default:
		return Target{}, fmt.Errorf("v3 target %q: notification %q is not supported (%s)", s, f[3], syntax)
	}
	return t, nil
}

// CheckV3Targets checks a list of v3targets: at most MaxV3Targets, each
// valid, none twice. Whether each names a known user with a model that
// allows its level depends on the users: Parse checks that.
func CheckV3Targets(targets []string) error {
	var errs []error
	if len(targets) > MaxV3Targets {
		errs = append(errs, fmt.Errorf("v3targets: %d given, at most %d are allowed", len(targets), MaxV3Targets))
	}
	seen := map[string]bool{}
	for _, raw := range targets {
		t, err := ParseV3Target(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("v3targets: %w", err))
			continue
		}
		if seen[t.String()] {
			errs = append(errs, fmt.Errorf("v3targets: %q is listed twice", raw))
		}
		seen[t.String()] = true
	}
	return errors.Join(errs...)
}

// v3String is a v3 target's canonical form: host@port/user/level/trap or
// .../inform.
func (t Target) v3String(host string) string {
	kind := "/trap"
	if t.Kind == InformV3 {
		kind = "/inform"
	}
	return host + "@" + strconv.Itoa(int(t.Port)) + "/" + t.User + "/" + t.Level.String() + kind
}

// IsV3 tells SNMPv3 targets (v3targets entries) apart.
func (k Kind) IsV3() bool { return k == TrapV3 || k == InformV3 }

// IsInform tells the targets that get informs (acknowledged, retried and
// kept across a restart) apart.
func (k Kind) IsInform() bool { return k == InformV2c || k == InformV3 }

// CheckKeysKept refuses a change of the engine ID (the one in force:
// configured or generated) or of the authentication protocol that keeps
// users with keys: their keys were localized for the old engine and hash,
// and every receiver would refuse them. ESXi clears the users instead;
// clearing them without a word would lose configuration, so the users must
// be given again in the same change, with keys from vicfg-snmp --hash, or
// cleared. Remote users (localized to their receivers' engines) are held to
// it for a change of the authentication protocol. The privacy protocol is not part of it: a localized privacy key
// depends on the engine ID and the authentication hash only.
func CheckKeysKept(old, new Config, oldEngine, newEngine []byte) error {
	var changed []string
	if !slices.Equal(oldEngine, newEngine) {
		changed = append(changed, "engineid")
	}
	if !strings.EqualFold(old.Authentication, new.Authentication) {
		changed = append(changed, "authentication")
	}
	// Remote users' keys are localized to their receivers' engine IDs,
	// not ours, but made with the authentication hash.
	if !strings.EqualFold(old.Authentication, new.Authentication) {
		var kept []string
		for _, u := range new.RemoteUsers {
			f := strings.Split(u, "/")
			if len(f) == 5 && (f[1] != "-" || f[2] != "-") && slices.Contains(old.RemoteUsers, u) {
				kept = append(kept, f[0])
			}
		}
		if len(kept) > 0 {
			return fmt.Errorf("remoteusers: changing authentication invalidates the keys of remote user(s) %s, made with the previous hash: give --remoteusers again in the same change, with keys from vicfg-snmp --hash --remote-engineid for the new protocol (or clear them with --remoteusers '')",
				strings.Join(kept, ", "))
		}
	}
	if len(changed) == 0 {
		return nil
	}
	var kept []string
	for _, u := range new.Users {
		f := strings.Split(u, "/")
		if len(f) == 4 && (f[1] != "-" || f[2] != "-") && slices.Contains(old.Users, u) {
			kept = append(kept, f[0])
		}
	}
	if len(kept) == 0 {
		return nil
	}
	return fmt.Errorf("users: changing %s invalidates the keys of user(s) %s, made for the previous engine ID and protocols: give --users again in the same change, with keys from vicfg-snmp --hash for the new settings (or clear them with --users '')",
		strings.Join(changed, " and "), strings.Join(kept, ", "))
}

// CheckUsers checks a users list as far as it can be without the
// protocols (vicfg-snmp, when the command line does not set them): at most
// MaxUsers, each name/authhash/privhash/model with a valid name and model,
// no name twice. Parse checks the keys against the protocols.
func CheckUsers(users []string) error {
	return checkUserList("users", "name/authhash/privhash/model", users, MaskUser, nil)
}
