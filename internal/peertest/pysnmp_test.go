package peertest

import (
	"bytes"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// TestPysnmpUsers: a trap from a user keyed to the sender's engine ID is
// decoded with its user, level and varbinds, one keyed with a wrong
// password is refused for its digest; an inform from a user localized to
// the receiver's own engine ID (the one set) is acknowledged once gosnmp
// discovered that engine.
func TestPysnmpUsers(t *testing.T) {
	sender := []byte("\x80\x00\x1f\x88\x04peertest-sender")
	receiver := TextEngineID("peertest-receiver")
	p := StartPysnmp(t, PysnmpOptions{
		EngineID: receiver,
		Users: []USMUser{
			{Name: "ops", EngineID: sender, Auth: "SHA256", AuthPass: "auth-pass", Priv: "AES128", PrivPass: "priv-pass"},
			{Name: "informer", Auth: "SHA512", AuthPass: "auth-pass"},
		},
	})
	if got := p.EngineID(); !bytes.Equal(got, receiver) {
		t.Errorf("EngineID() = %x, want %x", got, receiver)
	}
	send := func(flags gosnmp.SnmpV3MsgFlags, sp *gosnmp.UsmSecurityParameters, trap gosnmp.SnmpTrap) error {
		g := &gosnmp.GoSNMP{
			Target: "127.0.0.1", Port: uint16(p.Port()), Version: gosnmp.Version3, Timeout: 2 * time.Second, Retries: 1,
			SecurityModel: gosnmp.UserSecurityModel, MsgFlags: flags, SecurityParameters: sp,
		}
		if err := g.Connect(); err != nil {
			t.Fatal(err)
		}
		defer g.Conn.Close()
		_, err := g.SendTrap(trap)
		return err
	}
	for i, pass := range []string{"not-the-password", "auth-pass"} {
		sp := &gosnmp.UsmSecurityParameters{
			UserName: "ops", AuthoritativeEngineID: string(sender), AuthoritativeEngineBoots: 1, AuthoritativeEngineTime: 1,
			AuthenticationProtocol: gosnmp.SHA256, AuthenticationPassphrase: pass,
			PrivacyProtocol: gosnmp.AES, PrivacyPassphrase: "priv-pass",
		}
		if err := send(gosnmp.AuthPriv, sp, v2cTrap(uint32(i+1), oidWarmStart)); err != nil {
			t.Fatal(err)
		}
	}
	ns := p.WaitNotifications(t, "ops", waitTime, "ops's trap", func(ns []PysnmpNotification) bool { return len(ns) > 0 })
	want := map[string]string{"1.3.6.1.2.1.1.3.0": "2", "1.3.6.1.6.3.1.1.4.1.0": "1.3.6.1.6.3.1.1.5.2"}
	if n := ns[0]; len(ns) != 1 || n.User != "ops" || n.PDU != "SNMPv2TrapPDU" || n.Level != 3 || !maps.Equal(n.VarBinds, want) {
		t.Errorf("decoded %+v, want one SNMPv2TrapPDU from ops at 3 (authPriv) with %v", ns, want)
	}
	wrongDigest := PysnmpRefusal{Reason: "AuthenticationFailure", Counter: "1.3.6.1.6.3.15.1.1.5.0"}
	if why := p.Refusals("ops"); len(why) != 1 || why[0] != wrongDigest {
		t.Errorf("refusals of ops %v, want [%v]", why, wrongDigest)
	}

	// No engine ID: gosnmp discovers pysnmp's.
	sp := &gosnmp.UsmSecurityParameters{UserName: "informer", AuthenticationProtocol: gosnmp.SHA512, AuthenticationPassphrase: "auth-pass"}
	inform := v2cTrap(5, oidWarmStart)
	inform.IsInform = true
	if err := send(gosnmp.AuthNoPriv, sp, inform); err != nil {
		t.Fatalf("inform not acknowledged: %v", err)
	}
	if eng := sp.AuthoritativeEngineID; eng != string(receiver) {
		t.Errorf("discovered engine ID %x, want %x", eng, receiver)
	}
	ns = p.WaitNotifications(t, "informer", waitTime, "the inform", func(ns []PysnmpNotification) bool { return len(ns) > 0 })
	if n := ns[0]; n.PDU != "InformRequestPDU" || n.Level != 2 || n.VarBinds["1.3.6.1.2.1.1.3.0"] != "5" {
		t.Errorf("decoded %+v, want an InformRequestPDU at 2 (authNoPriv) with uptime 5", n)
	}
}

// TestPysnmpUserChecked: a user snmptrapd would refuse is refused before
// pysnmp starts, naming the user, the setting and what is allowed.
func TestPysnmpUserChecked(t *testing.T) {
	_, err := USMUser{Name: "u", Auth: "MD5", AuthPass: "auth-pass"}.pysnmp()
	if want := `USM user u: authentication protocol "MD5": allowed are SHA1`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want one saying %q", err, want)
	}
	pu, err := USMUser{Name: "u", EngineID: []byte{0x80, 1}}.pysnmp()
	if want := (pysnmpUser{Name: "u", EngineID: "8001", Auth: "none", Priv: "none"}); err != nil || pu != want {
		t.Errorf("noAuthNoPriv user: %+v, %v; want %+v", pu, err, want)
	}
}
