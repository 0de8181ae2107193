package usm_test

import (
	"bytes"
	"crypto/rand"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"hostagent/internal/peertest"
	"hostagent/snmpagent/usm"
)

// These tests send SNMPv3 messages made by this package to net-snmp's
// snmptrapd, started on loopback with users created from passwords
// (createUser, peertest.USMUser), so that net-snmp's own password-to-key,
// localization, key extension, HMAC and AES check ours.

// dial connects to snmptrapd, to send it our messages and read its answers.
func dial(t *testing.T, d *peertest.Snmptrapd) *net.UDPConn {
	t.Helper()
	conn, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: d.Port()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// waitTime bounds the wait for a notification snmptrapd is to decode.
const waitTime = 10 * time.Second

type combo struct {
	name  string
	level usm.Level
	auth  usm.AuthProtocol
	priv  usm.PrivProtocol
}

// combos is every authentication x privacy combination, and no security.
func combos() []combo {
	cs := []combo{{name: "none", level: usm.NoAuthNoPriv}}
	for a := usm.AuthSHA1; a <= usm.AuthSHA512; a++ {
		for p := usm.PrivNone; p <= usm.PrivAES256; p++ {
			c := combo{name: strings.ToLower(a.String() + "-" + p.String()), level: usm.AuthPriv, auth: a, priv: p}
			if p == usm.PrivNone {
				c.level = usm.AuthNoPriv
			}
			cs = append(cs, c)
		}
	}
	return cs
}

// trapdUser is the snmptrapd user of the combination, made from the
// passwords user takes (engineID nil: localized by snmptrapd to its own
// engine, for informs), which must use at least its level.
func (c combo) trapdUser(engineID []byte) peertest.USMUser {
	u := peertest.USMUser{Name: c.name, EngineID: engineID}
	if c.level >= usm.AuthNoPriv {
		u.Auth, u.AuthPass = c.auth.String(), "auth-"+c.name
	}
	if c.level == usm.AuthPriv {
		u.Priv, u.PrivPass = c.priv.String(), "priv-"+c.name
	}
	return u
}

// startTrapd runs snmptrapd with the users of the combinations.
func startTrapd(t *testing.T, engineID []byte, cs ...combo) *peertest.Snmptrapd {
	t.Helper()
	var opts peertest.SnmptrapdOptions
	for _, c := range cs {
		opts.Users = append(opts.Users, c.trapdUser(engineID))
	}
	return peertest.StartSnmptrapd(t, opts)
}

// user derives the user's localized keys from the passwords createUser got.
func (c combo) user(t testing.TB, engineID []byte, authPass string) usm.User {
	t.Helper()
	u := usm.User{Name: c.name, Level: c.level, Auth: c.auth, Priv: c.priv}
	if c.level == usm.NoAuthNoPriv {
		return u
	}
	var privPass []byte
	if c.level == usm.AuthPriv {
		privPass = []byte("priv-" + c.name)
	}
	var err error
	if u.AuthKey, u.PrivKey, err = usm.LocalizedKeys(c.auth, []byte(authPass), privPass, engineID); err != nil {
		t.Fatal(err)
	}
	return u
}

func wrapper(t testing.TB, u usm.User, engineID []byte) *usm.Wrapper {
	t.Helper()
	w, err := usm.NewWrapper(u, engineID)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func newEngineID(t testing.TB) []byte {
	t.Helper()
	id, err := usm.NewEngineID()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// trap wraps a coldStart with a sysLocation.0 marker from the agent's engine.
func trap(t testing.TB, w *usm.Wrapper, engineID []byte, marker string, reqID int32) []byte {
	t.Helper()
	sp, err := usm.NewScopedPDU(engineID, nil, trapPDU(1234, coldStart, stringVarBind(sysLocation0, marker)))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := w.Wrap(nil, sp, usm.Params{MsgID: reqID, RequestID: reqID, EngineBoots: 1, EngineTime: 7})
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func wantColdStart(t *testing.T, r peertest.Trap, user, marker string) {
	t.Helper()
	want := []peertest.VarBind{{Name: "SNMPv2-MIB::sysLocation.0", Type: "STRING", Value: marker}}
	if r.PDU != "TRAP2" || r.Version != "v3" || r.User != user || r.Uptime != 1234 || r.TrapOID != "SNMPv2-MIB::coldStart" || !slices.Equal(r.VarBinds, want) {
		t.Errorf("snmptrapd decoded %s, want a TRAP2 from %s with uptime 1234, coldStart and %q", r.Raw, user, want)
	}
}

// TestSnmptrapdDecodesEveryCombination sends a trap per authentication x
// privacy combination, from the agent's engine (createUser -e).
func TestSnmptrapdDecodesEveryCombination(t *testing.T) {
	engineID := newEngineID(t)
	d := startTrapd(t, engineID, combos()...)
	conn := dial(t, d)
	for i, c := range combos() {
		w := wrapper(t, c.user(t, engineID, "auth-"+c.name), engineID)
		if _, err := conn.Write(trap(t, w, engineID, "from "+c.name, int32(i+1))); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range combos() {
		recs := d.WaitUserTraps(t, c.name, 1, waitTime)
		wantColdStart(t, recs[0], c.name, "from "+c.name)
	}
}

// TestSnmptrapdRejectsWrongKeyAndEngine: a trap with a key from the wrong
// password, and one from another engine ID (keys localized for it), are
// dropped; the good trap sent after them arrives alone.
func TestSnmptrapdRejectsWrongKeyAndEngine(t *testing.T) {
	engineID := newEngineID(t)
	c := combo{name: "victim", level: usm.AuthPriv, auth: usm.AuthSHA256, priv: usm.PrivAES128}
	d := startTrapd(t, engineID, c)
	conn := dial(t, d)

	wrongKey := wrapper(t, c.user(t, engineID, "not-the-password"), engineID)
	other := newEngineID(t)
	wrongEngine := wrapper(t, c.user(t, other, "auth-victim"), other)
	good := wrapper(t, c.user(t, engineID, "auth-victim"), engineID)
	for i, m := range [][]byte{
		trap(t, wrongKey, engineID, "wrong key", 1),
		trap(t, wrongEngine, other, "wrong engine", 2),
		trap(t, good, engineID, "good", 3),
	} {
		if _, err := conn.Write(m); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	// snmptrapd handles datagrams in order: once "good" is decoded, the
	// two before it were refused.
	recs := d.WaitUserTraps(t, "victim", 1, waitTime)
	if len(recs) != 1 || len(recs[0].VarBinds) != 1 || recs[0].VarBinds[0] != (peertest.VarBind{Name: "SNMPv2-MIB::sysLocation.0", Type: "STRING", Value: "good"}) {
		t.Errorf("snmptrapd accepted %d traps from victim: %+v", len(recs), recs)
	}
	if all := d.Traps(); len(all) != 1 { // "good" (the readiness probes are not counted)
		t.Errorf("snmptrapd printed %d notifications besides its readiness probe, want one trap: %+v", len(all), all)
	}
}

// exchange sends msg and returns the first datagram back.
func exchange(t *testing.T, conn *net.UDPConn, msg []byte) []byte {
	t.Helper()
	if _, err := conn.Write(msg); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65536)
	if err := conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no answer from snmptrapd: %v", err)
	}
	return buf[:n]
}

func randomID(t *testing.T) int32 {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return int32(uint32(b[0])<<24|uint32(b[1])<<16|uint32(b[2])<<8|uint32(b[3])) & 0x7fffffff
}

// discover runs the first step of RFC 3414 §4 discovery against
// snmptrapd: the unauthenticated probe, answered by usmStatsUnknownEngineIDs.
func discover(t *testing.T, conn *net.UDPConn) usm.Engine {
	t.Helper()
	id := randomID(t)
	probe, err := usm.DiscoveryProbe(nil, id, id)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := usm.ParseDiscovery(exchange(t, conn, probe), id)
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// TestSnmptrapdAcknowledgesInforms: informs to snmptrapd (the authoritative
// engine; createUser without -e) after engine discovery, for every
// combination, each acknowledged by an authenticated Response with our
// request-id; then a wrong key and a wrong engine ID get the Reports that
// name the reason, and nothing is logged for them.
func TestSnmptrapdAcknowledgesInforms(t *testing.T) {
	d := startTrapd(t, nil, combos()...)
	conn := dial(t, d)
	eng := discover(t, conn)
	if err := usm.ValidateEngineID(eng.ID); err != nil || eng.Boots == 0 {
		t.Fatalf("discovered engine %x boots %d time %d: %v", eng.ID, eng.Boots, eng.Time, err)
	}
	// The second step of discovery: an authenticated probe with boots and
	// time 0 gets a signed usmStatsNotInTimeWindows with snmptrapd's clock.
	sync := wrapper(t, combos()[1].user(t, eng.ID, "auth-"+combos()[1].name), eng.ID)
	id := randomID(t)
	probe, err := sync.TimeSyncProbe(nil, id, id)
	if err != nil {
		t.Fatal(err)
	}
	in, err := sync.Open(exchange(t, conn, probe))
	if err != nil {
		t.Fatal(err)
	}
	synced, err := usm.SyncedEngine(in)
	if err != nil || in.Report != usm.ReportNotInTimeWindows || !bytes.Equal(synced.ID, eng.ID) || synced.Boots != eng.Boots || synced.Time < eng.Time {
		t.Fatalf("time synchronization: %+v, engine %+v, %v; discovery said %+v", in, synced, err, eng)
	}

	// The scoped PDU is the one the agent encodes once for all its targets:
	// its contextEngineID is the agent's own engine ID (the context the
	// notification's objects come from), not the receiver's, and snmptrapd
	// accepts that.
	sp, err := usm.NewScopedPDU(newEngineID(t), nil, trapPDU(99, coldStart, stringVarBind(sysLocation0, "inform")))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range combos() {
		w := wrapper(t, c.user(t, eng.ID, "auth-"+c.name), eng.ID)
		boots, now := eng.Clock(time.Now())
		id := randomID(t)
		msg, err := w.Wrap(nil, sp, usm.Params{MsgID: id, RequestID: id ^ 0x5a5a, PDUType: usm.PDUInform, EngineBoots: boots, EngineTime: now})
		if err != nil {
			t.Fatal(err)
		}
		in, err := w.Open(exchange(t, conn, msg))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if in.PDUType != usm.PDUResponse || in.RequestID != id^0x5a5a || in.MsgID != id || in.Authenticated != (c.level > usm.NoAuthNoPriv) || in.Level != c.level {
			t.Errorf("%s: answer %+v, want an authenticated Response to request-id %d", c.name, in, id^0x5a5a)
		}
		recs := d.WaitUserTraps(t, c.name, 1, waitTime)
		if recs[0].PDU != "INFORM" || recs[0].TrapOID != "SNMPv2-MIB::coldStart" {
			t.Errorf("%s: snmptrapd logged %s", c.name, recs[0].Raw)
		}
	}

	// Failures, each named by the Report snmptrapd sends back.
	c := combos()[len(combos())-1] // sha512-aes256
	before := len(d.Traps())
	for _, tc := range []struct {
		name string
		w    *usm.Wrapper
		want usm.Report
	}{
		{"wrong key", wrapper(t, c.user(t, eng.ID, "not-the-password"), eng.ID), usm.ReportWrongDigests},
		{"wrong engine ID", func() *usm.Wrapper { o := newEngineID(t); return wrapper(t, c.user(t, o, "auth-"+c.name), o) }(), usm.ReportUnknownEngineIDs},
		{"unknown user", wrapper(t, combo{name: "nobody", level: usm.AuthPriv, auth: usm.AuthSHA256, priv: usm.PrivAES128}.user(t, eng.ID, "auth-nobody"), eng.ID), usm.ReportUnknownUserNames},
		{"stale time", wrapper(t, c.user(t, eng.ID, "auth-"+c.name), eng.ID), usm.ReportNotInTimeWindows},
	} {
		boots, now := eng.Clock(time.Now())
		if tc.want == usm.ReportNotInTimeWindows {
			boots, now = 0, 0
		}
		id := randomID(t)
		msg, err := tc.w.Wrap(nil, sp, usm.Params{MsgID: id, RequestID: id, PDUType: usm.PDUInform, EngineBoots: boots, EngineTime: now})
		if err != nil {
			t.Fatal(err)
		}
		in, err := tc.w.Open(exchange(t, conn, msg))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if in.PDUType != usm.PDUReport || in.Report != tc.want || in.MsgID != id {
			t.Errorf("%s: answer %s %s (%s), want Report %s", tc.name, in.PDUType, in.Report, in.ReportOID, tc.want)
		}
		if tc.want == usm.ReportNotInTimeWindows {
			// Signed with the right key: its boots and time can be trusted.
			synced, err := usm.SyncedEngine(in)
			if err != nil || synced.Boots != eng.Boots || synced.Time < eng.Time {
				t.Errorf("time sync from %+v: %+v %v", in, synced, err)
			}
		} else if in.Authenticated {
			t.Errorf("%s: a Report for a refused message claims authentication", tc.name)
		}
	}
	if all := d.Traps(); len(all) != before {
		t.Errorf("snmptrapd logged %d refused informs: %+v", len(all)-before, all[before:])
	}
}
