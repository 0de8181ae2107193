// Package usm is the SNMPv3 User-based Security Model (RFC 3414) as the
// agent needs it to send notifications: HMAC-SHA authentication (RFC 3414
// HMAC-SHA-96, RFC 7860 HMAC-SHA-2), AES-CFB privacy (RFC 3826, and AES-192/256
// with the key extension net-snmp uses, below), password-to-key and key
// localization, SNMP engine IDs (RFC 3411), engine discovery (RFC 3414 §4),
// and the engineBoots/engineTime bookkeeping.
//
// Design: the agent encodes a notification once; SNMPv3 adds only a per-target
// wrapping. A ScopedPDU is built once per notification (context engine ID,
// context name and the agent's PDU, whose request-id is a placeholder); each
// target owns a Wrapper holding its user's localized keys, the HMAC state and
// the AES block cipher, and Wrap writes the whole SNMPv3 message in one pass
// into a caller-owned buffer: header, security parameters, the scoped PDU
// (patched with the target's PDU type and request-id, then encrypted in place
// for authPriv) and finally the HMAC over the whole message. Nothing is
// re-encoded per target and Wrap does not allocate once dst has grown.
//
// Only localized keys (Kul) are kept: a Wrapper never sees a password. The
// privacy key stored and printed (Authhash/Privhash, as esxcli prints them)
// is the localized key at the authentication hash's full length; AES-192 and
// AES-256 keys longer than that are derived from it when a Wrapper is made,
// by the "Blumenthal" extension (draft-blumenthal-aes-usm-04 §3.1.2.1,
// Kul = Kul || H(Kul)), which is what net-snmp 5.9 applies for createUser
// ... AES192/AES256 (its AES192C/AES256C "Cisco" variants use the Reeder
// extension instead, which this package does not offer).
//
// Built on the standard library's crypto/hmac, crypto/sha1, crypto/sha256,
// crypto/sha512 and crypto/aes rather than on gosnmp's USM code: gosnmp
// marshals and secures a whole packet per send, which the encode-once design
// exists to avoid, and its key code starts from passwords, which the agent
// never stores. gosnmp's extendKeyBlumenthal/extendKeyReeder were read for
// the algorithms only. CFB-128 is done by hand over
// cipher.Block (a few lines) because the standard library's CFB constructors
// are deprecated in favour of AEAD modes, which SNMP cannot use. The tests
// check the result against RFC 3414's vectors, gosnmp's decoder and net-snmp's
// snmptrapd.
//
// MD5 and DES are refused: both are broken (MD5 collisions, DES's 56-bit key),
// RFC 7860 and RFC 3826 replace them, and ESXi 7 and later dropped them too.
package usm
