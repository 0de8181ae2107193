// Package snmpd runs net-snmp's snmpd as hostagent's private master agent
// for polling (GET, GETNEXT, GETBULK over SNMPv1, v2c and v3): Render
// writes its snmpd.conf from hostagent's own settings (communities
// read-only, SNMPv3 users with their localized keys, the engine ID in force,
// sysContact/sysLocation/sysDescr/sysObjectID, the AgentX master socket the
// subagent attaches to), and Supervisor starts it, restarts it when the
// settings change or when it dies (with backoff), and reports its state.
//
// Why these directives (verified against net-snmp 5.9.3's snmpd, see the
// tests):
//
//   - exactEngineID 0xHEX sets snmpd's engine ID to exactly hostagent's: the
//     users' keys are localized to it (RFC 3414 A.2), and the trap sender
//     announces the same engine, so a manager sees one SNMP engine.
//   - createUser NAME AUTH -l 0xKul [PRIV -l 0xKul] takes the localized keys
//     as vicfg-snmp --hash prints them (the full hash length for both keys:
//     net-snmp cuts the privacy key to the cipher's length, and extends a
//     short one for AES-192/256 as usm does).
//   - Access control is written as explicit VACM (com2sec, group, access,
//     one view of everything) rather than rocommunity/rouser: net-snmp names
//     the group of a rouser "grp" + the first 28 characters of the user name
//     with every non-alphanumeric character turned into '_', so users "a.b"
//     (model none) and "a_b" (model priv) would share one group, and "a_b"
//     would answer without authentication. Here each user has a group of its
//     own, named by its position.
//   - Every word taken from the settings (communities, user names) is
//     written in double quotes (net-snmp's config reader takes a quoted word
//     whole, so '#' or ',' inside it is data) and refused if it holds a
//     character a quoted word cannot carry: quotes, backslashes, blanks,
//     control characters, non-ASCII. A newline can never reach the file.
//   - The engine's boots are not in this file: Supervisor writes them to
//     snmpd's persistent file before each start (see boots.go).
//
// The standard MIBs come from snmpd's own modules and need no directive
// (system, IF-MIB ifTable/ifXTable, HOST-RESOURCES-MIB, UCD-SNMP-MIB memory
// and laTable), except UCD-SNMP-MIB's dskTable, which lists only the disks
// a directive names: includeAllDisks 10% lists every mounted file system.
// ESXi's largestorage option is net-snmp's realStorageUnits with the
// opposite sense (both texts describe the same recomputation of
// hrStorageAllocationUnits so that large file systems fit Integer32):
// largestorage true, ESXi's default, is realStorageUnits 0.
package snmpd

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"

	"hostagent/mibs"
	"hostagent/snmpagent/snmpconfig"
	"hostagent/snmpagent/usm"
)

// Settings is everything snmpd's configuration is made of. The daemon
// builds it with FromConfig from snmpconfig.Config and the engine ID in
// force, then sets Listen, AgentXSocket and SysDescr.
type Settings struct {
	// Listen are the UDP addresses snmpd answers on. An unspecified address
	// (0.0.0.0, ::) is every address of that family, as ESXi's agent
	// listens; at least one is required.
	Listen []netip.AddrPort
	// AgentXSocket is the absolute path of the AgentX master socket the
	// subagent connects to (its folder is made 0700, the socket 0600).
	AgentXSocket string
	// EngineID is hostagent's SNMP engine ID (configured or generated): the
	// one the users' keys are localized to.
	EngineID []byte
	// Communities are read-only for any source, as on ESXi.
	Communities []string
	// Users are the SNMPv3 users, keys localized to EngineID; each may read
	// everything at its model (Level) or above.
	Users []usm.User
	// SysContact, SysLocation and SysDescr are served as the SNMPv2-MIB
	// objects, byte for byte (written as hex octets); an empty sysContact
	// or sysLocation is served empty, an empty SysDescr is the kernel's
	// uname.
	SysContact, SysLocation, SysDescr string
	// SysObjectID is the sysObjectID.0 served; nil is
	// snmpconfig.DefaultSysObjectID (VMWARE-PRODUCTS-MIB::vmwESX).
	SysObjectID mibs.OID
	// RealStorageUnits is net-snmp's realStorageUnits, the inverse of
	// ESXi's largestorage: false (largestorage true, ESXi's default)
	// rescales hrStorageAllocationUnits so that hrStorageSize and
	// hrStorageUsed of a large file system fit Integer32; true reports the
	// file system's real block size, and a wrong size for large ones.
	RealStorageUnits bool
}

// FromConfig takes the settings of the configuration that snmpd serves:
// communities, users (their keys checked against the protocols),
// syscontact, syslocation, sysobjectid; engineID is the engine ID in force
// (the configured one or the daemon's generated one). Listen, AgentXSocket
// and SysDescr are the caller's to set.
func FromConfig(c snmpconfig.Config, engineID []byte) (Settings, error) {
	s := Settings{
		EngineID:    append([]byte(nil), engineID...),
		Communities: append([]string(nil), c.Communities...),
		SysContact:  c.Syscontact,
		SysLocation: c.Syslocation,
	}
	var errs []error
	if c.SysObjectID != "" {
		oid, err := mibs.ParseOID(c.SysObjectID)
		if err != nil {
			errs = append(errs, fmt.Errorf("sysobjectid: %w", err))
		}
		s.SysObjectID = oid
	}
	a, errA := usm.ParseAuthProtocol(c.Authentication)
	p, errP := usm.ParsePrivProtocol(c.Privacy)
	if err := errors.Join(errA, errP); err != nil {
		if len(c.Users) > 0 {
			errs = append(errs, fmt.Errorf("users: %w", err))
		}
	} else {
		for _, raw := range c.Users {
			u, err := snmpconfig.ParseUser(raw, a, p)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			s.Users = append(s.Users, u)
		}
	}
	return s, errors.Join(errs...)
}

// Limits of what snmpd's configuration can carry.
const (
	// maxText is net-snmp's SYS_STRING_LEN less its terminating NUL: a
	// longer sysContact, sysLocation or sysDescr is refused by snmpd.
	maxText = 255
	// maxWord bounds a community or user name: net-snmp's
	// COMMUNITY_MAX_LEN is 256, and ESXi allows 64.
	maxWord = 255
	// maxSocketPath is sun_path's size on Linux less the NUL.
	maxSocketPath = 107
	// maxBoots is snmpEngineBoots' maximum (RFC 3414 2.2.2), which latches.
	maxBoots = 2147483647
)

// Render writes the snmpd.conf for s: a complete configuration for a
// private snmpd run with -C (no other configuration file is read). It
// refuses, naming the setting, any value that the file could not carry
// exactly as given.
func Render(s Settings) (string, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	listen, hasV6, err := agentAddress(s.Listen)
	if err != nil {
		errs = append(errs, err)
	}
	if err := checkSocketPath(s.AgentXSocket); err != nil {
		errs = append(errs, err)
	}
	if err := usm.ValidateEngineID(s.EngineID); err != nil {
		bad("engine ID: %w", err)
	}
	for _, c := range s.Communities {
		if err := checkWord(c); err != nil {
			bad("community %q: %w", c, err)
		}
	}
	seen := map[string]bool{}
	for _, u := range s.Users {
		if err := checkWord(u.Name); err != nil {
			bad("user %q: %w", u.Name, err)
			continue
		}
		if len(u.Name) > usm.MaxUserNameLen {
			bad("user %q: longer than %d characters", u.Name, usm.MaxUserNameLen)
		}
		if seen[u.Name] {
			bad("user %q is listed twice", u.Name)
		}
		seen[u.Name] = true
		if _, err := createUser(u, s.EngineID); err != nil {
			errs = append(errs, err)
		}
	}
	contact, err := text("syscontact", s.SysContact)
	errs = append(errs, err)
	location, err := text("syslocation", s.SysLocation)
	errs = append(errs, err)
	descr, err := text("sysdescr", s.SysDescr)
	errs = append(errs, err)
	oid := s.SysObjectID
	if len(oid) == 0 {
		oid = mibs.MustOID(snmpconfig.DefaultSysObjectID)
	}
	if len(oid) < 2 || len(oid) > 128 {
		bad("sysobjectid %s: an OID of 2 to 128 arcs is required", oid)
	}
	if err := errors.Join(errs...); err != nil {
		return "", fmt.Errorf("snmpd configuration: %w", err)
	}

	var b strings.Builder
	line := func(format string, args ...any) {
		fmt.Fprintf(&b, format, args...)
		b.WriteByte('\n')
	}
	line("# snmpd.conf of hostagent's private snmpd, written by hostagent from its SNMP")
	line("# settings at each change: edits here are lost. Change the settings with")
	line("# vicfg-snmp instead.")
	line("")
	line("agentAddress %s", listen)
	line("exactEngineID 0x%s", hex.EncodeToString(s.EngineID))
	line("master agentx")
	line("agentXSocket unix:%s", s.AgentXSocket)
	line("agentXPerms 0600 0700")
	line("# One line per request would fill the log: errors only.")
	line("dontLogTCPWrappersConnects yes")
	line("")
	line("# Read-only access to everything; nothing is writable.")
	line("view hostagentAll included .1")
	line("# Except HOST-RESOURCES-MIB's hrSWRunParameters: every process's arguments")
	line("# (passwords given on a command line), to every community in clear text.")
	line("view hostagentAll excluded .1.3.6.1.2.1.25.4.2.1.5")
	if len(s.Communities) > 0 {
		for i, c := range s.Communities {
			line("com2sec hostagentCommunity%d default %s", i+1, quote(c))
			if hasV6 {
				line("com2sec6 hostagentCommunity%d default %s", i+1, quote(c))
			}
			line("group hostagentCommunities v1 hostagentCommunity%d", i+1)
			line("group hostagentCommunities v2c hostagentCommunity%d", i+1)
		}
		line(`access hostagentCommunities "" any noauth exact hostagentAll none none`)
	}
	for i, u := range s.Users {
		cu, _ := createUser(u, s.EngineID) // checked above
		line("%s", cu)
		line("group hostagentUser%d usm %s", i+1, quote(u.Name))
		line(`access hostagentUser%d "" usm %s exact hostagentAll none none`, i+1, vacmLevel(u.Level))
	}
	line("")
	line("# SNMPv2-MIB system group. sysContact, sysLocation and sysDescr as")
	line("# exact octets: \"sysContact\" would read a leading '#' as a comment and")
	line("# an empty value as two quote characters.")
	line("override .1.3.6.1.2.1.1.4.0 octet_str %s", octets(contact))
	line("override .1.3.6.1.2.1.1.6.0 octet_str %s", octets(location))
	if descr != "" {
		line("override .1.3.6.1.2.1.1.1.0 octet_str %s", octets(descr))
	}
	line("sysObjectID .%s", oid)
	line("sysServices 72")
	line("")
	line("# UCD-SNMP-MIB dskTable: every mounted file system.")
	line("includeAllDisks 10%%")
	line("# HOST-RESOURCES-MIB hrStorageTable: ESXi's largestorage %t.", !s.RealStorageUnits)
	if s.RealStorageUnits {
		line("realStorageUnits 1")
	} else {
		line("realStorageUnits 0")
	}
	return b.String(), nil
}

// agentAddress is agentAddress's value for the listen addresses, and
// whether one of them is IPv6 (the communities then need com2sec6).
func agentAddress(listen []netip.AddrPort) (string, bool, error) {
	if len(listen) == 0 {
		return "", false, errors.New("listen: no address to listen on")
	}
	var parts []string
	v6 := false
	for _, ap := range listen {
		a := ap.Addr()
		if !ap.IsValid() || ap.Port() == 0 || a.Zone() != "" {
			return "", false, fmt.Errorf("listen: %s: want an IP address without zone and a port from 1 to 65535", ap)
		}
		port := strconv.Itoa(int(ap.Port()))
		switch {
		case a.Is4() || a.Is4In6():
			if a.Unmap().IsUnspecified() {
				parts = append(parts, "udp:"+port)
			} else {
				parts = append(parts, "udp:"+a.Unmap().String()+":"+port)
			}
		default:
			v6 = true
			if a.IsUnspecified() {
				parts = append(parts, "udp6:"+port)
			} else {
				parts = append(parts, "udp6:["+a.String()+"]:"+port)
			}
		}
	}
	return strings.Join(parts, ","), v6, nil
}

// checkSocketPath allows an absolute path of plain characters: the
// directive's value is a transport address, which net-snmp splits at blanks
// and reads ',' in as a list.
func checkSocketPath(p string) error {
	switch {
	case p == "":
		return errors.New("agentx socket: no path")
	case !filepath.IsAbs(p) || filepath.Clean(p) != p:
		return fmt.Errorf("agentx socket %q: an absolute, clean path is required", p)
	case len(p) > maxSocketPath:
		return fmt.Errorf("agentx socket %q: %d bytes, more than a unix socket path can hold (%d)", p, len(p), maxSocketPath)
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+@", r)) {
			return fmt.Errorf("agentx socket %q: character %q is not allowed (letters, digits and / . _ - + @)", p, r)
		}
	}
	return nil
}

// checkWord allows what a double-quoted net-snmp config word carries as it
// is: 1 to maxWord printable ASCII characters without blanks, quotes or
// backslashes (the reader's escape character).
func checkWord(w string) error {
	if w == "" || len(w) > maxWord {
		return fmt.Errorf("must be 1 to %d characters long", maxWord)
	}
	for _, c := range []byte(w) {
		if c <= ' ' || c >= 0x7f || c == '"' || c == '\'' || c == '\\' {
			return fmt.Errorf("character %q is not allowed (printable ASCII without blanks, quotes or backslashes)", rune(c))
		}
	}
	return nil
}

// quote writes a word checked by checkWord in double quotes.
func quote(w string) string { return `"` + w + `"` }

// text checks a system group value (sysContact, sysLocation, sysDescr):
// at most maxText bytes. The value is written as hex octets (octets), so that no byte of it can
// reach snmpd's configuration reader as syntax; only its length is bound.
// snmpconfig.CheckText has refused what a DisplayString may not hold.
func text(setting, v string) (string, error) {
	if len(v) > maxText {
		return "", fmt.Errorf("%s: %d bytes, more than snmpd serves (%d)", setting, len(v), maxText)
	}
	return v, nil
}

// octets is an override's octet_str value: hex, or "" for an empty one.
func octets(v string) string {
	if v == "" {
		return `""`
	}
	return "0x" + hex.EncodeToString([]byte(v))
}

// netsnmpAuth and netsnmpPriv are createUser's names of the protocols.
var (
	netsnmpAuth = map[usm.AuthProtocol]string{
		usm.AuthSHA1: "SHA", usm.AuthSHA224: "SHA-224", usm.AuthSHA256: "SHA-256",
		usm.AuthSHA384: "SHA-384", usm.AuthSHA512: "SHA-512",
	}
	netsnmpPriv = map[usm.PrivProtocol]string{
		usm.PrivAES128: "AES", usm.PrivAES192: "AES192", usm.PrivAES256: "AES256",
	}
)

// createUser is u's createUser line, its keys given localized (-l). Errors
// name the user, never a key.
//
// The engine ID is given (-e) although it is snmpd's own: without it, a
// user named "-e" or "-l" would be read as the option (net-snmp strips
// the quotes first) and silently not created.
func createUser(u usm.User, engineID []byte) (string, error) {
	line := "createUser -e 0x" + hex.EncodeToString(engineID) + " " + quote(u.Name)
	if u.Level == usm.NoAuthNoPriv {
		return line, nil
	}
	auth, ok := netsnmpAuth[u.Auth]
	if !ok {
		return "", fmt.Errorf("user %q: model %s needs an authentication protocol, not %s", u.Name, u.Level, u.Auth)
	}
	if len(u.AuthKey) != u.Auth.KeyLen() {
		return "", fmt.Errorf("user %q: authentication key of %d octets, but a %s key has %d", u.Name, len(u.AuthKey), u.Auth, u.Auth.KeyLen())
	}
	line += " " + auth + " -l 0x" + hex.EncodeToString(u.AuthKey)
	if u.Level == usm.AuthNoPriv {
		return line, nil
	}
	priv, ok := netsnmpPriv[u.Priv]
	if !ok || u.Level != usm.AuthPriv {
		return "", fmt.Errorf("user %q: model %s needs a privacy protocol, not %s", u.Name, u.Level, u.Priv)
	}
	// The localized privacy key has the hash's length (as vicfg-snmp
	// --hash prints it); net-snmp derives the cipher key from it.
	if len(u.PrivKey) != u.Auth.KeyLen() {
		return "", fmt.Errorf("user %q: privacy key of %d octets, but a localized %s key has %d", u.Name, len(u.PrivKey), u.Auth, u.Auth.KeyLen())
	}
	return line + " " + priv + " -l 0x" + hex.EncodeToString(u.PrivKey), nil
}

// vacmLevel is access's security level for a user's model.
func vacmLevel(l usm.Level) string {
	switch l {
	case usm.AuthNoPriv:
		return "auth"
	case usm.AuthPriv:
		return "priv"
	}
	return "noauth"
}
