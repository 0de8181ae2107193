package usm

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// MinPasswordLen is the shortest password PasswordToKey accepts: RFC 3414
// §11.2 asks for at least 8 characters, and net-snmp (a receiver's usual
// tool) refuses shorter ones, so a user made from a shorter one could not be
// created on the receiver with the same password.
const MinPasswordLen = 8

// expansion is the length the password is repeated to before hashing
// (RFC 3414 A.2.1, 1 MiB): it makes each guess in a dictionary attack cost
// a megabyte of hashing.
const expansion = 1 << 20

// PasswordToKey derives the user's master key Ku from a password (RFC 3414
// A.2; RFC 7860 §9.2.2 uses the same algorithm with the SHA-2 hashes).
func PasswordToKey(a AuthProtocol, password []byte) ([]byte, error) {
	if a == AuthNone || !a.valid() {
		return nil, fmt.Errorf("password to key: authentication %s has no key (allowed: %s)", a, authAllowed[len("none, "):])
	}
	if len(password) < MinPasswordLen {
		return nil, fmt.Errorf("password to key: password of %d characters is too short (at least %d, as RFC 3414 and net-snmp require)", len(password), MinPasswordLen)
	}
	h := a.newHash()()
	// Write whole 64-octet blocks of the repeated password.
	var block [64]byte
	pos := 0
	for n := 0; n < expansion; n += len(block) {
		for i := range block {
			block[i] = password[pos]
			if pos++; pos == len(password) {
				pos = 0
			}
		}
		h.Write(block[:])
	}
	return h.Sum(nil), nil
}

// LocalizeKey derives the localized key Kul = H(Ku || engineID || Ku)
// (RFC 3414 A.2) for the authoritative engine engineID. The result is what
// the agent stores and what esxcli prints as Authhash/Privhash.
func LocalizeKey(a AuthProtocol, ku, engineID []byte) ([]byte, error) {
	if a == AuthNone || !a.valid() {
		return nil, fmt.Errorf("localize key: authentication %s has no key", a)
	}
	if len(ku) != a.KeyLen() {
		return nil, fmt.Errorf("localize key: a %s master key has %d octets, not %d", a, a.KeyLen(), len(ku))
	}
	if err := ValidateEngineID(engineID); err != nil {
		return nil, fmt.Errorf("localize key: %w", err)
	}
	h := a.newHash()()
	h.Write(ku)
	h.Write(engineID)
	h.Write(ku)
	return h.Sum(nil), nil
}

// LocalizedKeys returns the localized authentication and privacy keys
// (Authhash, Privhash) of a user with the given passwords for engineID, as
// esxcli system snmp hash computes them. privPassword may be nil when the
// user has no privacy; then privKey is nil.
func LocalizedKeys(a AuthProtocol, authPassword, privPassword, engineID []byte) (authKey, privKey []byte, err error) {
	ku, err := PasswordToKey(a, authPassword)
	if err != nil {
		return nil, nil, fmt.Errorf("authentication password: %w", err)
	}
	if authKey, err = LocalizeKey(a, ku, engineID); err != nil {
		return nil, nil, err
	}
	if privPassword == nil {
		return authKey, nil, nil
	}
	if ku, err = PasswordToKey(a, privPassword); err != nil {
		return nil, nil, fmt.Errorf("privacy password: %w", err)
	}
	if privKey, err = LocalizeKey(a, ku, engineID); err != nil {
		return nil, nil, err
	}
	return authKey, privKey, nil
}

// cipherKey returns the AES key for p from a localized privacy key: its first
// p.KeyLen() octets, extended first when the hash is shorter than the key
// (SHA1 with AES192/256, SHA224 with AES256) by the Blumenthal draft's
// §3.1.2.1, as net-snmp 5.9 does for AES192/AES256: Kul = Kul || H(Kul),
// repeated, each hash over everything so far.
func cipherKey(a AuthProtocol, p PrivProtocol, kul []byte) []byte {
	need := p.KeyLen()
	key := append(make([]byte, 0, need+a.KeyLen()), kul...)
	for len(key) < need {
		h := a.newHash()()
		h.Write(key)
		key = h.Sum(key)
	}
	return key[:need]
}

// FormatHashes prints localized keys as `esxcli system snmp hash` does:
//
//	Authhash: 08248c6eb8b333e75a29ca0af06b224faa7d22d6
//	Privhash: 232ba5cbe8c55b8f979455d3c9ca8b48812adb97
//
// (lower-case hex, one line each, the Privhash line only when privKey is not
// nil).
func FormatHashes(authKey, privKey []byte) string {
	var b strings.Builder
	b.WriteString("Authhash: ")
	b.WriteString(hex.EncodeToString(authKey))
	b.WriteByte('\n')
	if privKey != nil {
		b.WriteString("Privhash: ")
		b.WriteString(hex.EncodeToString(privKey))
		b.WriteByte('\n')
	}
	return b.String()
}

// ParseKey reads a localized key as --users carries it (hex, as FormatHashes
// prints it, an optional 0x prefix) and checks its length against a; what
// names the setting for messages (e.g. `user "ops" authhash`). The value
// itself is a secret and never appears in an error.
func ParseKey(what string, a AuthProtocol, s string) ([]byte, error) {
	if a == AuthNone || !a.valid() {
		return nil, fmt.Errorf("%s: no key is used without authentication", what)
	}
	v := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	key, err := hex.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("%s: not a hex string (want %d hex digits, as vicfg-snmp --hash prints it)", what, 2*a.KeyLen())
	}
	if len(key) != a.KeyLen() {
		return nil, fmt.Errorf("%s: %d octets, but a %s key has %d (%d hex digits, as vicfg-snmp --hash prints it)", what, len(key), a, a.KeyLen(), 2*a.KeyLen())
	}
	return key, nil
}
