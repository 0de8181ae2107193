package usm_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"hostagent/internal/peertest"
	"hostagent/snmpagent/usm"
)

// These tests send SNMPv3 messages made by this package to net-snmp's
// snmptrapd, started on loopback with users created from passwords
// (createUser), so that net-snmp's own password-to-key, localization, key
// extension, HMAC and AES check ours.

// trapd is a running snmptrapd with its own configuration.
type trapd struct {
	port int
	mu   sync.Mutex
	out  bytes.Buffer
}

func (d *trapd) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out.Write(p)
}

func (d *trapd) output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out.String()
}

// record is one notification as snmptrapd printed it with recordFormat.
type record struct {
	header   string // %P: e.g. "TRAP2, SNMP v3, user sha256-aes128, context "
	varbinds []string
}

// recordFormat prints each notification on one line: the PDU, version and
// user (%P), then the varbinds (%v, tab-separated).
const recordFormat = `format2 USMREC %P\t%v\n`

func (d *trapd) records() []record {
	var recs []record
	for _, line := range strings.Split(d.output(), "\n") {
		rest, ok := strings.CutPrefix(line, "USMREC ")
		if !ok {
			continue
		}
		f := strings.Split(rest, "\t")
		recs = append(recs, record{header: f[0], varbinds: f[1:]})
	}
	return recs
}

// byUser returns the notifications snmptrapd accepted from user.
func (d *trapd) byUser(user string) []record {
	var out []record
	for _, r := range d.records() {
		if strings.Contains(r.header, "SNMP v3, user "+user+",") {
			out = append(out, r)
		}
	}
	return out
}

func (d *trapd) waitUser(t *testing.T, user string, n int) []record {
	t.Helper()
	var got []record
	if !peertest.Until(10*time.Second, func() bool { got = d.byUser(user); return len(got) >= n }) {
		t.Fatalf("snmptrapd accepted %d notifications from %s, want %d; it wrote:\n%s", len(got), user, n, d.output())
	}
	return got
}

// startTrapd runs snmptrapd on a free loopback port with conf (plus a
// community for the readiness probe and recordFormat), its persistent
// state in a temp dir, and the test MIBs so that OIDs print as names.
func startTrapd(t *testing.T, conf string) *trapd {
	t.Helper()
	bin := peertest.RequireCommand(t, "snmptrapd", "snmptrapd")
	mibs := peertest.MIBDir(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "snmptrapd.conf")
	conf += "authCommunity log probe\n" + recordFormat + "\n"
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &trapd{port: c.LocalAddr().(*net.UDPAddr).Port}
	c.Close()
	cmd := exec.Command(bin, "-f", "-C", "-c", path, "-Lo", "-n", "-X", "-M", mibs, "-m", "ALL", fmt.Sprintf("udp:127.0.0.1:%d", d.port))
	cmd.Env = append(os.Environ(), "SNMP_PERSISTENT_DIR="+filepath.Join(dir, "persist"), "MIBS=", "MIBDIRS=", "SNMPCONFPATH=")
	cmd.Stdout, cmd.Stderr = d, d
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("snmptrapd wrote:\n%s", d.output())
		}
	})
	// Ready once it decodes a v2c probe trap.
	probe := tlv(0x30, []byte{0x02, 1, 1}, tlv(0x04, []byte("probe")), trapPDU(0, coldStart))
	conn := d.dial(t)
	ready := peertest.Until(30*time.Second, func() bool {
		select {
		case <-exited:
			return true
		default:
		}
		if strings.Contains(d.output(), "community probe") {
			return true
		}
		_, _ = conn.Write(probe)
		return false
	})
	if !ready || !strings.Contains(d.output(), "community probe") {
		t.Fatalf("snmptrapd on port %d not ready; it wrote:\n%s", d.port, d.output())
	}
	return d
}

func (d *trapd) dial(t *testing.T) *net.UDPConn {
	t.Helper()
	conn, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: d.port})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// netsnmpAuth and netsnmpPriv are createUser's names for the protocols.
var netsnmpAuth = map[usm.AuthProtocol]string{
	usm.AuthSHA1: "SHA", usm.AuthSHA224: "SHA-224", usm.AuthSHA256: "SHA-256", usm.AuthSHA384: "SHA-384", usm.AuthSHA512: "SHA-512",
}

var netsnmpPriv = map[usm.PrivProtocol]string{usm.PrivAES128: "AES", usm.PrivAES192: "AES192", usm.PrivAES256: "AES256"}

var netsnmpLevel = map[usm.Level]string{usm.NoAuthNoPriv: "noauth", usm.AuthNoPriv: "auth", usm.AuthPriv: "priv"}

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

// createUser writes the snmptrapd.conf lines for a user (engineID nil:
// snmptrapd's own engine, for informs) that must use at least its level.
func (c combo) createUser(engineID []byte) string {
	e := ""
	if engineID != nil {
		e = "-e 0x" + hex.EncodeToString(engineID) + " "
	}
	line := "createUser " + e + c.name
	if c.level >= usm.AuthNoPriv {
		line += " " + netsnmpAuth[c.auth] + " auth-" + c.name
	}
	if c.level == usm.AuthPriv {
		line += " " + netsnmpPriv[c.priv] + " priv-" + c.name
	}
	return line + "\nauthUser log " + c.name + " " + netsnmpLevel[c.level] + "\n"
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

func wantColdStart(t *testing.T, r record, user, marker string) {
	t.Helper()
	want := []string{
		// sysUpTime.0: with -m ALL, net-snmp names it by DISMAN-EXPRESSION-MIB.
		"DISMAN-EXPRESSION-MIB::sysUpTimeInstance = Timeticks: (1234) 0:00:12.34",
		"SNMPv2-MIB::snmpTrapOID.0 = OID: SNMPv2-MIB::coldStart",
		`SNMPv2-MIB::sysLocation.0 = STRING: ` + marker,
	}
	if !strings.HasPrefix(r.header, "TRAP2, SNMP v3, user "+user+", context") || strings.Join(r.varbinds, "\n") != strings.Join(want, "\n") {
		t.Errorf("snmptrapd decoded %q %q, want a TRAP2 from %s with %q", r.header, r.varbinds, user, want)
	}
}

// TestSnmptrapdDecodesEveryCombination sends a trap per authentication x
// privacy combination, from the agent's engine (createUser -e).
func TestSnmptrapdDecodesEveryCombination(t *testing.T) {
	engineID := newEngineID(t)
	var conf strings.Builder
	for _, c := range combos() {
		conf.WriteString(c.createUser(engineID))
	}
	d := startTrapd(t, conf.String())
	conn := d.dial(t)
	for i, c := range combos() {
		w := wrapper(t, c.user(t, engineID, "auth-"+c.name), engineID)
		if _, err := conn.Write(trap(t, w, engineID, "from "+c.name, int32(i+1))); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range combos() {
		recs := d.waitUser(t, c.name, 1)
		wantColdStart(t, recs[0], c.name, "from "+c.name)
	}
}

// TestSnmptrapdRejectsWrongKeyAndEngine: a trap with a key from the wrong
// password, and one from another engine ID (keys localized for it), are
// dropped; the good trap sent after them arrives alone.
func TestSnmptrapdRejectsWrongKeyAndEngine(t *testing.T) {
	engineID := newEngineID(t)
	c := combo{name: "victim", level: usm.AuthPriv, auth: usm.AuthSHA256, priv: usm.PrivAES128}
	d := startTrapd(t, c.createUser(engineID))
	conn := d.dial(t)

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
	recs := d.waitUser(t, "victim", 1)
	if len(recs) != 1 || recs[0].varbinds[2] != "SNMPv2-MIB::sysLocation.0 = STRING: good" {
		t.Errorf("snmptrapd accepted %d traps from victim: %+v", len(recs), recs)
	}
	if n := len(d.records()); n != 2 { // the readiness probe and "good"
		t.Errorf("snmptrapd printed %d notifications, want the probe and one trap:\n%s", n, d.output())
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
	var conf strings.Builder
	for _, c := range combos() {
		conf.WriteString(c.createUser(nil))
	}
	d := startTrapd(t, conf.String())
	conn := d.dial(t)
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
		recs := d.waitUser(t, c.name, 1)
		if !strings.HasPrefix(recs[0].header, "INFORM, SNMP v3, user "+c.name+",") || recs[0].varbinds[1] != "SNMPv2-MIB::snmpTrapOID.0 = OID: SNMPv2-MIB::coldStart" {
			t.Errorf("%s: snmptrapd logged %+v", c.name, recs[0])
		}
	}

	// Failures, each named by the Report snmptrapd sends back.
	c := combos()[len(combos())-1] // sha512-aes256
	before := len(d.records())
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
	if n := len(d.records()); n != before {
		t.Errorf("snmptrapd logged %d refused informs:\n%s", n-before, d.output())
	}
}
