package usm

import (
	"bytes"
	"crypto/hmac"
	"errors"
	"fmt"
)

// Report is the counter a Report PDU carries in its first varbind (RFC 3412
// 7.1 step 3, RFC 3414 3.2): why the receiver refused a message.
type Report uint8

// The reports an SNMPv3 notification originator can get back.
const (
	ReportNone                  Report = iota // not a Report
	ReportUnsupportedSecLevels                // usmStatsUnsupportedSecLevels: the user has no such level
	ReportNotInTimeWindows                    // usmStatsNotInTimeWindows: engine boots/time out of the window
	ReportUnknownUserNames                    // usmStatsUnknownUserNames
	ReportUnknownEngineIDs                    // usmStatsUnknownEngineIDs: also the answer to discovery
	ReportWrongDigests                        // usmStatsWrongDigests: wrong authentication key
	ReportDecryptionErrors                    // usmStatsDecryptionErrors: wrong privacy key
	ReportUnknownSecurityModels               // snmpUnknownSecurityModels
	ReportInvalidMsgs                         // snmpInvalidMsgs
	ReportUnknownPDUHandlers                  // snmpUnknownPDUHandlers
	ReportUnavailableContexts                 // snmpUnavailableContexts
	ReportUnknownContexts                     // snmpUnknownContexts
	ReportOther                               // another OID (see Incoming.ReportOID)
)

var reportOIDs = map[string]Report{
	"1.3.6.1.6.3.15.1.1.1.0": ReportUnsupportedSecLevels,
	"1.3.6.1.6.3.15.1.1.2.0": ReportNotInTimeWindows,
	"1.3.6.1.6.3.15.1.1.3.0": ReportUnknownUserNames,
	"1.3.6.1.6.3.15.1.1.4.0": ReportUnknownEngineIDs,
	"1.3.6.1.6.3.15.1.1.5.0": ReportWrongDigests,
	"1.3.6.1.6.3.15.1.1.6.0": ReportDecryptionErrors,
	"1.3.6.1.6.3.11.2.1.1.0": ReportUnknownSecurityModels,
	"1.3.6.1.6.3.11.2.1.2.0": ReportInvalidMsgs,
	"1.3.6.1.6.3.11.2.1.3.0": ReportUnknownPDUHandlers,
	"1.3.6.1.6.3.12.1.4.0":   ReportUnavailableContexts,
	"1.3.6.1.6.3.12.1.5.0":   ReportUnknownContexts,
}

var reportNames = [...]string{"", "usmStatsUnsupportedSecLevels", "usmStatsNotInTimeWindows", "usmStatsUnknownUserNames",
	"usmStatsUnknownEngineIDs", "usmStatsWrongDigests", "usmStatsDecryptionErrors", "snmpUnknownSecurityModels",
	"snmpInvalidMsgs", "snmpUnknownPDUHandlers", "snmpUnavailableContexts", "snmpUnknownContexts", "other report"}

// String returns the counter's MIB name, e.g. "usmStatsWrongDigests".
func (r Report) String() string {
	if int(r) < len(reportNames) {
		return reportNames[r]
	}
	return fmt.Sprintf("Report(%d)", r)
}

// Incoming is a decoded SNMPv3 message: a Response to an inform or a Report.
type Incoming struct {
	MsgID      int32
	Level      Level // from msgFlags
	Reportable bool
	// msgAuthoritativeEngineID, Boots and Time: for a Report or Response to
	// an inform, the receiver's engine. Trust Boots and Time only when
	// Authenticated (RFC 3414 3.2 step 7).
	EngineID                []byte
	EngineBoots, EngineTime uint32
	UserName                string
	// Authenticated is true when the message's HMAC was checked with the
	// Wrapper's key (Open only; unauthenticated Reports are passed on with
	// false, since a receiver that refused our key cannot sign its answer).
	Authenticated   bool
	ContextEngineID []byte
	ContextName     string
	PDUType         PDUType
	RequestID       int32
	ErrorStatus     int
	ErrorIndex      int
	Report          Report // for Reports: which counter
	ReportOID       string // for Reports: the first varbind's OID, dotted
	ReportCount     uint64 // for Reports: the counter's value
}

// raw is a parsed message before authentication and decryption.
type raw struct {
	msg       []byte
	in        Incoming
	mac       []byte
	macAt     int
	priv      []byte
	data      []byte // scopedPDU, or the encrypted octets
	encrypted bool
}

func parseRaw(msg []byte) (*raw, error) {
	r := &reader{b: msg}
	body, at, err := r.expect(tagSequence, "message")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotSNMPv3, err)
	}
	m := sub(body, at)
	v, err := m.integer("msgVersion")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotSNMPv3, err)
	}
	if v != version3 {
		return nil, fmt.Errorf("%w: msgVersion %d", ErrNotSNMPv3, v)
	}
	gd, gat, err := m.expect(tagSequence, "msgGlobalData")
	if err != nil {
		return nil, err
	}
	g := sub(gd, gat)
	id, err := g.integer("msgID")
	if err != nil {
		return nil, err
	}
	if id < 0 || id > maxInt32 {
		return nil, fmt.Errorf("msgID %d out of range", id)
	}
	if _, err := g.integer("msgMaxSize"); err != nil {
		return nil, err
	}
	fl, _, err := g.expect(tagOctetString, "msgFlags")
	if err != nil {
		return nil, err
	}
	if len(fl) != 1 {
		return nil, fmt.Errorf("msgFlags of %d octets", len(fl))
	}
	model, err := g.integer("msgSecurityModel")
	if err != nil {
		return nil, err
	}
	if model != securityModelUSM {
		return nil, fmt.Errorf("%w: security model %d", ErrNotSNMPv3, model)
	}
	out := &raw{msg: msg}
	out.in.MsgID = int32(id)
	switch fl[0] & (flagAuth | flagPriv) {
	case 0:
		out.in.Level = NoAuthNoPriv
	case flagAuth:
		out.in.Level = AuthNoPriv
	case flagAuth | flagPriv:
		out.in.Level = AuthPriv
	default:
		return nil, errors.New("msgFlags: privacy without authentication")
	}
	out.in.Reportable = fl[0]&flagReportable != 0

	spOctets, spAt, err := m.expect(tagOctetString, "msgSecurityParameters")
	if err != nil {
		return nil, err
	}
	spSeq, spSeqAt, err := sub(spOctets, spAt).expect(tagSequence, "UsmSecurityParameters")
	if err != nil {
		return nil, err
	}
	s := sub(spSeq, spSeqAt)
	if out.in.EngineID, _, err = s.expect(tagOctetString, "msgAuthoritativeEngineID"); err != nil {
		return nil, err
	}
	boots, err := s.integer("msgAuthoritativeEngineBoots")
	if err != nil {
		return nil, err
	}
	etime, err := s.integer("msgAuthoritativeEngineTime")
	if err != nil {
		return nil, err
	}
	if boots < 0 || boots > maxInt32 || etime < 0 || etime > maxInt32 {
		return nil, fmt.Errorf("engine boots %d or time %d out of range", boots, etime)
	}
	out.in.EngineBoots, out.in.EngineTime = uint32(boots), uint32(etime)
	user, _, err := s.expect(tagOctetString, "msgUserName")
	if err != nil {
		return nil, err
	}
	out.in.UserName = string(user)
	if out.mac, out.macAt, err = s.expect(tagOctetString, "msgAuthenticationParameters"); err != nil {
		return nil, err
	}
	if out.priv, _, err = s.expect(tagOctetString, "msgPrivacyParameters"); err != nil {
		return nil, err
	}

	if out.in.Level == AuthPriv {
		if out.data, _, err = m.expect(tagOctetString, "encryptedPDU"); err != nil {
			return nil, err
		}
		out.encrypted = true
	} else {
		rest := m.b
		tag, _, _, err := m.next()
		if err != nil || tag != tagSequence {
			return nil, fmt.Errorf("scopedPDU: %v (tag 0x%02x)", err, tag)
		}
		out.data = rest[:len(rest)-len(m.b)]
	}
	return out, nil
}

// scoped decodes a plaintext scopedPDU into in.
func (in *Incoming) scoped(b []byte) error {
	r := &reader{b: b}
	body, at, err := r.expect(tagSequence, "scopedPDU")
	if err != nil {
		return err
	}
	s := sub(body, at)
	if in.ContextEngineID, _, err = s.expect(tagOctetString, "contextEngineID"); err != nil {
		return err
	}
	name, _, err := s.expect(tagOctetString, "contextName")
	if err != nil {
		return err
	}
	in.ContextName = string(name)
	tag, pdu, pat, err := s.next()
	if err != nil {
		return fmt.Errorf("PDU: %w", err)
	}
	if tag < 0xa0 || tag > 0xa8 {
		return fmt.Errorf("PDU: tag 0x%02x is not an SNMPv2 PDU", tag)
	}
	in.PDUType = PDUType(tag)
	p := sub(pdu, pat)
	id, err := p.integer("request-id")
	if err != nil {
		return err
	}
	in.RequestID = int32(id)
	es, err := p.integer("error-status")
	if err != nil {
		return err
	}
	ei, err := p.integer("error-index")
	if err != nil {
		return err
	}
	in.ErrorStatus, in.ErrorIndex = int(es), int(ei)
	if in.PDUType != PDUReport {
		return nil
	}
	vbl, vat, err := p.expect(tagSequence, "varbind list")
	if err != nil {
		return err
	}
	vb, vbat, err := sub(vbl, vat).expect(tagSequence, "Report varbind")
	if err != nil {
		return err
	}
	v := sub(vb, vbat)
	oid, _, err := v.expect(tagOID, "Report OID")
	if err != nil {
		return err
	}
	if in.ReportOID, err = decodeOID(oid); err != nil {
		return fmt.Errorf("Report OID: %w", err)
	}
	if rep, ok := reportOIDs[in.ReportOID]; ok {
		in.Report = rep
	} else {
		in.Report = ReportOther
	}
	if t, c, _, err := v.next(); err == nil && t == tagCounter32 {
		in.ReportCount, _ = decodeUint(c)
	}
	return nil
}

// Parse decodes a message without keys: a noAuthNoPriv message fully (as
// the answer to a discovery probe is), an authenticated one without checking
// its HMAC (Authenticated stays false), and an encrypted one up to its
// security parameters only, with an error.
func Parse(msg []byte) (*Incoming, error) {
	r, err := parseRaw(msg)
	if err != nil {
		return nil, err
	}
	if r.encrypted {
		return &r.in, errors.New("the scoped PDU is encrypted")
	}
	if err := r.in.scoped(r.data); err != nil {
		return &r.in, err
	}
	return &r.in, nil
}

// ErrWrongDigest is Open's error for a message whose HMAC the user's key
// does not verify.
var ErrWrongDigest = errors.New("wrong digest: the message's HMAC does not match the user's key")

// Open decodes a message from the wrapper's peer (a Response to an inform,
// or a Report): an authenticated message must be for the wrapper's user and
// engine and carry a valid HMAC, and is decrypted with the wrapper's key. A
// Report below the wrapper's level is returned unauthenticated (receivers
// send usmStatsUnknownEngineIDs, UnknownUserNames, WrongDigests and the like
// unsigned); any other PDU below the wrapper's level is an error, so that a
// forged unsigned Response never acknowledges an inform.
func (w *Wrapper) Open(msg []byte) (*Incoming, error) {
	r, err := parseRaw(msg)
	if err != nil {
		return nil, err
	}
	in := &r.in
	if in.Level == NoAuthNoPriv || in.Level < w.level {
		if r.encrypted {
			return in, errors.New("encrypted message at a level below the user's")
		}
		if err := in.scoped(r.data); err != nil {
			return in, err
		}
		if in.PDUType != PDUReport && in.Level < w.level {
			return in, fmt.Errorf("%s at security level %s, below the user's %s", in.PDUType, in.Level, w.level)
		}
		if in.Level == NoAuthNoPriv {
			return in, nil
		}
	}
	if in.UserName != string(w.user) {
		return in, fmt.Errorf("message for user %q, not %q", in.UserName, w.user)
	}
	if !bytes.Equal(in.EngineID, w.engineID) {
		return in, fmt.Errorf("message from engine %x, not %x", in.EngineID, w.engineID)
	}
	if w.mac == nil {
		return in, errors.New("authenticated message for a user without authentication")
	}
	if len(r.mac) != w.macLen {
		return in, fmt.Errorf("authentication parameters of %d octets, want %d for %s", len(r.mac), w.macLen, w.auth)
	}
	// The HMAC covers the message with its own field zeroed.
	zeroed := bytes.Clone(msg)
	clear(zeroed[r.macAt : r.macAt+w.macLen])
	mac := hmac.New(w.auth.newHash(), w.authKey)
	mac.Write(zeroed)
	if !hmac.Equal(mac.Sum(nil)[:w.macLen], r.mac) {
		return in, ErrWrongDigest
	}
	in.Authenticated = true
	data := r.data
	if r.encrypted {
		if w.block == nil {
			return in, errors.New("encrypted message for a user without privacy")
		}
		if len(r.priv) != saltLen {
			return in, fmt.Errorf("privacy parameters of %d octets, want %d", len(r.priv), saltLen)
		}
		iv := aesIV(in.EngineBoots, in.EngineTime, r.priv)
		data = bytes.Clone(r.data)
		cfbDecrypt(w.block, &iv, data)
	}
	if err := in.scoped(data); err != nil {
		return in, fmt.Errorf("decrypted scoped PDU: %w (wrong privacy key?)", err)
	}
	return in, nil
}
