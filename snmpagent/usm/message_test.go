package usm_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gosnmp/gosnmp"

	"hostagent/snmpagent/usm"
)

var gosnmpAuth = map[usm.AuthProtocol]gosnmp.SnmpV3AuthProtocol{
	usm.AuthSHA1: gosnmp.SHA, usm.AuthSHA224: gosnmp.SHA224, usm.AuthSHA256: gosnmp.SHA256,
	usm.AuthSHA384: gosnmp.SHA384, usm.AuthSHA512: gosnmp.SHA512,
}

var gosnmpPriv = map[usm.PrivProtocol]gosnmp.SnmpV3PrivProtocol{
	usm.PrivAES128: gosnmp.AES, usm.PrivAES192: gosnmp.AES192, usm.PrivAES256: gosnmp.AES256,
}

func mustWrapper(t testing.TB, name string, level usm.Level, a usm.AuthProtocol, p usm.PrivProtocol, authPass, privPass string, engineID []byte) *usm.Wrapper {
	t.Helper()
	u := usm.User{Name: name, Level: level, Auth: a, Priv: p}
	if level >= usm.AuthNoPriv {
		var pp []byte
		if level == usm.AuthPriv {
			pp = []byte(privPass)
		}
		var err error
		u.AuthKey, u.PrivKey, err = usm.LocalizedKeys(a, []byte(authPass), pp, engineID)
		if err != nil {
			t.Fatal(err)
		}
	}
	w, err := usm.NewWrapper(u, engineID)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func coldStartScoped(t testing.TB, engineID []byte) *usm.ScopedPDU {
	t.Helper()
	sp, err := usm.NewScopedPDU(engineID, nil, trapPDU(4242, coldStart, stringVarBind(sysLocation0, "rack 7")))
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// TestGosnmpDecodesWrap: gosnmp, given the passwords, authenticates and
// decrypts every authentication x privacy combination, and reads the
// request-id, PDU type and varbinds Wrap patched in.
func TestGosnmpDecodesWrap(t *testing.T) {
	engineID := []byte{0x80, 0x00, 0x7e, 0xd9, 0x05, 1, 2, 3, 4, 5, 6, 7, 8}
	sp := coldStartScoped(t, engineID)
	for a := usm.AuthNone; a <= usm.AuthSHA512; a++ {
		for p := usm.PrivNone; p <= usm.PrivAES256; p++ {
			level := usm.AuthPriv
			switch {
			case a == usm.AuthNone && p != usm.PrivNone:
				continue
			case a == usm.AuthNone:
				level = usm.NoAuthNoPriv
			case p == usm.PrivNone:
				level = usm.AuthNoPriv
			}
			t.Run(fmt.Sprintf("%s-%s", a, p), func(t *testing.T) {
				w := mustWrapper(t, "ops", level, a, p, "authpass-1", "privpass-2", engineID)
				var buf []byte
				for i, pdu := range []usm.PDUType{usm.PDUTrapV2, usm.PDUInform} {
					msg, err := w.Wrap(buf[:0], sp, usm.Params{MsgID: int32(100 + i), RequestID: int32(7000 + i), PDUType: pdu, EngineBoots: 3, EngineTime: 99})
					if err != nil {
						t.Fatal(err)
					}
					buf = msg
					sec := &gosnmp.UsmSecurityParameters{UserName: "ops", AuthoritativeEngineID: string(engineID)}
					flags := gosnmp.NoAuthNoPriv
					if level >= usm.AuthNoPriv {
						flags = gosnmp.AuthNoPriv
						sec.AuthenticationProtocol, sec.AuthenticationPassphrase = gosnmpAuth[a], "authpass-1"
					}
					if level == usm.AuthPriv {
						flags = gosnmp.AuthPriv
						sec.PrivacyProtocol, sec.PrivacyPassphrase = gosnmpPriv[p], "privpass-2"
					}
					g := &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel, MsgFlags: flags, SecurityParameters: sec, Logger: gosnmp.NewLogger(nil)}
					pkt, err := g.UnmarshalTrap(bytes.Clone(msg), true)
					if err != nil {
						t.Fatalf("gosnmp refused the %s: %v", pdu, err)
					}
					wantType := gosnmp.SNMPv2Trap
					if pdu == usm.PDUInform {
						wantType = gosnmp.InformRequest
					}
					if pkt.PDUType != wantType || pkt.RequestID != uint32(7000+i) || pkt.MsgID != uint32(100+i) || len(pkt.Variables) != 3 ||
						pkt.Variables[1].Value != "."+coldStart || string(pkt.Variables[2].Value.([]byte)) != "rack 7" ||
						pkt.ContextEngineID != string(engineID) {
						t.Errorf("gosnmp read %v id %d msgID %d vars %+v", pkt.PDUType, pkt.RequestID, pkt.MsgID, pkt.Variables)
					}
					// And our own parser reads it back.
					in, err := w.Open(msg)
					if err != nil {
						t.Fatal(err)
					}
					if in.PDUType != pdu || in.RequestID != int32(7000+i) || in.Level != level || in.Authenticated != (level > usm.NoAuthNoPriv) ||
						in.EngineBoots != 3 || in.EngineTime != 99 || in.UserName != "ops" || in.Reportable != (pdu == usm.PDUInform) {
						t.Errorf("Open: %+v", in)
					}
				}
			})
		}
	}
}

// TestOpenRefusesForgeries: a wrong key, a tampered octet, another user and
// an unsigned Response are refused; an unsigned Report is passed on as
// unauthenticated.
func TestOpenRefusesForgeries(t *testing.T) {
	engineID := []byte{0x80, 0x00, 0x7e, 0xd9, 0x05, 9, 9, 9, 9}
	sp := coldStartScoped(t, engineID)
	w := mustWrapper(t, "ops", usm.AuthPriv, usm.AuthSHA256, usm.PrivAES128, "authpass-1", "privpass-2", engineID)
	other := mustWrapper(t, "ops", usm.AuthPriv, usm.AuthSHA256, usm.PrivAES128, "authpass-X", "privpass-2", engineID)
	msg, err := other.Wrap(nil, sp, usm.Params{MsgID: 1, RequestID: 2, PDUType: usm.PDUResponse})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Open(msg); err == nil || !strings.Contains(err.Error(), "wrong digest") {
		t.Errorf("wrong key: %v", err)
	}
	good, _ := w.Wrap(nil, sp, usm.Params{MsgID: 1, RequestID: 2, PDUType: usm.PDUResponse})
	bad := bytes.Clone(good)
	bad[len(bad)-1] ^= 1
	if _, err := w.Open(bad); err == nil || !strings.Contains(err.Error(), "wrong digest") {
		t.Errorf("tampered: %v", err)
	}
	bob := mustWrapper(t, "bob", usm.AuthPriv, usm.AuthSHA256, usm.PrivAES128, "authpass-1", "privpass-2", engineID)
	fromBob, _ := bob.Wrap(nil, sp, usm.Params{MsgID: 1, RequestID: 2, PDUType: usm.PDUResponse})
	if _, err := w.Open(fromBob); err == nil || !strings.Contains(err.Error(), `user "bob"`) {
		t.Errorf("other user: %v", err)
	}
	plain := mustWrapper(t, "ops", usm.NoAuthNoPriv, usm.AuthNone, usm.PrivNone, "", "", engineID)
	unsigned, _ := plain.Wrap(nil, sp, usm.Params{MsgID: 1, RequestID: 2, PDUType: usm.PDUResponse})
	if _, err := w.Open(unsigned); err == nil || !strings.Contains(err.Error(), "below the user's") {
		t.Errorf("unsigned Response: %v", err)
	}
	report, err := usm.NewScopedPDU(engineID, nil, tlv(0xa8, []byte{0x02, 4, 0, 0, 0, 0, 0x02, 1, 0, 0x02, 1, 0},
		tlv(0x30, tlv(0x30, oid("1.3.6.1.6.3.15.1.1.5.0"), []byte{0x41, 1, 7}))))
	if err != nil {
		t.Fatal(err)
	}
	rep, _ := plain.Wrap(nil, report, usm.Params{MsgID: 1, RequestID: 2})
	in, err := w.Open(rep)
	if err != nil || in.Authenticated || in.Report != usm.ReportWrongDigests || in.ReportCount != 7 || in.Report.String() != "usmStatsWrongDigests" {
		t.Errorf("unsigned Report: %+v %v", in, err)
	}
	if _, err := usm.SyncedEngine(in); err == nil {
		t.Error("SyncedEngine trusted an unauthenticated Report")
	}
	v2c := tlv(0x30, []byte{0x02, 1, 1}, tlv(0x04, []byte("public")), trapPDU(0, coldStart))
	if _, err := w.Open(v2c); !errors.Is(err, usm.ErrNotSNMPv3) {
		t.Errorf("v2c message: %v, want ErrNotSNMPv3", err)
	}
}

// TestDiscoveryProbeIsRFC3414: gosnmp reads our probe as the discovery
// request RFC 3414 §4 describes.
func TestDiscoveryProbeIsRFC3414(t *testing.T) {
	msg, err := usm.DiscoveryProbe(nil, 77, 1234)
	if err != nil {
		t.Fatal(err)
	}
	in, err := usm.Parse(msg)
	if err != nil {
		t.Fatal(err)
	}
	if in.MsgID != 77 || in.RequestID != 1234 || in.PDUType != usm.PDUGetRequest || !in.Reportable || in.Level != usm.NoAuthNoPriv ||
		len(in.EngineID) != 0 || in.UserName != "" || in.EngineBoots != 0 || in.EngineTime != 0 {
		t.Errorf("probe: %+v", in)
	}
	g := &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel, MsgFlags: gosnmp.NoAuthNoPriv,
		SecurityParameters: &gosnmp.UsmSecurityParameters{UserName: "listener"}, Logger: gosnmp.NewLogger(nil)}
	pkt, err := g.UnmarshalTrap(msg, true) // accepts RFC 3414 discovery requests only without authentication
	if err != nil || pkt.PDUType != gosnmp.GetRequest || pkt.MsgFlags != gosnmp.Reportable || len(pkt.Variables) != 0 {
		t.Errorf("gosnmp: %+v %v", pkt, err)
	}
}

func BenchmarkWrap(b *testing.B) {
	engineID := []byte{0x80, 0x00, 0x7e, 0xd9, 0x05, 1, 2, 3, 4, 5, 6, 7, 8}
	sp := coldStartScoped(b, engineID)
	for _, tc := range []struct {
		name  string
		level usm.Level
	}{{"noAuthNoPriv", usm.NoAuthNoPriv}, {"authPriv-SHA256-AES128", usm.AuthPriv}} {
		b.Run(tc.name, func(b *testing.B) {
			w := mustWrapper(b, "ops", tc.level, usm.AuthSHA256, usm.PrivAES128, "authpass-1", "privpass-2", engineID)
			buf := make([]byte, 0, 1500)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				var err error
				buf, err = w.Wrap(buf[:0], sp, usm.Params{MsgID: int32(i & 0x7fffffff), RequestID: int32(i & 0x7fffffff), EngineBoots: 1, EngineTime: 5})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
