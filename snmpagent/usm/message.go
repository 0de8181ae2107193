package usm

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hostagent/snmpagent/ber"
	"sync/atomic"
)

// PDUType is an SNMP PDU tag (RFC 3416).
type PDUType byte

// The PDU types this package writes or reads.
const (
	PDUGetRequest PDUType = 0xa0
	PDUResponse   PDUType = 0xa2
	PDUInform     PDUType = 0xa6
	PDUTrapV2     PDUType = 0xa7
	PDUReport     PDUType = 0xa8
)

func (t PDUType) String() string {
	switch t {
	case PDUGetRequest:
		return "GetRequest"
	case PDUResponse:
		return "Response"
	case PDUInform:
		return "InformRequest"
	case PDUTrapV2:
		return "SNMPv2-Trap"
	case PDUReport:
		return "Report"
	}
	return fmt.Sprintf("PDU(0x%02x)", byte(t))
}

// confirmed reports whether t is of the Confirmed Class (RFC 3411 2.8): the
// receiver answers it, so the message carries the reportable flag.
func (t PDUType) confirmed() bool {
	return t >= 0xa0 && t <= 0xa3 || t == 0xa5 || t == PDUInform
}

// msgFlags bits (RFC 3412 6.4).
const (
	flagAuth       = 0x01
	flagPriv       = 0x02
	flagReportable = 0x04
)

const (
	version3         = 3
	securityModelUSM = 3
	// MaxMessageSize is the msgMaxSize the agent announces: the largest
	// UDP payload over IPv4, as net-snmp announces it.
	MaxMessageSize = 65507
	saltLen        = 8
	// MaxUserNameLen bounds a user name (SnmpAdminString (SIZE(1..32)) in
	// usmUserName).
	MaxUserNameLen = 32
	requestIDSize  = 4
)

// ScopedPDU is a notification's scopedPDU (RFC 3412 6.8), encoded once and
// shared by every SNMPv3 target; it is never written to after NewScopedPDU.
type ScopedPDU struct {
	b     []byte
	pduAt int // offset of the PDU's tag in b
	reqAt int // offset of its 4 request-id octets in b
}

// NewScopedPDU builds SEQUENCE { contextEngineID, contextName, pdu }. pdu is
// the agent's BER-encoded PDU (SNMPv2-Trap or InformRequest) whose
// request-id is a 4-octet INTEGER: Wrap writes each target's request-id
// there, and its PDU type over the tag.
func NewScopedPDU(contextEngineID, contextName, pdu []byte) (*ScopedPDU, error) {
	if len(contextEngineID) > MaxEngineIDLen || len(contextName) > 255 {
		return nil, fmt.Errorf("scoped PDU: context engine ID of %d octets or context name of %d octets is too long", len(contextEngineID), len(contextName))
	}
	r := &reader{b: pdu}
	tag, body, at, err := r.next()
	if err != nil || len(r.b) != 0 {
		return nil, fmt.Errorf("scoped PDU: the PDU is not one whole BER element (%v)", err)
	}
	if tag < 0xa0 || tag > 0xa8 {
		return nil, fmt.Errorf("scoped PDU: tag 0x%02x is not an SNMPv2 PDU", tag)
	}
	c, reqAt, err := sub(body, at).expect(tagInteger, "request-id")
	if err != nil {
		return nil, fmt.Errorf("scoped PDU: %w", err)
	}
	if len(c) != requestIDSize {
		return nil, fmt.Errorf("scoped PDU: request-id of %d octets, want the 4-octet placeholder Wrap overwrites", len(c))
	}
	n := tlvSize(len(contextEngineID)) + tlvSize(len(contextName)) + len(pdu)
	b := make([]byte, 0, tlvSize(n))
	b = ber.AppendLength(append(b, tagSequence), n)
	b = appendOctets(b, contextEngineID)
	b = appendOctets(b, contextName)
	pduAt := len(b)
	b = append(b, pdu...)
	return &ScopedPDU{b: b, pduAt: pduAt, reqAt: pduAt + reqAt}, nil
}

// Bytes returns the encoded scopedPDU as built (request-id placeholder
// included). The caller must not modify it.
func (s *ScopedPDU) Bytes() []byte { return s.b }

// User is a USM user with its keys localized for one authoritative engine:
// the agent's own engine for traps, the receiver's for informs.
type User struct {
	Name    string
	Level   Level        // the target's security level
	Auth    AuthProtocol // AuthNone only with NoAuthNoPriv
	Priv    PrivProtocol // PrivNone unless Level is AuthPriv
	AuthKey []byte       // localized authentication key (Authhash); Auth.KeyLen() octets
	PrivKey []byte       // localized privacy key (Privhash); Auth.KeyLen() octets
}

// Validate checks the user against its level; messages name the user.
func (u *User) Validate() error {
	if u.Name == "" || len(u.Name) > MaxUserNameLen {
		return fmt.Errorf("user name %q: %d octets (allowed: 1 to %d)", u.Name, len(u.Name), MaxUserNameLen)
	}
	if !u.Auth.valid() || !u.Priv.valid() || u.Level > AuthPriv {
		return fmt.Errorf("user %q: unknown protocol or level", u.Name)
	}
	if u.Level == NoAuthNoPriv {
		return nil
	}
	if u.Auth == AuthNone {
		return fmt.Errorf("user %q: security level %s needs authentication, but it is none (allowed: %s)", u.Name, u.Level, authAllowed[len("none, "):])
	}
	if len(u.AuthKey) != u.Auth.KeyLen() {
		return fmt.Errorf("user %q: authhash of %d octets, but a %s key has %d", u.Name, len(u.AuthKey), u.Auth, u.Auth.KeyLen())
	}
	if u.Level == AuthNoPriv {
		return nil
	}
	if u.Priv == PrivNone {
		return fmt.Errorf("user %q: security level priv needs privacy, but it is none (allowed: %s)", u.Name, privAllowed[len("none, "):])
	}
	if len(u.PrivKey) != u.Auth.KeyLen() {
		return fmt.Errorf("user %q: privhash of %d octets, but a %s key has %d", u.Name, len(u.PrivKey), u.Auth, u.Auth.KeyLen())
	}
	return nil
}

// Wrapper turns scoped PDUs into SNMPv3 messages for one target: one user,
// one authoritative engine. Wrap is not safe for concurrent use (it reuses
// its HMAC state): each target's sender goroutine owns its Wrapper. Open may
// be called concurrently with Wrap (e.g. from a response reader).
type Wrapper struct {
	user     []byte
	engineID []byte
	level    Level
	auth     AuthProtocol
	authKey  []byte
	macLen   int
	mac      hash.Hash    // HMAC keyed with the localized key, reset per message
	sum      []byte       // Wrap's HMAC output buffer
	block    cipher.Block // nil without privacy
	privLen  int          // 8 with privacy, else 0
	salt     atomic.Uint64
	// Wrap's scratch blocks: kept here because cipher.Block's interface
	// call would move them to the heap on every message.
	iv, ks [aes.BlockSize]byte
}

// NewWrapper prepares the per-target state: the HMAC and the AES cipher keyed
// with u's localized keys (the privacy key extended as net-snmp does for
// AES192/AES256), and a random starting salt (RFC 3826 3.1.2.1).
// engineID is the authoritative engine the keys were localized for.
func NewWrapper(u User, engineID []byte) (*Wrapper, error) {
	if err := u.Validate(); err != nil {
		return nil, err
	}
	if err := ValidateEngineID(engineID); err != nil {
		return nil, fmt.Errorf("user %q: authoritative %w", u.Name, err)
	}
	w := &Wrapper{user: []byte(u.Name), engineID: append([]byte(nil), engineID...), level: u.Level}
	if u.Level >= AuthNoPriv {
		w.auth = u.Auth
		w.authKey = append([]byte(nil), u.AuthKey...)
		w.macLen = u.Auth.MACLen()
		w.mac = hmac.New(u.Auth.newHash(), w.authKey)
		w.sum = make([]byte, 0, w.mac.Size())
	}
	if u.Level == AuthPriv {
		block, err := aes.NewCipher(cipherKey(u.Auth, u.Priv, u.PrivKey))
		if err != nil {
			return nil, fmt.Errorf("user %q: %w", u.Name, err)
		}
		w.block = block
		w.privLen = saltLen
		var s [8]byte
		if _, err := rand.Read(s[:]); err != nil {
			return nil, fmt.Errorf("user %q: salt: %w", u.Name, err)
		}
		w.salt.Store(binary.BigEndian.Uint64(s[:]))
	}
	return w, nil
}

// Level returns the wrapper's security level.
func (w *Wrapper) Level() Level { return w.level }

// EngineID returns the authoritative engine ID the wrapper's keys are for.
func (w *Wrapper) EngineID() []byte { return w.engineID }

// Params are the per-message values of Wrap.
type Params struct {
	MsgID     int32   // msgID (RFC 3412), 0..2147483647; a response carries it back
	RequestID int32   // written into the PDU's request-id placeholder
	PDUType   PDUType // overwrites the PDU tag when not 0 (e.g. PDUInform for an inform target)
	// The authoritative engine's snmpEngineBoots and snmpEngineTime: the
	// agent's own for traps, the receiver's (as discovered) for informs.
	EngineBoots, EngineTime uint32
}

// Wrap appends to dst the SNMPv3 message carrying sp (RFC 3412 6, RFC 3414
// 2.4): msgVersion 3, msgGlobalData (msgID, msgMaxSize, msgFlags, USM),
// msgSecurityParameters (engine ID, boots, time, user, HMAC, salt) and the
// scoped PDU, encrypted for authPriv. The reportable flag is set for
// confirmed PDUs (informs). With a dst of enough capacity it does not
// allocate.
func (w *Wrapper) Wrap(dst []byte, sp *ScopedPDU, p Params) ([]byte, error) {
	if p.MsgID < 0 || p.EngineBoots > maxInt32 || p.EngineTime > maxInt32 {
		return dst, fmt.Errorf("wrap: msgID %d, engine boots %d or time %d out of range (0..2147483647)", p.MsgID, p.EngineBoots, p.EngineTime)
	}
	tag := PDUType(sp.b[sp.pduAt])
	if p.PDUType != 0 {
		tag = p.PDUType
	}
	flags := w.level.flags()
	if tag.confirmed() {
		flags |= flagReportable
	}
	var salt [saltLen]byte
	if w.block != nil {
		binary.BigEndian.PutUint64(salt[:], w.salt.Add(1))
	}
	h := header{
		msgID: p.MsgID, flags: flags, engineID: w.engineID, boots: p.EngineBoots, time: p.EngineTime,
		user: w.user, macLen: w.macLen, priv: salt[:w.privLen],
	}
	start := len(dst)
	dst, macAt, dataAt := h.append(dst, len(sp.b), w.block != nil)
	dst = append(dst, sp.b...)
	data := dst[dataAt:]
	data[sp.pduAt] = byte(tag)
	binary.BigEndian.PutUint32(data[sp.reqAt:], uint32(p.RequestID))
	if w.block != nil {
		w.iv = aesIV(p.EngineBoots, p.EngineTime, salt[:])
		cfbEncrypt(w.block, &w.iv, &w.ks, data)
	}
	if w.mac != nil {
		w.mac.Reset()
		w.mac.Write(dst[start:])
		w.sum = w.mac.Sum(w.sum[:0])
		copy(dst[macAt:macAt+w.macLen], w.sum)
	}
	return dst, nil
}

const maxInt32 = 1<<31 - 1

// header is an SNMPv3 message up to msgData.
type header struct {
	msgID       int32
	flags       byte
	engineID    []byte
	boots, time uint32
	user        []byte
	macLen      int
	priv        []byte
}

// append writes the message's outer SEQUENCE header, msgVersion,
// msgGlobalData and msgSecurityParameters (with a zeroed MAC) for a scoped
// PDU of dataLen octets, and for encrypted data its OCTET STRING header. It
// returns the offsets of the MAC and of the data, which the caller appends.
func (h *header) append(b []byte, dataLen int, encrypted bool) (out []byte, macAt, dataAt int) {
	global := tlvSize(ber.IntSize(int64(h.msgID))) + tlvSize(ber.IntSize(MaxMessageSize)) + tlvSize(1) + tlvSize(1)
	usm := tlvSize(len(h.engineID)) + tlvSize(ber.IntSize(int64(h.boots))) + tlvSize(ber.IntSize(int64(h.time))) +
		tlvSize(len(h.user)) + tlvSize(h.macLen) + tlvSize(len(h.priv))
	data := dataLen
	if encrypted {
		data = tlvSize(dataLen)
	}
	total := tlvSize(1) + tlvSize(global) + tlvSize(tlvSize(usm)) + data

	b = ber.AppendLength(append(b, tagSequence), total)
	b = ber.AppendInt(b, tagInteger, version3)
	b = ber.AppendLength(append(b, tagSequence), global)
	b = ber.AppendInt(b, tagInteger, int64(h.msgID))
	b = ber.AppendInt(b, tagInteger, MaxMessageSize)
	b = append(b, tagOctetString, 1, h.flags)
	b = ber.AppendInt(b, tagInteger, securityModelUSM)
	b = ber.AppendLength(append(b, tagOctetString), tlvSize(usm))
	b = ber.AppendLength(append(b, tagSequence), usm)
	b = appendOctets(b, h.engineID)
	b = ber.AppendInt(b, tagInteger, int64(h.boots))
	b = ber.AppendInt(b, tagInteger, int64(h.time))
	b = appendOctets(b, h.user)
	b = ber.AppendLength(append(b, tagOctetString), h.macLen)
	macAt = len(b)
	for range h.macLen {
		b = append(b, 0)
	}
	b = appendOctets(b, h.priv)
	if encrypted {
		b = ber.AppendLength(append(b, tagOctetString), dataLen)
	}
	return b, macAt, len(b)
}

// aesIV is RFC 3826 3.1.2.1's IV: engineBoots || engineTime || salt.
func aesIV(boots, time uint32, salt []byte) [aes.BlockSize]byte {
	var iv [aes.BlockSize]byte
	binary.BigEndian.PutUint32(iv[0:], boots)
	binary.BigEndian.PutUint32(iv[4:], time)
	copy(iv[8:], salt)
	return iv
}

// cfbEncrypt encrypts data in place with AES in CFB mode, 128-bit segments
// (RFC 3826 3.1.3): each keystream block encrypts the previous ciphertext
// block (the IV first); a short last block uses part of its keystream.
func cfbEncrypt(block cipher.Block, iv, ks *[aes.BlockSize]byte, data []byte) {
	prev := iv[:]
	for len(data) > 0 {
		block.Encrypt(ks[:], prev)
		n := subtle.XORBytes(data, data, ks[:])
		prev = data[:n]
		data = data[n:]
	}
}

// cfbDecrypt reverses cfbEncrypt in place.
func cfbDecrypt(block cipher.Block, iv *[aes.BlockSize]byte, data []byte) {
	var ks, prev [aes.BlockSize]byte
	prev = *iv
	for len(data) > 0 {
		block.Encrypt(ks[:], prev[:])
		copy(prev[:], data) // the ciphertext feeds the next block
		n := subtle.XORBytes(data, data, ks[:])
		data = data[n:]
	}
}

// ErrNotSNMPv3 marks a datagram that is not an SNMPv3 USM message at all
// (e.g. a v2c response on a shared socket); Parse and Open wrap it.
var ErrNotSNMPv3 = errors.New("not an SNMPv3 USM message")
