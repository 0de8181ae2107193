package peertest

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// USMUser is an SNMPv3 user of snmptrapd, made from passwords as an operator
// would (snmptrapd.conf's createUser), so that net-snmp's own
// password-to-key and localization check the keys the tested side was given:
//
//	createUser [-e 0xENGINEID] NAME [AUTH AUTHPASS [PRIV PRIVPASS]]
//	authUser log NAME noauth|auth|priv
//
// The level authUser requires is the one the protocols give.
type USMUser struct {
	Name string
	// EngineID is the engine the keys are localized to (-e): that of the
	// agent whose traps the user sends. Nil is snmptrapd's own engine, the
	// authoritative one of the informs it receives.
	EngineID []byte
	// Auth is the authentication protocol as hostagent's configuration
	// names it (SHA1, SHA224, SHA256, SHA384, SHA512), written as
	// net-snmp's name; "" or "none" for noAuthNoPriv.
	Auth     string
	AuthPass string
	// Priv is the privacy protocol (AES128, AES192, AES256), "" or "none"
	// for none; it needs Auth.
	Priv     string
	PrivPass string
}

// netsnmpAuth and netsnmpPriv are createUser's names for the protocols.
var (
	netsnmpAuth = map[string]string{"SHA1": "SHA", "SHA224": "SHA-224", "SHA256": "SHA-256", "SHA384": "SHA-384", "SHA512": "SHA-512"}
	netsnmpPriv = map[string]string{"AES128": "AES", "AES192": "AES192", "AES256": "AES256"}
)

const (
	authAllowed = "SHA1, SHA224, SHA256, SHA384, SHA512, none or empty"
	privAllowed = "AES128, AES192, AES256, none or empty"
	// minPassword is net-snmp's shortest createUser password (USM_LENGTH_P_MIN).
	minPassword = 8
)

func (u USMUser) hasAuth() bool { return u.Auth != "" && u.Auth != "none" }
func (u USMUser) hasPriv() bool { return u.Priv != "" && u.Priv != "none" }

// check refuses what createUser cannot say, rather than let snmptrapd skip
// the line with a warning and the test fail later for want of the user.
func (u USMUser) check() error {
	if !isWord(u.Name) {
		return fmt.Errorf("USM user name %q cannot be written to snmptrapd.conf: it must be one word of printable ASCII", u.Name)
	}
	if u.hasAuth() {
		if _, ok := netsnmpAuth[u.Auth]; !ok {
			return fmt.Errorf("USM user %s: authentication protocol %q: allowed are %s", u.Name, u.Auth, authAllowed)
		}
		if !isWord(u.AuthPass) || len(u.AuthPass) < minPassword {
			return fmt.Errorf("USM user %s: authentication password %q: it must be one word of printable ASCII, at least %d long", u.Name, u.AuthPass, minPassword)
		}
	}
	if u.hasPriv() {
		if _, ok := netsnmpPriv[u.Priv]; !ok {
			return fmt.Errorf("USM user %s: privacy protocol %q: allowed are %s", u.Name, u.Priv, privAllowed)
		}
		if !u.hasAuth() {
			return fmt.Errorf("USM user %s: privacy protocol %s without an authentication protocol: SNMPv3 has no privacy without authentication", u.Name, u.Priv)
		}
		if !isWord(u.PrivPass) || len(u.PrivPass) < minPassword {
			return fmt.Errorf("USM user %s: privacy password %q: it must be one word of printable ASCII, at least %d long", u.Name, u.PrivPass, minPassword)
		}
	}
	return nil
}

// config returns the user's snmptrapd.conf lines.
func (u USMUser) config() string {
	line := "createUser "
	if u.EngineID != nil {
		line += "-e 0x" + hex.EncodeToString(u.EngineID) + " "
	}
	line += u.Name
	level := "noauth"
	if u.hasAuth() {
		line += " " + netsnmpAuth[u.Auth] + " " + u.AuthPass
		level = "auth"
	}
	if u.hasPriv() {
		line += " " + netsnmpPriv[u.Priv] + " " + u.PrivPass
		level = "priv"
	}
	return line + "\nauthUser log " + u.Name + " " + level + "\n"
}

// textEngineIDPrefix starts the engine ID net-snmp makes of engineID TEXT
// (snmpd.conf(5)): net-snmp's enterprise (8072) with the format bit, then
// format 4, text (RFC 3411 SnmpEngineID).
var textEngineIDPrefix = []byte{0x80, 0x00, 0x1f, 0x88, 0x04}

// TextEngineID is the engine ID snmptrapd takes from snmptrapd.conf's
// "engineID text" (SnmptrapdOptions.EngineID).
func TextEngineID(text string) []byte {
	return append(append([]byte(nil), textEngineIDPrefix...), text...)
}

// isWord reports whether s is one word net-snmp's config parser reads back
// as it is: printable ASCII without blanks or quotes.
func isWord(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return !strings.ContainsAny(s, "\"'#")
}
