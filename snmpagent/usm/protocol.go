package usm

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"strings"
)

// AuthProtocol is a USM authentication protocol.
type AuthProtocol uint8

// The authentication protocols, as esxcli names them (--authentication).
const (
	AuthNone   AuthProtocol = iota // no authentication
	AuthSHA1                       // usmHMACSHAAuthProtocol, HMAC-SHA-96 (RFC 3414)
	AuthSHA224                     // usmHMAC128SHA224AuthProtocol (RFC 7860)
	AuthSHA256                     // usmHMAC192SHA256AuthProtocol (RFC 7860)
	AuthSHA384                     // usmHMAC256SHA384AuthProtocol (RFC 7860)
	AuthSHA512                     // usmHMAC384SHA512AuthProtocol (RFC 7860)
)

var authNames = [...]string{"none", "SHA1", "SHA224", "SHA256", "SHA384", "SHA512"}

const authAllowed = "none, SHA1, SHA224, SHA256, SHA384, SHA512"

// ParseAuthProtocol reads an --authentication value (case-insensitive; the
// net-snmp spellings SHA and SHA-256 are accepted too). MD5 is refused with
// the reason.
func ParseAuthProtocol(s string) (AuthProtocol, error) {
	v := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), "-", ""))
	switch v {
	case "NONE":
		return AuthNone, nil
	case "SHA1", "SHA":
		return AuthSHA1, nil
	case "SHA224":
		return AuthSHA224, nil
	case "SHA256":
		return AuthSHA256, nil
	case "SHA384":
		return AuthSHA384, nil
	case "SHA512":
		return AuthSHA512, nil
	case "MD5", "HMACMD5":
		return 0, fmt.Errorf("authentication %q is refused: MD5 is a broken hash (practical collisions) and ESXi 7 and later no longer offer it; use SHA256 or another of: %s", s, authAllowed)
	}
	return 0, fmt.Errorf("authentication %q is not supported (allowed: %s)", s, authAllowed)
}

// String returns the esxcli name ("none", "SHA1", "SHA256", ...).
func (a AuthProtocol) String() string {
	if int(a) < len(authNames) {
		return authNames[a]
	}
	return fmt.Sprintf("AuthProtocol(%d)", a)
}

func (a AuthProtocol) valid() bool { return a <= AuthSHA512 }

// KeyLen is the length of the protocol's keys (Ku, Kul): its hash's output
// length; 0 for AuthNone.
func (a AuthProtocol) KeyLen() int {
	switch a {
	case AuthSHA1:
		return sha1.Size
	case AuthSHA224:
		return sha256.Size224
	case AuthSHA256:
		return sha256.Size
	case AuthSHA384:
		return sha512.Size384
	case AuthSHA512:
		return sha512.Size
	}
	return 0
}

// MACLen is the length of msgAuthenticationParameters: the HMAC truncated to
// 12 octets for SHA1 (RFC 3414 HMAC-SHA-96), 16/24/32/48 for SHA-224/256/384/512
// (RFC 7860 §4.2.1); 0 for AuthNone.
func (a AuthProtocol) MACLen() int {
	switch a {
	case AuthSHA1:
		return 12
	case AuthSHA224:
		return 16
	case AuthSHA256:
		return 24
	case AuthSHA384:
		return 32
	case AuthSHA512:
		return 48
	}
	return 0
}

// newHash returns the protocol's hash constructor; nil for AuthNone.
func (a AuthProtocol) newHash() func() hash.Hash {
	switch a {
	case AuthSHA1:
		return sha1.New
	case AuthSHA224:
		return sha256.New224
	case AuthSHA256:
		return sha256.New
	case AuthSHA384:
		return sha512.New384
	case AuthSHA512:
		return sha512.New
	}
	return nil
}

// PrivProtocol is a USM privacy protocol.
type PrivProtocol uint8

// The privacy protocols, as esxcli names them (--privacy).
const (
	PrivNone   PrivProtocol = iota // no privacy
	PrivAES128                     // usmAesCfb128Protocol (RFC 3826)
	PrivAES192                     // AES-192-CFB, key extended as net-snmp's AES192 (Blumenthal draft)
	PrivAES256                     // AES-256-CFB, key extended as net-snmp's AES256 (Blumenthal draft)
)

var privNames = [...]string{"none", "AES128", "AES192", "AES256"}

const privAllowed = "none, AES128, AES192, AES256"

// ParsePrivProtocol reads a --privacy value (case-insensitive; AES means
// AES128, as in net-snmp). DES and 3DES are refused with the reason.
func ParsePrivProtocol(s string) (PrivProtocol, error) {
	v := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), "-", ""))
	switch v {
	case "NONE":
		return PrivNone, nil
	case "AES128", "AES":
		return PrivAES128, nil
	case "AES192":
		return PrivAES192, nil
	case "AES256":
		return PrivAES256, nil
	case "DES", "3DES", "DES3", "CBCDES":
		return 0, fmt.Errorf("privacy %q is refused: DES has a 56-bit key that is broken by brute force, RFC 3826 replaced it with AES, and ESXi 7 and later no longer offer it; use AES128 or another of: %s", s, privAllowed)
	}
	return 0, fmt.Errorf("privacy %q is not supported (allowed: %s)", s, privAllowed)
}

// String returns the esxcli name ("none", "AES128", ...).
func (p PrivProtocol) String() string {
	if int(p) < len(privNames) {
		return privNames[p]
	}
	return fmt.Sprintf("PrivProtocol(%d)", p)
}

func (p PrivProtocol) valid() bool { return p <= PrivAES256 }

// KeyLen is the AES key length in octets; 0 for PrivNone.
func (p PrivProtocol) KeyLen() int {
	switch p {
	case PrivAES128:
		return 16
	case PrivAES192:
		return 24
	case PrivAES256:
		return 32
	}
	return 0
}

// Level is a USM security level.
type Level uint8

// The security levels, as RFC 3411 names them.
const (
	NoAuthNoPriv Level = iota
	AuthNoPriv
	AuthPriv
)

// ParseLevel reads a security level as esxcli writes it in --users and
// --v3targets (none, auth, priv), or as RFC 3411 and net-snmp name it
// (noAuthNoPriv, authNoPriv, authPriv), case-insensitive.
func ParseLevel(s string) (Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "none", "noauthnopriv", "noauth":
		return NoAuthNoPriv, nil
	case "auth", "authnopriv":
		return AuthNoPriv, nil
	case "priv", "authpriv":
		return AuthPriv, nil
	}
	return 0, fmt.Errorf("security level %q is not supported (allowed: none, auth, priv)", s)
}

// String returns the esxcli name: none, auth or priv.
func (l Level) String() string {
	switch l {
	case NoAuthNoPriv:
		return "none"
	case AuthNoPriv:
		return "auth"
	case AuthPriv:
		return "priv"
	}
	return fmt.Sprintf("Level(%d)", l)
}

// flags returns msgFlags' authFlag and privFlag bits for the level.
func (l Level) flags() byte {
	switch l {
	case AuthNoPriv:
		return flagAuth
	case AuthPriv:
		return flagAuth | flagPriv
	}
	return 0
}
